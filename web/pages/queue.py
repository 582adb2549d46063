"""The review queue page, its rows (refreshed by the page's script on live events) and the event stream."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from web.pages import listing, queries
from web.pages.deps import Pages, Viewer, Watcher, render
from web.pages.live import queue_events

router = APIRouter()


@router.get("/")
def home() -> Response:
    return RedirectResponse("/queue", status_code=303)


def _queue(pages: Pages, request: Request, session: Viewer | Watcher) -> dict[str, object]:
    filters = listing.QueueFilters.from_query(request.query_params)
    calls = queries.held_calls(pages.gateway.store, session.person)
    queue = listing.build(calls, session.person, filters, pages.gateway.store.now())
    return {"queue": queue, "filters": filters, "count": queue.total}


@router.get("/queue")
def queue_page(request: Request, pages: Pages, session: Viewer) -> Response:
    return render(pages, request, "queue.html", _queue(pages, request, session))


@router.get("/queue/rows")
def queue_rows(request: Request, pages: Pages, session: Watcher) -> Response:
    """Just the table body, for the script to swap in; the count rides in a header for the title."""
    context = _queue(pages, request, session)
    response = render(pages, request, "_queue_rows.html", context)
    response.headers["X-Queue-Count"] = str(context["count"])
    return response


@router.get("/events")
def events(pages: Pages, session: Watcher) -> Response:
    stream = queue_events(pages.live, pages.gateway.store, session.person)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
