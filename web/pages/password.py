"""Changing one's own password: ``GET /account/password`` and ``POST /account/password``.

A person who signed in with a one-time password (the first admin's printed password, or one set by
``countersign user reset-password``) is sent here by every page until they change it. A change ends the
person's other sessions. Single-sign-on people have no password here.
"""

from __future__ import annotations

from typing import Annotated

import anyio
from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from server.people import MIN_PASSWORD, PeopleError
from web.auth import ActiveSession
from web.pages.context import PagesContext
from web.pages.deps import Actor, Pages, Viewer, render

router = APIRouter()

PASSWORD_PATH = "/account/password"  # noqa: S105 - a path, not a secret


def _page(
    pages: PagesContext, request: Request, session: ActiveSession, *, error: str = "", status: int = 200
) -> Response:
    user = pages.people.get_user(session.person.name)
    context = {
        "error": error,
        "forced": session.must_change_password,
        "sso_only": user is not None and user.password_hash is None,
        "min_length": MIN_PASSWORD,
        "changed": request.query_params.get("changed") == "1",
    }
    return render(pages, request, "password.html", context, status_code=status)


@router.get(PASSWORD_PATH)
def password_page(request: Request, pages: Pages, session: Viewer) -> Response:
    return _page(pages, request, session)


@router.post(PASSWORD_PATH)
async def change_password(
    request: Request,
    pages: Pages,
    session: Actor,
    current: Annotated[str, Form(max_length=1000)] = "",
    new: Annotated[str, Form(max_length=1000)] = "",
    confirm: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    if new != confirm:
        return _page(pages, request, session, error="The new passwords do not match.", status=400)
    try:
        await anyio.to_thread.run_sync(pages.people.change_password, session.person.name, current, new)
    except PeopleError as exc:
        return _page(pages, request, session, error=f"{str(exc).capitalize()}.", status=400)
    await anyio.to_thread.run_sync(lambda: pages.sessions.end_others(session.person.name, keeping=session.id))
    return RedirectResponse(f"{PASSWORD_PATH}?changed=1", status_code=303)
