"""Upstream tool definitions that changed since they were pinned (rug-pull protection), for admins.

GET  /admin/upstreams               every pinned upstream tool; changed ones with a diff of description and schema
POST /admin/upstreams/accept        accept one changed definition as the new pin (audited, as the CLI's accept)

The page reads the pins from the database, where every instance records what its upstreams list, so
it works on any instance; an accept takes effect on every instance at the next call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from server.store.models import UpstreamPin
from server.upstream.pins import Pins, describe_change
from web.admin.deps import AdminActor, AdminViewer, Pages, render_admin
from web.pages.deps import NotAllowed

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk" or "same"
    text: str


@dataclass(frozen=True)
class Change:
    pin: UpstreamPin
    lines: list[DiffLine]


def _lines(pin: UpstreamPin) -> list[DiffLine]:
    lines: list[DiffLine] = []
    for line in describe_change(pin).splitlines():
        if line.startswith(("---", "+++")):
            continue
        kind = "hunk" if line.startswith("@@") else "add" if line[:1] == "+" else "del" if line[:1] == "-" else "same"
        lines.append(DiffLine(kind, line))
    return lines


@router.get("/admin/upstreams")
def upstreams_page(request: Request, pages: Pages, session: AdminViewer) -> Response:
    pins = Pins(pages.gateway.store).all()
    changes = [Change(pin, _lines(pin)) for pin in pins if pin.pending_hash is not None]
    context = {
        "changes": changes,
        "pins": [pin for pin in pins if pin.pending_hash is None],
        "saved": request.query_params.get("saved", ""),
    }
    return render_admin(pages, request, session, "admin/upstreams.html", context)


@router.post("/admin/upstreams/accept")
def accept(
    pages: Pages,
    session: AdminActor,
    tool: Annotated[str, Form(max_length=300)] = "",
    pending_hash: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Accept the definition the admin saw (``pending_hash``): if the upstream changed it again since
    the page was drawn, nothing is accepted and the admin sees the new diff."""
    pins = Pins(pages.gateway.store)
    pin = next((p for p in pins.all() if p.tool == tool), None)
    if pin is None or pin.pending_hash is None:
        raise NotAllowed(f"There is no changed definition of {tool[:100]!r} to accept.", status_code=404)
    if pin.pending_hash != pending_hash:
        return RedirectResponse("/admin/upstreams?saved=stale", status_code=303)
    pins.accept(pin.upstream, [pin.tool], actor=session.person.name, expected={pin.tool: pending_hash})
    return RedirectResponse(f"/admin/upstreams?saved={quote(pin.tool)}", status_code=303)
