"""The audit trail page: search and filter the log, export it whole (CSV, JSON Lines), verify the chain.

Exports stream: one read transaction, events fetched a page at a time by the store's generators and
sent in ~64 KB chunks, so a 100,000-event trail never sits in memory. The JSON Lines export verifies
offline (``countersign audit verify --file``); the "verify chain" button gives the same one-line
answer as ``countersign audit verify``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from server.audit_query import AuditFilter, AuditPage, describe_chain, event_types, search
from server.store import audit
from server.store.db import Store
from web.admin.deps import AuditViewer, Pages, render_admin, up_to_date

router = APIRouter(include_in_schema=False)

CHUNK = 64_000
EXPORTS = {
    "jsonl": ("application/x-ndjson; charset=utf-8", audit.export_jsonl),
    "csv": ("text/csv; charset=utf-8", audit.export_csv),
}


@dataclass(frozen=True)
class AuditForm:
    """The filter form as typed (dates are whole days, ``until`` inclusive)."""

    call: str = ""
    tool: str = ""
    actor: str = ""
    type: str = ""
    since: str = ""
    until: str = ""
    before: int | None = None
    error: str = ""

    @classmethod
    def from_query(cls, params: Any) -> AuditForm:
        before = params.get("before", "")
        error = ""
        for name in ("since", "until"):
            if params.get(name) and _day(params.get(name)) is None:
                error = f"{name}: use a date like 2026-11-24"
        return cls(
            call=params.get("call", "")[:40].strip(),
            tool=params.get("tool", "")[:200].strip(),
            actor=params.get("actor", "")[:200].strip(),
            type=params.get("type", "")[:50].strip(),
            since=params.get("since", "")[:10],
            until=params.get("until", "")[:10],
            before=int(before) if before.isdigit() else None,
            error=error,
        )

    def filter(self) -> AuditFilter:
        since, until = _day(self.since), _day(self.until)
        return AuditFilter(
            call_id=self.call or None,
            tool=self.tool or None,
            actor=self.actor or None,
            event_types=(self.type,) if self.type else (),
            since=datetime.combine(since, time(), UTC) if since else None,
            until=datetime.combine(until + timedelta(days=1), time(), UTC) if until else None,
        )

    def query(self, **changes: Any) -> str:
        """The form as a query string, for the next-page link."""
        values = {"call": self.call, "tool": self.tool, "actor": self.actor, "type": self.type}
        values |= {"since": self.since, "until": self.until, **changes}
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/admin/audit")
def audit_page(request: Request, pages: Pages, session: AuditViewer) -> Response:
    return _page(pages, request, session, verification=None)


@router.get("/admin/audit/verify")
def verify_chain(request: Request, pages: Pages, session: AuditViewer) -> Response:
    up_to_date(pages.gateway)
    with pages.gateway.store.read() as db:
        report = audit.verify(db)
    return _page(pages, request, session, verification=(report.ok, describe_chain(report)))


def _page(pages: Pages, request: Request, session: AuditViewer, *, verification: tuple[bool, str] | None) -> Response:
    form = AuditForm.from_query(request.query_params)
    up_to_date(pages.gateway)
    with pages.gateway.store.read() as db:
        result: AuditPage = search(db, form.filter(), before_seq=form.before) if not form.error else AuditPage([], None)
        types = event_types(db)
    context = {"form": form, "page": result, "types": types, "verification": verification}
    return render_admin(pages, request, session, "admin/audit.html", context, status_code=422 if form.error else 200)


@router.get("/admin/audit/export.{kind}")
def export(kind: str, pages: Pages, session: AuditViewer) -> Response:
    if kind not in EXPORTS:
        return Response("unknown export format; use .csv or .jsonl", status_code=404, media_type="text/plain")
    media_type, _ = EXPORTS[kind]
    up_to_date(pages.gateway)
    stamp = pages.gateway.store.now().strftime("%Y%m%dT%H%M%SZ")
    return StreamingResponse(
        _export(pages.gateway.store, kind),
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="countersign-audit-{stamp}.{kind}"',
            "Cache-Control": "no-store",
        },
    )


def _export(store: Store, kind: str) -> Iterator[str]:
    """One read transaction for the whole export, so the file is one consistent chain."""
    _, generator = EXPORTS[kind]
    with store.read() as db:
        yield from chunked(generator(db), CHUNK)


def chunked(pieces: Iterable[str], size: int) -> Iterator[str]:
    """Join small pieces into chunks of about ``size`` characters (each chunk is one hop to the client)."""
    buffer: list[str] = []
    length = 0
    for piece in pieces:
        buffer.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)
