"""The HTTP app: JSON API, health check and MCP (streamable HTTP at ``/mcp``) on one FastAPI app.

    app = create_app(settings)            # builds the runtime (store, policy, tools, gateway)
    app = create_app(settings, runtime)   # or shares one, e.g. in tests

The lifespan runs the MCP session manager (a mounted app's own lifespan never runs) and the expiry
sweeper. Every request first passes :class:`web.http_security.HttpSecurity`; then ``/mcp`` goes
straight to the MCP endpoint (:class:`web.mcp_http.McpRoute`) and everything else to the routes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from server.config import Settings
from server.mcp import build_server, http_agent
from server.runtime import Runtime, build_runtime, sweeping
from server.store.db import UnstorableInput
from web import api, pages, probes, slack
from web.admin import router as admin_router
from web.http_security import HttpSecurity, internal_error, invalid_request, unstorable_input
from web.mcp_http import McpRoute, allowed_hosts, allowed_origins, mcp_endpoint, session_manager

MCP_PATH = "/mcp"


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

    app = FastAPI(
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
    # Agents' calls are the hot path: /mcp goes straight to its endpoint, past the pages' middleware and routes.
    endpoint = mcp_endpoint(
        manager,
        live.people.authenticate_token,
        live.people.token_is_live,
        live_inline=live.store.reads_never_wait,
    )
    app.add_middleware(McpRoute, path=MCP_PATH, endpoint=endpoint)
    app.add_middleware(
        HttpSecurity,
        hosts=allowed_hosts(settings),
        origins=allowed_origins(settings),
        max_body_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout_seconds,
    )
    return app
