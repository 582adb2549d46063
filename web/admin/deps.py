"""Who may use the admin pages and API: admins only.

- :data:`AdminViewer` (GET pages): not signed in -> redirect to sign-in; a reviewer -> 403 page.
- :data:`AdminActor` (POST forms): no live session -> 401 page; failed CSRF check or a reviewer -> 403;
  nothing changes in either case.
- :data:`AuditViewer` / :data:`AuditPerson`: the audit trail, read by admins and auditors.
- :data:`AdminPerson` (JSON API): a person's bearer token (or session, see web/api.py); none -> 401,
  an agent token or a reviewer -> 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from starlette.responses import Response

from server.gateway import Gateway
from server.lifecycle.actors import Person
from web.api import PersonDep
from web.auth import ActiveSession
from web.pages import queries
from web.pages.context import PagesContext
from web.pages.deps import Actor, NotAllowed, Pages, Viewer, render

AUDITORS_ONLY = "The audit trail is for admins and auditors."
ADMINS_ONLY = "This page is for admins. Ask an admin if you need a tool's level or the policy changed."


def _admin_viewer(session: Viewer) -> ActiveSession:
    if not session.person.is_admin:
        raise NotAllowed(ADMINS_ONLY)
    return session


def _admin_actor(session: Actor) -> ActiveSession:
    if not session.person.is_admin:
        raise NotAllowed(ADMINS_ONLY)
    return session


def _audit_viewer(session: Viewer) -> ActiveSession:
    if not session.person.may_read_audit:
        raise NotAllowed(AUDITORS_ONLY)
    return session


def _audit_person(person: PersonDep) -> Person:
    if not person.may_read_audit:
        raise HTTPException(403, "admins and auditors only")
    return person


def _admin_person(person: PersonDep) -> Person:
    if not person.is_admin:
        raise HTTPException(403, "admins only")
    return person


AdminViewer = Annotated[ActiveSession, Depends(_admin_viewer)]
AdminActor = Annotated[ActiveSession, Depends(_admin_actor)]
AdminPerson = Annotated[Person, Depends(_admin_person)]
# The audit trail (GET only): admins and auditors.
AuditViewer = Annotated[ActiveSession, Depends(_audit_viewer)]
AuditPerson = Annotated[Person, Depends(_audit_person)]


def up_to_date(gateway: Gateway) -> None:
    """Write out allowed calls still queued in the gateway's journal, so counts and the trail include them."""
    gateway.journal.flush()


def render_admin(
    pages: PagesContext,
    request: Request,
    session: ActiveSession,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """An admin page, with the review queue count the header shows on every page."""
    count = queries.held_count(pages.gateway.store, session.person)
    return render(pages, request, template, {"count": count, **context}, status_code=status_code)


__all__ = [
    "AdminActor",
    "AdminPerson",
    "AdminViewer",
    "AuditPerson",
    "AuditViewer",
    "Pages",
    "render_admin",
    "up_to_date",
]
