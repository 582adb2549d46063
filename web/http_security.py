"""HTTP hygiene for every route: Host and Origin checks, a body cap, security headers, opaque 500s.

A pure ASGI middleware (not BaseHTTPMiddleware), so the MCP endpoint's SSE streams pass through
untouched. The Host and Origin lists are the ones the MCP transport is configured with
(``web.mcp_http.allowed_hosts`` / ``allowed_origins``), so one rule guards the whole surface:

- a Host we do not serve -> 421 (DNS rebinding: a hostile name resolving to us);
- an Origin that is not ours -> 403 (a page on another site calling us from a browser);
- a body over ``max_body_bytes`` -> 413, whether announced by Content-Length or streamed.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterable

from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    # No inline script or style anywhere: pages load /static files only (web/templates, web/static).
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
}


def matches(value: str, allowed: Iterable[str]) -> bool:
    """Exact match, or ``name:*`` meaning that name on any port (the MCP SDK's rule)."""
    for pattern in allowed:
        if value == pattern:
            return True
        if pattern.endswith(":*") and value.startswith(pattern[:-1]) and value[len(pattern) - 1 :].isdigit():
            return True
    return False


class HttpSecurity:
    def __init__(self, app: ASGIApp, *, hosts: list[str], origins: list[str], max_body_bytes: int) -> None:
        self.app = app
        self.hosts = [h.lower() for h in hosts]
        self.origins = [o.lower() for o in origins]
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal = self._refusal(headers)
        if refusal is None and scope["type"] == "http":
            refusal, receive = await self._capped(headers, receive)
        started = False

        async def send_secured(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await secured(message)

        secured = _with_security_headers(send)
        if refusal is not None:
            await refusal(scope, receive, send_secured)
            return
        try:
            await self.app(scope, receive, send_secured)
        except Exception:
            # The app's own 500 is sent by Starlette's outermost middleware, outside this one, without
            # our headers; answer it here instead. Re-raised so that middleware still logs it.
            if not started and scope["type"] == "http":
                await _error(500, "internal server error")(scope, receive, send_secured)
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

        async def replay() -> Message:
            return buffered.popleft() if buffered else await receive()

        return None, replay

    def _too_large(self) -> Response:
        return _error(413, f"the request body is larger than {self.max_body_bytes} bytes", limit=self.max_body_bytes)


def _error(status: int, detail: str, **extra: object) -> Response:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


_RAW_SECURITY_HEADERS = [
    (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()
]


def _with_security_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        # Raw header pairs, not MutableHeaders: this runs for every response, agents' calls included.
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            present = {name.lower() for name, _ in headers}
            headers.extend(pair for pair in _RAW_SECURITY_HEADERS if pair[0] not in present)
            message["headers"] = headers
        await send(message)

    return wrapped


async def internal_error(request: Request, exc: Exception) -> Response:
    """The last resort: log the traceback, answer an opaque JSON 500."""
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _error(500, "internal server error")


async def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, written as ASCII JSON: the errors echo the input, which may hold a lone surrogate
    (``"\\ud800"`` is valid JSON but not encodable as UTF-8) and would otherwise turn a 422 into a 500."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    body = json.dumps({"detail": jsonable_encoder(errors)}, ensure_ascii=True, default=str)
    return Response(body, status_code=422, media_type="application/json")
