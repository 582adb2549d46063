"""Dependencies of the review pages: who is looking (GET) and who is acting (POST, CSRF-checked).

- :data:`Viewer`: a signed-in person, else a redirect to the sign-in page (nothing to protect on GET,
  which never changes state).
- :data:`Watcher`: like Viewer, but does not count as activity (the live stream and background
  refreshes of an open tab must not keep a session alive forever).
- :data:`Actor`: a signed-in person whose request passed both CSRF checks (see web/csrf.py); anyone
  else gets a 403 page and nothing changes. Bearer tokens are not sessions: agents never get here.
- A person signed in with a one-time password (first admin, ``user reset-password``) is sent to the
  password change page by every page (Viewer) and refused every change (Actor) until they change it.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from starlette.responses import Response

from web import csrf
from web.auth import ActiveSession
from web.pages.context import PagesContext


class SignInRequired(Exception):
    """A page needs a signed-in person; ``next`` is where to come back to."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    """The person signed in with a one-time password: only the password change page until they change it."""


# Reachable while a password change is pending (the change page itself, and signing out).
MAY_WAIT_FOR_CHANGE = frozenset({"/account/password", "/signout"})


def _check_password_changed(request: Request, session: ActiveSession) -> None:
    if session.must_change_password and request.url.path not in MAY_WAIT_FOR_CHANGE:
        raise PasswordChangeRequired()


class NotSignedIn(Exception):
    """A state-changing request without a live session: refused, nothing changed."""


class NotAllowed(Exception):
    """The person may not see or do this (another queue's call, an admin-only page...)."""

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def pages_context(request: Request) -> PagesContext:
    context: PagesContext = request.app.state.pages
    return context


Pages = Annotated[PagesContext, Depends(pages_context)]


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _viewer(request: Request, pages: Pages) -> ActiveSession:
    session = pages.sessions.resume(request.cookies.get(pages.session_cookie(request.url.scheme)))
    if session is None:
        raise SignInRequired(_here(request))
    request.state.session = session
    _check_password_changed(request, session)
    return session


def _watcher(request: Request, pages: Pages) -> ActiveSession:
    session = pages.sessions.resume(request.cookies.get(pages.session_cookie(request.url.scheme)), touch=False)
    if session is None:
        raise NotSignedIn()
    request.state.session = session
    return session


async def _actor(request: Request, pages: Pages) -> ActiveSession:
    session = await anyio.to_thread.run_sync(
        pages.sessions.resume, request.cookies.get(pages.session_cookie(request.url.scheme))
    )
    if session is None:
        raise NotSignedIn()
    await csrf.check(request, session.csrf_token, pages.trusted_origins)
    request.state.session = session
    if session.must_change_password and request.url.path not in MAY_WAIT_FOR_CHANGE:
        raise NotAllowed("Change your one-time password first (Account → Password). Nothing was changed.")
    return session


Viewer = Annotated[ActiveSession, Depends(_viewer)]
Watcher = Annotated[ActiveSession, Depends(_watcher)]
Actor = Annotated[ActiveSession, Depends(_actor)]


def render(
    pages: PagesContext, request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page, with what every page needs: the viewer, their CSRF token and the queue count."""
    session: ActiveSession | None = getattr(request.state, "session", None)
    base: dict[str, Any] = {
        "viewer": session.person if session is not None else None,
        "csrf_token": session.csrf_token if session is not None else "",
        "now": pages.gateway.store.now(),
        "count": None,
    }
    return pages.templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)
