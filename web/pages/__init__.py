"""The reviewers' web pages: sign-in, the review queue, the approval packet, decisions, history, live events.

    install(app, runtime)     # routers, /static, and the error pages for these routes

Routes (GETs never change anything; every POST is CSRF-checked, see web/csrf.py)::

    GET  /                        -> /queue
    GET  /signin, POST /signin    sign in (throttled), POST /signout
    GET  /signin/oidc             single sign-on: off to the identity provider (web/pages/sso.py)
    GET  /signin/oidc/callback    back from it: verify, map groups to role, start a session
    GET  /account/password, POST  change my password (forced after a one-time password)
    GET  /queue                   held calls I may review, by priority and SLA; filters
    GET  /queue/rows              the queue's table body (refreshed by static/queue.js)
    GET  /events                  server-sent events: the queue changed, N waiting
    GET  /calls/{id}              the approval packet (and the outcome after a decision)
    POST /calls/{id}/approve      approve (override reason when against the policy's advice)
    POST /calls/{id}/reject       reject with a reason
    GET  /calls/{id}/edit         edit the arguments (form from the tool's JSON schema)
    POST /calls/{id}/edit         show the diff and the new verdict before confirming
    GET  /history                 decided calls: search, outcome, approvers, timings
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import anyio
from fastapi import APIRouter, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from server.runtime import Runtime
from web.api_session import SessionApiAuth
from web.auth import Sessions, Throttle
from web.csrf import CsrfRefused
from web.oidc import OidcClient
from web.pages import api_docs, decide, history, packet, password, queue, signin, sso
from web.pages.context import PagesContext
from web.pages.deps import NotAllowed, NotSignedIn, PasswordChangeRequired, SignInRequired, render
from web.pages.live import LiveFeed
from web.render import make_templates, sentence

STATIC = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(include_in_schema=False)
for module in (signin, sso, password, queue, packet, decide, history, api_docs):
    router.include_router(module.router)


def install(app: FastAPI, runtime: Runtime) -> None:
    """Add the review pages to ``app``, sharing the runtime's gateway, people and back office."""
    context = PagesContext(
        gateway=runtime.gateway,
        people=runtime.people,
        settings=runtime.settings,
        office=runtime.office,
        sessions=Sessions.from_settings(runtime.store, runtime.settings),
        throttle=Throttle(runtime.store),
        templates=make_templates(),
        live=LiveFeed(runtime.gateway.bus),
        oidc=_oidc_client(runtime),
    )
    app.state.pages = context
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(PasswordChangeRequired, _change_password_first)
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(NotAllowed, _not_allowed)
    app.add_exception_handler(HTTPException, _no_such_page)
    # The JSON API accepts the session cookie too (with the same CSRF checks); bearer tokens still win.
    app.add_middleware(
        SessionApiAuth,
        sessions=context.sessions,
        trusted_origins=context.trusted_origins,
        cookie_name=context.session_cookie,
    )


def _oidc_client(runtime: Runtime) -> OidcClient | None:
    settings = runtime.settings
    if not settings.oidc_issuer or not settings.oidc_client_id:
        return None
    return OidcClient(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        settings.base_url.rstrip("/") + sso.CALLBACK_PATH,
        scopes=settings.oidc_scopes,
    )


async def _change_password_first(request: Request, exc: Exception) -> Response:
    return RedirectResponse(password.PASSWORD_PATH, status_code=303)


async def _error_page(request: Request, status_code: int, title: str, message: str) -> Response:
    pages: PagesContext = request.app.state.pages
    if getattr(request.state, "session", None) is None:
        # Refused before the page's own check ran: still show a signed-in person their navigation.
        cookie = request.cookies.get(pages.session_cookie(request.url.scheme))
        request.state.session = await anyio.to_thread.run_sync(lambda: pages.sessions.resume(cookie, touch=False))
    context = {"title": title, "message": message, "count": None}
    return render(pages, request, "error.html", context, status_code=status_code)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse(f"/signin?next={quote(exc.next_path, safe='/')}", status_code=303)


async def _not_signed_in(request: Request, exc: Exception) -> Response:
    return await _error_page(
        request, 401, "Please sign in", "Your session has ended or you are not signed in. Nothing was changed."
    )


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    return await _error_page(request, 403, "Request refused", f"{sentence(str(exc))} Nothing was changed.")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NotAllowed)
    return await _error_page(request, exc.status_code, "Not available", exc.message)


async def _no_such_page(request: Request, exc: Exception) -> Response:
    """A browser asking for an address with no page (or only a form's) gets a page, not the API's JSON."""
    assert isinstance(exc, HTTPException)
    wants_page = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith("/api/")
    if exc.status_code == 404 and wants_page:
        return await _error_page(request, 404, "Page not found", "There is no page at this address.")
    if exc.status_code == 405 and wants_page:  # e.g. a decision's address, reloaded or shared after a refusal
        message = "This address only takes a form sent from a page; opening it does nothing. Nothing was changed."
        return await _error_page(request, 405, "Open the page instead", message)
    return await http_exception_handler(request, exc)
