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


def _queue(pages: Pages, request: Request, session: Viewer | Watcher) -> tuple[listing.Queue, listing.QueueFilters]:
    store, person = pages.gateway.store, session.person
    filters = listing.QueueFilters.from_query(request.query_params)
    held = queries.held_page(store, person, filters, filters.page)
    total = queries.held_count(store, person) if filters.active else held.matching
    queue = listing.build(
        held.calls,
        total=total,
        matching=held.matching,
        page=held.page,
        pages=held.pages,
        per_page=held.per_page,
        facets=queries.held_facets(store, person),
        now=store.now(),
    )
    return queue, filters


@router.get("/queue")
def queue_page(request: Request, pages: Pages, session: Viewer) -> Response:
    queue, filters = _queue(pages, request, session)
    return render(pages, request, "queue.html", {"queue": queue, "filters": filters, "count": queue.total})


@router.get("/queue/rows")
def queue_rows(request: Request, pages: Pages, session: Watcher) -> Response:
    """Just the table body, for the script to swap in; the count rides in a header for the title."""
    queue, filters = _queue(pages, request, session)
    response = render(pages, request, "_queue_rows.html", {"queue": queue, "filters": filters, "count": queue.total})
    response.headers["X-Queue-Count"] = str(queue.total)
    response.headers["X-Queue-Matching"] = str(queue.matching)
    return response


@router.get("/events")
def events(pages: Pages, session: Watcher) -> Response:
    stream = queue_events(pages.live, pages.gateway.store, session.person)
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
