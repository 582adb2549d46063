"""How an upstream tool is named to agents: ``UPSTREAM__tool``.

Why ``__``: the OpenAI API (and so the Agents SDK) and Cursor accept tool names matching
``^[a-zA-Z0-9_-]{1,64}$``; Claude's API allows ``^[a-zA-Z0-9_-]{1,128}$`` (Claude Code itself lists
MCP tools as ``mcp__server__tool``); VS Code warns on anything outside ``[a-z0-9_-]``. So ``.``,
``/`` and ``:`` are out, a single ``_`` or ``-`` is common inside tool names, and ``__`` is the one
separator all of them accept that upstream names cannot contain (config.py refuses ``__`` there).

Names are kept to 64 characters: characters outside the set become ``_``, and a name that is still
too long is cut and ends with 8 hex digits of its hash, so two long names never collide.
"""

from __future__ import annotations

import hashlib
import re

SEPARATOR = "__"
MAX_LENGTH = 64
_OUTSIDE = re.compile(r"[^A-Za-z0-9_-]")


def listed_name(upstream: str, tool: str) -> str:
    """The name agents and the policy use for ``tool`` of ``upstream``."""
    name = f"{upstream}{SEPARATOR}{_OUTSIDE.sub('_', tool)}"
    if len(name) <= MAX_LENGTH and name == f"{upstream}{SEPARATOR}{tool}":
        return name
    digest = hashlib.sha256(f"{upstream}\0{tool}".encode()).hexdigest()[:8]
    return f"{name[: MAX_LENGTH - 9]}_{digest}"
