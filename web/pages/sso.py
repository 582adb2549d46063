"""Single sign-on pages: off to the identity provider, and back (see web/oidc.py for the protocol).

- ``GET /signin/oidc?next=`` starts a sign-in: the state, nonce and PKCE verifier go into a short-lived
  HttpOnly cookie (``SameSite=Lax``: it must come back on the provider's top-level redirect to us).
- ``GET /signin/oidc/callback`` verifies the answer, reads the claim mapping again (server/sso.py),
  and signs the person in with the role and queues it gives; no role refuses the sign-in and disables
  an existing person at once. The session keeps the mapping's snapshot of the claims, so each request
  applies the mapping file as it is then (web/auth.py). The session cookie is set on a small page that
  then moves on (meta refresh): browsers that treat a whole redirect chain begun on another site as cross-site would not
  send a ``SameSite=Strict`` cookie on a redirect's next hop.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from server.lifecycle.actors import Person
from server.people import PeopleError
from server.sso import SsoConfigError
from web.client_address import client_address
from web.oidc import OidcError, PendingSignIn
from web.pages.context import PagesContext
from web.pages.deps import NotAllowed, Pages, render
from web.pages.signin import safe_next, set_session_cookie, signin_form

router = APIRouter()
logger = logging.getLogger(__name__)

CALLBACK_PATH = "/signin/oidc/callback"
OIDC_COOKIE = "countersign_oidc"
OIDC_COOKIE_SECONDS = 600


@router.get("/signin/oidc")
async def start(request: Request, pages: Pages, next: str = "/queue") -> Response:
    if pages.oidc is None:
        raise NotAllowed("Single sign-on is not configured here.", status_code=404)
    try:
        url, pending = await pages.oidc.begin(safe_next(next))
    except OidcError as exc:
        logger.warning("single sign-on could not start: %s", exc)
        return _refused(pages, request, f"Single sign-on is unavailable: {exc}.", 502)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        OIDC_COOKIE,
        pending.to_cookie(),
        max_age=OIDC_COOKIE_SECONDS,
        path="/signin/oidc",
        httponly=True,
        samesite="lax",
        secure=pages.secure_cookies(request.url.scheme),
    )
    return response


@router.get(CALLBACK_PATH)
async def callback(request: Request, pages: Pages) -> Response:
    if pages.oidc is None:
        raise NotAllowed("Single sign-on is not configured here.", status_code=404)
    query = request.query_params
    pending = PendingSignIn.from_cookie(request.cookies.get(OIDC_COOKIE))
    if pending is None:
        return _refused(pages, request, "This sign-in did not start in this browser or took too long; try again.")
    if query.get("error"):
        description = (query.get("error_description") or query["error"])[:200]
        return _refused(pages, request, f"The identity provider refused the sign-in: {description}")
    try:
        claims = await pages.oidc.finish(
            pending, state=query.get("state", ""), code=query.get("code", ""), iss=query.get("iss")
        )
    except OidcError as exc:
        logger.warning("single sign-on refused: %s", exc)
        return _refused(pages, request, f"Sign-in refused: {exc}.")
    try:
        person, snapshot = await anyio.to_thread.run_sync(_person_for, pages, claims)
    except (SsoConfigError, PeopleError) as exc:
        logger.warning("single sign-on refused: %s", exc)
        return _refused(pages, request, f"Sign-in refused: {exc}.")
    if person is None:
        return _refused(pages, request, "Your account has no role in Countersign. Ask an admin to add you.")
    return await anyio.to_thread.run_sync(_signed_in, pages, request, person, snapshot, pending.next)


def _person_for(pages: PagesContext, claims: dict[str, Any]) -> tuple[Person | None, dict[str, Any]]:
    mapping = pages.sessions.sso_mapping.current()  # the file as it is now (the sessions' reader)
    email = claims.get("email") if claims.get("email_verified") is True else None
    person = pages.sessions.sso_accounts.sign_in(
        f"{claims['iss']} {claims['sub']}",
        mapping.name_candidates(claims),
        mapping.grant(claims),
        email=email if isinstance(email, str) else None,
    )
    return person, dict(mapping.snapshot(claims))


def _signed_in(
    pages: PagesContext, request: Request, person: Person, snapshot: dict[str, Any], next_path: str
) -> Response:
    cookie = pages.session_cookie(request.url.scheme)
    token = pages.sessions.start(person.name, replacing=request.cookies.get(cookie), sso=True, sso_claims=snapshot)
    address = client_address(
        request.client.host if request.client else None, request.headers.get("x-forwarded-for"), pages.proxies
    )
    pages.gateway.audit_note(
        event_type="signed_in",
        actor=person.name,
        actor_kind="person",
        reason="single sign-on",
        data={"address": address, "role": person.role},
    )
    response = render(pages, request, "signed_in.html", {"next": safe_next(next_path)})
    set_session_cookie(pages, request, response, token)
    response.delete_cookie(OIDC_COOKIE, path="/signin/oidc")
    return response


def _refused(pages: PagesContext, request: Request, message: str, status: int = 403) -> Response:
    response = signin_form(pages, request, next_path="/queue", error=message, status=status)
    response.delete_cookie(OIDC_COOKIE, path="/signin/oidc")
    return response
