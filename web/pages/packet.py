"""The approval packet page of one call (also where the outcome shows after a decision)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from server.lifecycle.actors import Person
from server.lifecycle.errors import CallNotFound, Forbidden
from server.notify.sla import escalation_of
from server.store.models import ToolCall
from web.auth import ActiveSession
from web.pages import queries
from web.pages.context import PagesContext
from web.pages.deps import NotAllowed, Pages, Viewer, render
from web.pages.dossier import build_packet

router = APIRouter()

# Messages shown after a decision; keyed, so a crafted URL cannot put text on the page.
DONE = {
    "approved": "Approved.",
    "recorded": "Your approval is recorded. It waits for another person to approve.",
    "rejected": "Rejected. The agent has been told why.",
    "held-by-switch": "Approved. The kill switch is on: it runs once an admin turns the switch off.",
}


def visible_call(pages: PagesContext, person: Person, call_id: str) -> ToolCall:
    """The call if it exists and the person reviews its queue; else NotAllowed (404 or 403)."""
    try:
        return pages.gateway.review.visible_call(person, call_id)
    except CallNotFound:
        raise NotAllowed("There is no such call.", status_code=404) from None
    except Forbidden as exc:
        raise NotAllowed(f"This call is not yours to see: {exc.message}.") from None


def packet_response(
    pages: PagesContext,
    request: Request,
    session: ActiveSession,
    call: ToolCall,
    *,
    error: str = "",
    status_code: int = 200,
    form: dict[str, Any] | None = None,
) -> Response:
    """Render the packet, optionally with an error from a refused decision and the reviewer's input."""
    person = session.person
    neighbours = queries.held_neighbours(pages.gateway.store, person, call.id)
    packet = build_packet(pages.gateway, pages.people, call, person, neighbours)
    context = {
        "packet": packet,
        "call": call,
        "done": DONE.get(request.query_params.get("done", ""), ""),
        "error": error,
        "form": form or {},
        "count": queries.held_count(pages.gateway.store, person),
        "reject_presets": REJECT_PRESETS,
        "escalation": escalation_of(pages.gateway.store, call.id) if call.status == "held" else None,
    }
    return render(pages, request, "packet.html", context, status_code=status_code)


REJECT_PRESETS = (
    "Not enough evidence",
    "Amount or details are wrong",
    "Duplicate of another request",
    "Against policy",
    "Suspected fraud or spoofing",
    "Customer or vendor must confirm first",
)


@router.get("/calls/{call_id}")
def packet_page(call_id: str, request: Request, pages: Pages, session: Viewer) -> Response:
    call = visible_call(pages, session.person, call_id)
    return packet_response(pages, request, session, call)
