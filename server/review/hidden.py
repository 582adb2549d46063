"""Hidden characters in what an agent supplied: the review rule's view (the page marks them too).

Which characters count as hidden is derived from Unicode properties in :mod:`server.text`.
"""

from __future__ import annotations

from typing import Any

from server.text import hidden_paths


def hidden_in_call(
    *, summary: str, arguments: dict[str, Any], justification: dict[str, Any] | None, on_behalf_of: str | None
) -> list[tuple[str, list[str]]]:
    """Where hidden Unicode sits in what the agent supplied: summary, arguments, justification, on_behalf_of."""
    found = list(hidden_paths(summary, "summary"))
    found += [(f"arguments.{path}", cps) for path, cps in hidden_paths(arguments)]
    found += [(f"justification.{path}", cps) for path, cps in hidden_paths(justification or {})]
    if on_behalf_of:
        found += list(hidden_paths(on_behalf_of, "on_behalf_of"))
    return found
