"""Cross-site request forgery protection for everything a signed-in browser can change.

Two independent checks run on every state-changing request (any method but GET, HEAD, OPTIONS)
authenticated by the session cookie; either one refuses on its own:

1. **Fetch metadata, then Origin** (Filippo Valsorda, https://words.filippo.io/csrf/, the approach
   of Datasette's ``csrf.py`` and Go's ``http.CrossOriginProtection``):

   - ``Sec-Fetch-Site: same-origin`` or ``none`` (typed in the address bar) passes; any other value
     (``cross-site``, ``same-site``) is refused;
   - without ``Sec-Fetch-Site``, an ``Origin`` header must name this server (its ``Host``, or the
     configured base URL);
   - with neither header the request is not from a modern browser page, so this check passes and
     check 2 decides.

2. **A synchronizer token**: each session has its own random token (``WebSession.csrf_token``),
   put in every form as ``csrf_token`` and sent by scripts as ``X-CSRF-Token``. It is compared in
   constant time. A cross-site page can neither read it nor guess it.

The cookie is also ``SameSite=Strict``, so browsers do not send it on cross-site requests at all:
three layers, any of which stops the attack.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"


class CsrfRefused(Exception):
    """The request may have been forged by another site; nothing was changed."""


def is_safe(method: str) -> bool:
    return method.upper() in SAFE_METHODS


def origin_problem(request: Request, trusted_origins: frozenset[str] = frozenset()) -> str | None:
    """Why the request's fetch metadata or Origin says it came from another site, or None."""
    if is_safe(request.method):
        return None
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site.lower() in ("same-origin", "none"):
            return None
        return f"cross-origin request refused (Sec-Fetch-Site: {site})"
    origin = request.headers.get("origin")
    if origin is None:
        return None
    if origin.lower() in trusted_origins or _netloc(origin) == (request.headers.get("host") or "").lower():
        return None
    return "cross-origin request refused (Origin does not match this server)"


def _netloc(origin: str) -> str:
    try:
        return urlsplit(origin).netloc.lower()
    except ValueError:
        return ""


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased (the form browsers send in ``Origin``)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def token_problem(sent: str | None, expected: str) -> str | None:
    """Why the token sent with the request does not match the session's, or None."""
    if not sent:
        return "the form is missing its CSRF token; reload the page and try again"
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        return "the form's CSRF token does not match your session; reload the page and try again"
    return None


async def sent_token(request: Request) -> str | None:
    """The token from the ``X-CSRF-Token`` header, else from the form body."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches the parsed form for the endpoint
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check(request: Request, expected: str, trusted_origins: frozenset[str] = frozenset()) -> None:
    """Raise :class:`CsrfRefused` unless a state-changing request passes both checks."""
    if is_safe(request.method):
        return
    problem = origin_problem(request, trusted_origins) or token_problem(await sent_token(request), expected)
    if problem is not None:
        raise CsrfRefused(problem)
