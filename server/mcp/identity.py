"""Who is calling: the agent a call is recorded under, and the person it is made for (if any).

Over stdio the agent is whoever started the process (``countersign stdio --agent NAME``). Over HTTP
it is the agent named by the request's bearer token, which ``web/mcp_http.py`` checks and puts
in the ASGI scope under :data:`SCOPE_KEY` before the SDK sees the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server import ServerRequestContext

SCOPE_KEY = "countersign.agent"
# Optional request _meta keys an agent may send with tools/call.
ON_BEHALF_OF_META = "countersign/on_behalf_of"
INLINE_WAIT_META = "countersign/inline_wait"


@dataclass(frozen=True)
class AgentIdentity:
    """The calling agent, and the person it says it acts for (kept for separation of duties)."""

    agent: str
    on_behalf_of: str | None = None


# Resolves the agent of a request; None means "not authenticated" (the call is refused).
ResolveAgent = Callable[[ServerRequestContext[Any, Any]], str | None]


def fixed_agent(name: str) -> ResolveAgent:
    """Every request comes from ``name`` (stdio, in-memory tests)."""

    def resolve(_ctx: ServerRequestContext[Any, Any]) -> str | None:
        return name

    return resolve


def http_agent(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """The agent the HTTP layer authenticated for this request, or None."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    if not isinstance(scope, Mapping):
        return None
    agent = scope.get(SCOPE_KEY)
    return agent if isinstance(agent, str) else None


def identify(ctx: ServerRequestContext[Any, Any], resolve: ResolveAgent) -> AgentIdentity | None:
    agent = resolve(ctx)
    if agent is None:
        return None
    return AgentIdentity(agent=agent, on_behalf_of=_meta_text(ctx, ON_BEHALF_OF_META))


def request_meta(ctx: ServerRequestContext[Any, Any]) -> Mapping[str, Any]:
    meta = ctx.meta
    return meta if isinstance(meta, Mapping) else {}


def _meta_text(ctx: ServerRequestContext[Any, Any], key: str) -> str | None:
    value = request_meta(ctx).get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    return None
