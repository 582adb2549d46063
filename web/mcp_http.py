"""MCP over streamable HTTP: the SDK's session manager behind agent bearer-token authentication.

The host app (``web/app.py``) sends ``/mcp`` here (``CountersignApp``) and must run
``session_manager.run()`` in its lifespan.

- Stateful sessions (progress on the POST stream, elicitation-ready); each session is bound to the
  agent that opened it, so another agent's token cannot ride on it.
- Host and Origin checks (DNS-rebinding protection) are configured explicitly from the settings;
  the web layer applies the same lists to every other route (:func:`allowed_hosts`, :func:`allowed_origins`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from mcp.server import Server
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from server.config import Settings
from server.mcp.identity import SCOPE_KEY
from server.people import Principal

logger = logging.getLogger(__name__)

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# How long who a verified token speaks for is remembered (its revocation is still checked on every request).
TOKEN_CACHE_SECONDS = 10.0

Authenticate = Callable[[str], Principal | None]
IsLive = Callable[[str], bool]


def allowed_hosts(settings: Settings) -> list[str]:
    """Host header values we answer to: the base URL's host, extra hosts, and any port on loopback."""
    base = urlsplit(settings.base_url)
    hosts = [base.netloc]
    if base.hostname in LOOPBACK:
        hosts += ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
    for host in settings.allowed_hosts:
        hosts += [host] if ":" in host else [host, f"{host}:*"]
    return list(dict.fromkeys(h for h in hosts if h))


def allowed_origins(settings: Settings) -> list[str]:
    """Origin header values we accept (browsers send one; agents usually do not)."""
    base = urlsplit(settings.base_url)
    origins = [f"{base.scheme}://{base.netloc}"]
    if base.hostname in LOOPBACK:
        origins += ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    for host in settings.allowed_hosts:
        origins += [f"https://{host}", f"http://{host}"]
    return list(dict.fromkeys(origins))


def transport_security(settings: Settings) -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=allowed_hosts(settings),
        allowed_origins=allowed_origins(settings),
    )


def session_manager(server: Server[Any], settings: Settings) -> StreamableHTTPSessionManager:
    """Create (once per server) the stateful session manager the host app's lifespan must run."""
    server.streamable_http_app(
        transport_security=transport_security(settings),
        max_request_body_size=settings.max_body_bytes,
    )
    return server.session_manager


class AgentBearerAuth:
    """Lets through requests carrying a live agent token; 401 without one, 403 for a person's token.

    Who a verified token speaks for is cached for :data:`TOKEN_CACHE_SECONDS` (by its SHA-256), but
    every request still asks the database whether the token is live (``is_live``: one raw indexed read,
    about 25 times cheaper than the full check), so a revoked token is refused at its next request on
    every instance, which share only the database. ``live_inline``: that read never waits (SQLite), so it
    runs on the event loop; a worker thread would cost more than the read itself, on every call.
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticate: Authenticate,
        is_live: IsLive,
        *,
        live_inline: bool = False,
        cache_seconds: float = TOKEN_CACHE_SECONDS,
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.is_live = is_live
        self.live_inline = live_inline
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._users: dict[str, AuthenticatedUser] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = bearer_token(Headers(scope=scope).get("authorization"))
        principal = await self._principal(token) if token else None
        if principal is None:
            response = JSONResponse(
                {"error": "an agent bearer token is required (countersign agent add NAME)"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="countersign"'},
            )
            await response(scope, receive, send)
            return
        if not principal.is_agent:
            response = JSONResponse({"error": "this is a person's token; agents need an agent token"}, status_code=403)
            await response(scope, receive, send)
            return
        scope[SCOPE_KEY] = principal.name
        scope["user"] = self._user(principal.name)
        await self.app(scope, receive, send)

    def _user(self, agent: str) -> AuthenticatedUser:
        """The SDK binds a session to the credential that opened it; name the agent as that credential."""
        user = self._users.get(agent)
        if user is None:  # made once per agent: this runs on every call
            token = AccessToken(token="-", client_id=agent, scopes=["agent"], subject=agent)  # noqa: S106
            user = self._users[agent] = AuthenticatedUser(token)
        return user

    async def _principal(self, token: str) -> Principal | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            live = self.is_live(token) if self.live_inline else await anyio.to_thread.run_sync(self.is_live, token)
            if live:
                return cached[1]
            with self._lock:
                self._cache.pop(key, None)
            return None
        principal = await anyio.to_thread.run_sync(self.authenticate, token)
        with self._lock:
            if principal is None:
                self._cache.pop(key, None)
            else:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = (now + self.cache_seconds, principal)
        return principal


def mcp_endpoint(
    manager: StreamableHTTPSessionManager, authenticate: Authenticate, is_live: IsLive, *, live_inline: bool = False
) -> ASGIApp:
    """The ASGI app to route ``/mcp`` to: authentication first, then the SDK's transport."""
    return AgentBearerAuth(StreamableHTTPASGIApp(manager), authenticate, is_live, live_inline=live_inline)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None
