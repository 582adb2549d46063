"""The HTTP app: JSON API, health check and MCP (streamable HTTP at ``/mcp``) on one FastAPI app.

    app = create_app(settings)            # builds the runtime (store, policy, tools, gateway)
    app = create_app(settings, runtime)   # or shares one, e.g. in tests

The lifespan runs the MCP session manager (a mounted app's own lifespan never runs) and the expiry
sweeper. Every request first passes :class:`web.http_security.HttpSecurity`. Agents' calls to ``/mcp``
are the hot path: :class:`CountersignApp` sends them to their endpoint (behind its own HttpSecurity)
before FastAPI's middleware stack; everything else goes through that stack to the routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from server.config import Settings
from server.mcp import build_server, http_agent
from server.runtime import Runtime, build_runtime, sweeping
from server.store.db import UnstorableInput
from web import api, pages, probes, slack
from web.admin import router as admin_router
from web.http_security import HttpSecurity, internal_error, invalid_request, unstorable_input
from web.mcp_http import allowed_hosts, allowed_origins, mcp_endpoint, session_manager

MCP_PATH = "/mcp"
MCP_PATHS = frozenset({MCP_PATH, MCP_PATH + "/"})


class CountersignApp(FastAPI):
    """FastAPI, with agents' MCP requests answered before its middleware stack.

    The pages' error and telemetry middleware, session, CSRF, exception handlers and route table have
    nothing to say about agents' calls (they authenticate with bearer tokens, and the SDK answers its
    own errors); each layer costs every call. ``mcp`` must apply the same HTTP hygiene itself.
    """

    mcp: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.mcp is not None and scope["type"] == "http" and scope["path"] in MCP_PATHS:
            await self.mcp(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    owns_runtime = runtime is None
    live = runtime if runtime is not None else build_runtime(settings)
    mcp_server = build_server(live.gateway, settings, resolve_agent=http_agent)
    manager = session_manager(mcp_server, settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            async with manager.run(), sweeping(live):
                yield
        finally:
            if owns_runtime:
                live.close()

    app = CountersignApp(
        title="Countersign",
        summary="A person countersigns risky AI-agent tool calls.",
        version=mcp_server.version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.runtime = live
    app.state.settings = settings
    app.include_router(api.router)
    app.include_router(api.health_router)
    app.include_router(probes.router)  # /livez, /readyz, /metrics (web/probes.py)
    # More routers (review pages, sign-in, admin) are included here.
    pages.install(app, live)  # review pages, sign-in, /static, live events (web/pages/__init__.py)
    app.include_router(admin_router)  # admin pages and /api/admin (web/admin/__init__.py)
    app.include_router(slack.router)  # Approve / Reject from Slack messages (web/slack.py)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(UnstorableInput, unstorable_input)
    app.add_exception_handler(Exception, internal_error)

    def secured(inner: ASGIApp) -> ASGIApp:
        return HttpSecurity(
            inner,
            hosts=allowed_hosts(settings),
            origins=allowed_origins(settings),
            max_body_bytes=settings.max_body_bytes,
            body_timeout=settings.body_timeout_seconds,
        )

    app.add_middleware(secured)
    endpoint = mcp_endpoint(
        manager,
        live.people.authenticate_token,
        live.people.token_is_live,
        live_inline=live.store.reads_never_wait,
    )
    app.mcp = secured(endpoint)
    return app
