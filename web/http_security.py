"""HTTP hygiene for every route: Host and Origin checks, a body cap, security headers, opaque 500s.

A pure ASGI middleware (not BaseHTTPMiddleware), so the MCP endpoint's SSE streams pass through
untouched. The Host and Origin lists are the ones the MCP transport is configured with
(``web.mcp_http.allowed_hosts`` / ``allowed_origins``), so one rule guards the whole surface:

- a Host we do not serve -> 421 (DNS rebinding: a hostile name resolving to us);
- an Origin that is not ours -> 403 (a page on another site calling us from a browser);
- a body over ``max_body_bytes`` -> 413, whether announced by Content-Length or streamed;
- a body not fully received within ``body_timeout`` seconds -> 408 and the connection is closed
  (a client announcing more than it sends would otherwise hold a connection and a task forever).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
from collections import deque
from collections.abc import Iterable

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.observability.logs import log_unhandled

logger = logging.getLogger(__name__)

# Every response: scripts and styles only from /static (pages add a per-response nonce, see CspNonce).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
# A page that used its nonce: a script or stylesheet runs only if its tag carries this response's nonce,
# so markup injected into a page cannot load even a same-origin script.
NONCE_CSP = (
    "default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
NONCE_STATE = "csp_nonce"

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Content-Security-Policy": CSP,
}


class CspNonce:
    """A per-response CSP nonce, made on first use; templates put it in ``nonce`` attributes (scope state).

    Lazy, so JSON and MCP answers (the hot path) pay nothing and keep the fixed policy.
    """

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: str | None = None

    def __str__(self) -> str:
        if self.value is None:
            self.value = secrets.token_urlsafe(18)
        return self.value


def matches(value: str, allowed: Iterable[str]) -> bool:
    """Exact match, or ``name:*`` meaning that name on any port (the MCP SDK's rule)."""
    for pattern in allowed:
        if value == pattern:
            return True
        if pattern.endswith(":*") and value.startswith(pattern[:-1]) and value[len(pattern) - 1 :].isdigit():
            return True
    return False


class HttpSecurity:
    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: list[str],
        origins: list[str],
        max_body_bytes: int,
        body_timeout: float = math.inf,
    ) -> None:
        self.app = app
        self.hosts = [h.lower() for h in hosts]
        self.origins = [o.lower() for o in origins]
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = None if _probe(scope) else self._refusal(headers)
        if refusal is None and scope["type"] == "http":
            refusal, receive = await self._capped(headers, receive)
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await secured(message)

        nonce = CspNonce()
        scope.setdefault("state", {})[NONCE_STATE] = nonce
        secured = _with_security_headers(send, nonce)
        if refusal is not None:
            await refusal(scope, receive, send_secured)
            return
        try:
            await self.app(scope, receive, send_secured)
        except Exception as exc:
            # The app's own 500 is sent by Starlette's outermost middleware, outside this one, without
            # our headers; answer it here instead. Logged here, the one layer every request passes
            # (agents' calls skip the app's handlers); re-raised so the server closes the connection.
            if scope["type"] == "http":
                log_unhandled(logger, exc, "unhandled error on %s %s", scope["method"], scope["path"])
                if not started:
                    await _closing_500()(scope, receive, send_secured)
            raise

    def _refusal(self, headers: Headers) -> Response | None:
        host = (headers.get("host") or "").lower()
        if not matches(host, self.hosts):
            logger.warning("refused a request for host %r", host[:100])
            return _error(421, "this server does not answer to that host name")
        origin = headers.get("origin")
        if origin is not None and not matches(origin.lower(), self.origins):
            logger.warning("refused a request from origin %r", origin[:100])
            return _error(403, "cross-origin requests are not accepted")
        return None

    async def _capped(self, headers: Headers, receive: Receive) -> tuple[Response | None, Receive]:
        """Read the body up to the cap; 413 if it is longer. Returns a receive that replays it."""
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._too_large(), receive
        if headers.get("content-length") is None and headers.get("transfer-encoding") is None:
            return None, receive  # no body (GET, the SSE stream): nothing to buffer
        buffered: deque[Message] = deque()
        size = 0
        deadline = None if math.isinf(self.body_timeout) else self.body_timeout
        try:
            # asyncio's own timeout: an anyio cancel scope costs ~40 µs here, and this runs for every call.
            async with asyncio.timeout(deadline):
                while True:
                    message = await receive()
                    buffered.append(message)
                    if message["type"] != "http.request":
                        break
                    size += len(message.get("body", b""))
                    if size > self.max_body_bytes:
                        return self._too_large(), receive
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            logger.warning("refused a request whose body did not arrive within %s s", self.body_timeout)
            late = _error(408, f"the request body did not arrive within {self.body_timeout:g} seconds")
            late.headers["Connection"] = "close"
            return late, receive

        async def replay() -> Message:
            return buffered.popleft() if buffered else await receive()

        return None, replay

    def _too_large(self) -> Response:
        return _error(413, f"the request body is larger than {self.max_body_bytes} bytes", limit=self.max_body_bytes)


def _closing_500() -> Response:
    """The opaque 500. It says ``Connection: close``: the server drops the connection after an unhandled
    error, and a client that reused it for its next request would meet a reset instead of an answer."""
    response = _error(500, "internal server error")
    response.headers["Connection"] = "close"
    return response


def _error(status: int, detail: str, **extra: object) -> Response:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


_RAW_SECURITY_HEADERS = [
    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()
]


_CSP_NAME = b"content-security-policy"


def _with_security_headers(send: Send, nonce: CspNonce) -> Send:
    async def wrapped(message: Message) -> None:
        # Raw header pairs, not MutableHeaders: this runs for every response, agents' calls included.
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            present = {name.lower() for name, _ in headers}
            headers.extend(pair for pair in _RAW_SECURITY_HEADERS if pair[0] not in present)
            if nonce.value is not None and _CSP_NAME not in present:
                csp = NONCE_CSP.format(nonce=nonce.value).encode("latin-1")
                headers = [(name, csp if name == _CSP_NAME else value) for name, value in headers]
            message["headers"] = headers
        await send(message)

    return wrapped


async def internal_error(_request: Request, _exc: Exception) -> Response:
    """The last resort: an opaque JSON 500 (``HttpSecurity`` has logged the traceback)."""
    return _closing_500()


async def unstorable_input(request: Request, exc: Exception) -> Response:
    """Input the database refuses (a NUL character on PostgreSQL) is the client's to fix: 422, nothing written."""
    return _error(422, str(exc))


async def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, written as ASCII JSON: the errors echo the input, which may hold a lone surrogate
    (``"\\ud800"`` is valid JSON but not encodable as UTF-8) and would otherwise turn a 422 into a 500."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    body = json.dumps({"detail": jsonable_encoder(errors)}, ensure_ascii=True, default=str)
    return Response(body, status_code=422, media_type="application/json")


# Probes and scrapes come from orchestrators and Prometheus, which name the pod's address as Host; they
# change nothing and carry no cookies (/metrics has its own token), so DNS rebinding gains nothing there.
PROBE_PATHS = frozenset({"/livez", "/readyz", "/healthz", "/metrics"})


def _probe(scope: Scope) -> bool:
    return scope["type"] == "http" and scope.get("method") in ("GET", "HEAD") and scope.get("path") in PROBE_PATHS
