"""The MCP surface: every business tool, guarded by the gateway, plus the gateway's own tools.

- ``catalog``: the tool list an agent sees (schemas with the optional ``justification``, annotations).
- ``arguments``: checking a call's arguments before anything is classified.
- ``outcomes``: every result shape an agent can get, in one place (DESIGN.md's outcome table).
- ``server``: the low-level SDK server and its handlers (guarded call, ``await_decision``...).
- ``identity``: who is calling (fixed over stdio, the bearer token's agent over HTTP).
- ``stdio``: the stdio transport (streamable HTTP is mounted by ``web/mcp_http.py``, with bearer auth).
"""

from server.mcp.identity import AgentIdentity, fixed_agent, http_agent
from server.mcp.server import build_server

__all__ = ["AgentIdentity", "build_server", "fixed_agent", "http_agent"]
