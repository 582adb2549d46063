"""Notification deliveries: what was sent where, what is waiting for a retry, what is dead; manual retry.

GET  /admin/notifications[?status=pending|sent|dead]
POST /admin/notifications/{id}/retry      due now, with a fresh set of attempts (audited)
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from server.notify.worker import DEAD, PENDING, SENT, deliveries, retry_delivery
from web.admin.deps import AdminActor, AdminViewer, Pages, render_admin
from web.pages.deps import NotAllowed

router = APIRouter(include_in_schema=False)

STATUSES = (PENDING, SENT, DEAD)


@router.get("/admin/notifications")
def notifications_page(request: Request, pages: Pages, session: AdminViewer) -> Response:
    status = request.query_params.get("status", "")
    if status and status not in STATUSES:
        raise NotAllowed(f"There is no delivery status {status[:20]!r}; use pending, sent or dead.", status_code=400)
    context = {
        "rows": deliveries(pages.gateway.store, status=status or None),
        "status": status,
        "statuses": STATUSES,
        "saved": request.query_params.get("saved", ""),
    }
    return render_admin(pages, request, session, "admin/notifications.html", context)


@router.post("/admin/notifications/{delivery_id}/retry")
def retry(delivery_id: int, pages: Pages, session: AdminActor) -> Response:
    if not retry_delivery(pages.gateway.store, delivery_id, actor=session.person.name):
        raise NotAllowed("That delivery does not exist or was already sent.", status_code=404)
    return RedirectResponse("/admin/notifications?saved=retry", status_code=303)
