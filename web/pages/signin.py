"""Signing in and out.

The sign-in form has no session to carry a CSRF token yet, so it uses a double-submit token: GET
sets a random value in a short-lived ``SameSite=Strict`` cookie and in the form, and POST requires
both to match (plus the Origin / Sec-Fetch-Site check). That stops "login CSRF", where another site
signs you in to its own account.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from web import csrf
from web.client_address import client_address
from web.pages.context import PagesContext
from web.pages.deps import Actor, Pages, render

router = APIRouter()

SIGNIN_COOKIE = "countersign_signin"
SIGNIN_COOKIE_SECONDS = 3600


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a local path only (never ``//host`` or a full URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/queue"
    return target


def signin_form(
    pages: PagesContext, request: Request, *, next_path: str, name: str = "", error: str = "", status: int = 200
) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(
        pages,
        request,
        "signin.html",
        {
            "next": safe_next(next_path),
            "name": name,
            "error": error,
            "signin_token": token,
            "signed_out": request.query_params.get("signed_out") == "1",
            "sso": pages.oidc is not None,
            "local_passwords": pages.settings.local_passwords,
        },
        status_code=status,
    )
    response.set_cookie(
        SIGNIN_COOKIE,
        token,
        max_age=SIGNIN_COOKIE_SECONDS,
        path="/signin",
        httponly=True,
        samesite="strict",
        secure=pages.secure_cookies(request.url.scheme),
    )
    return response


@router.get("/signin")
def signin_page(request: Request, pages: Pages, next: str = "/queue") -> Response:
    if pages.sessions.resume(request.cookies.get(pages.session_cookie(request.url.scheme)), touch=False) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    if pages.oidc is not None and not pages.settings.local_passwords and request.query_params.get("signed_out") != "1":
        # Single sign-on only: straight to the identity provider (silent while its own session lasts).
        return RedirectResponse(f"/signin/oidc?next={quote(safe_next(next), safe='/')}", status_code=303)
    return signin_form(pages, request, next_path=next)


@router.post("/signin")
async def signin(
    request: Request,
    pages: Pages,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/queue",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    problem = csrf.origin_problem(request, pages.trusted_origins)
    cookie = request.cookies.get(SIGNIN_COOKIE, "")
    if problem is None and csrf.token_problem(csrf_token, cookie) is not None:
        problem = "the sign-in form expired; please try again"
    if problem is None and not pages.settings.local_passwords:
        problem = "Password sign-in is switched off here; sign in with single sign-on."
    if problem is not None:
        return signin_form(pages, request, next_path=next, name=name, error=problem, status=403)
    return await anyio.to_thread.run_sync(_check_password, pages, request, name.strip(), password, next)


def _check_password(pages: Pages, request: Request, name: str, password: str, next_path: str) -> Response:
    address = client_address(
        request.client.host if request.client else None, request.headers.get("x-forwarded-for"), pages.proxies
    )
    wait = pages.throttle.retry_after(name, address)
    if wait is not None:
        minutes = max(1, round(wait.total_seconds() / 60))
        error = f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        response = signin_form(pages, request, next_path=next_path, name=name, error=error, status=429)
        response.headers["Retry-After"] = str(int(wait.total_seconds()))
        return response
    person = pages.people.verify_password(name, password) if name and password else None
    pages.throttle.record(name, address, succeeded=person is not None)
    if person is None:
        return signin_form(pages, request, next_path=next_path, name=name, error="Wrong name or password.", status=401)
    # A fresh token at every sign-in (session fixation): the old session, if any, ends here.
    token = pages.sessions.start(person.name, replacing=request.cookies.get(pages.session_cookie(request.url.scheme)))
    pages.gateway.audit_note(
        event_type="signed_in", actor=person.name, actor_kind="person", reason="web sign-in", data={"address": address}
    )
    response = RedirectResponse(safe_next(next_path), status_code=303)
    set_session_cookie(pages, request, response, token)
    response.delete_cookie(SIGNIN_COOKIE, path="/signin")
    return response


def set_session_cookie(pages: PagesContext, request: Request, response: Response, token: str) -> None:
    """Give the browser its session cookie (see web/auth.py for its attributes)."""
    response.set_cookie(
        pages.session_cookie(request.url.scheme),
        token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=pages.secure_cookies(request.url.scheme),
    )


@router.post("/signout")
def signout(request: Request, pages: Pages, session: Actor) -> Response:
    pages.sessions.end(request.cookies.get(pages.session_cookie(request.url.scheme)))
    pages.gateway.audit_note(
        event_type="signed_out", actor=session.person.name, actor_kind="person", reason="web sign-out", data={}
    )
    response = RedirectResponse("/signin?signed_out=1", status_code=303)
    secure = pages.secure_cookies(request.url.scheme)
    response.delete_cookie(
        pages.session_cookie(request.url.scheme), path="/", httponly=True, samesite="strict", secure=secure
    )
    return response
