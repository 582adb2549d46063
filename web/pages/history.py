"""Decided calls: a searchable history with outcome, approvers and timings."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from web.pages import queries
from web.pages.deps import Pages, Viewer, render

router = APIRouter()


@router.get("/history")
def history_page(request: Request, pages: Pages, session: Viewer) -> Response:
    params = request.query_params
    try:
        page = max(1, min(int(params.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    search = queries.HistorySearch(
        text=params.get("q", "")[:200],
        status=params.get("status", "")[:20],
        tool=params.get("tool", "")[:200],
        page=page,
    )
    store = pages.gateway.store
    calls, more = queries.decided_calls(store, session.person, search)
    context = {
        "calls": calls,
        "more": more,
        "search": search,
        "decisions": queries.decisions_by_call(store, [c.id for c in calls]),
        "statuses": [s.value for s in queries.DECIDED],
        "tools": queries.tools_seen(store, session.person),
        "count": queries.held_count(store, session.person),
    }
    return render(pages, request, "history.html", context)
