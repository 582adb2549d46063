"""Lets a signed-in browser use the JSON API with its session cookie, behind the same CSRF checks.

web/api.py authenticates ``request.state.person`` first, then bearer tokens. This pure ASGI
middleware sets that person for ``/api/`` requests that carry a live session cookie and no
``Authorization`` header. State-changing requests must also pass both CSRF checks of web/csrf.py
(fetch metadata / Origin, and the session's token in the ``X-CSRF-Token`` header); otherwise they
are refused with 403 before the API sees them. A request with a bearer token is left alone: the
token decides who it is, and cookies play no part.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from starlette.datastructures import Headers
from starlette.requests import Request, cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from web import csrf
from web.auth import Sessions

API_PREFIX = "/api/"


class SessionApiAuth:
    def __init__(
        self, app: ASGIApp, *, sessions: Sessions, trusted_origins: frozenset[str], cookie_name: Callable[[str], str]
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.trusted_origins = trusted_origins
        self.cookie_name = cookie_name

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = _cookie(headers.get("cookie", ""), self.cookie_name(str(scope.get("scheme", "http"))))
        if headers.get("authorization") or not token:
            await self.app(scope, receive, send)
            return
        session = await anyio.to_thread.run_sync(self.sessions.resume, token)
        if session is None or session.must_change_password:
            # The API answers 401 as for anyone without credentials (a one-time password must change first).
            await self.app(scope, receive, send)
            return
        if not csrf.is_safe(scope["method"]):
            problem = csrf.origin_problem(Request(scope), self.trusted_origins) or csrf.token_problem(
                headers.get(csrf.HEADER), session.csrf_token
            )
            if problem is not None:
                await JSONResponse({"detail": problem}, status_code=403)(scope, receive, send)
                return
        # A fresh state dict: the lifespan's state is shared between requests and must not be written.
        scope = {**scope, "state": {**scope.get("state", {}), "person": session.person}}
        await self.app(scope, receive, send)


def _cookie(header: str, name: str) -> str | None:
    return cookie_parser(header).get(name) if header else None
