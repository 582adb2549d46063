"""The reads the review pages need beyond Gateway.list_calls: queues of a person, history, similar calls.

Every function takes the person it reads for and returns only calls in queues they review, so a page
can never show a call its viewer may not see.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import and_, col, func, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from server.lifecycle.actors import Person
from server.lifecycle.states import CallStatus
from server.store.db import Store
from server.store.models import HELD_ONLY, Decision, ToolCall, listing_only
from server.store.ranking import queue_rank
from web.pages.listing import FILTERS, QueueFilters

# Calls a person decided (or that ended while waiting for one): the history page's statuses.
DECIDED = (
    CallStatus.APPROVED,
    CallStatus.EXECUTING,
    CallStatus.SUCCEEDED,
    CallStatus.FAILED,
    CallStatus.UNKNOWN_OUTCOME,
    CallStatus.REJECTED,
    CallStatus.EXPIRED,
    CallStatus.CANCELLED,
)
# Rows on one page of the queue.
PER_PAGE = 50


Query = TypeVar("Query", bound=SelectOfScalar[Any])


def _visible(query: Query, person: Person) -> Query:
    """Restricted to the queues the person reviews (in the query, before any limit)."""
    scope = person.review_scope
    return query if scope is None else query.where(col(ToolCall.queue).in_(sorted(scope)))


def _scope(person: Person) -> list[sa.ColumnElement[bool]]:
    """The condition of :func:`_visible`, for queries that select more than one thing."""
    scope = person.review_scope
    return [] if scope is None else [col(ToolCall.queue).in_(sorted(scope))]


def _held_now(now: datetime) -> sa.ColumnElement[bool]:
    """Held and not past its expiry: what a reviewer can still decide.

    "Held" is written as the partial index's own SQL text (not a bound parameter), so SQLite and
    PostgreSQL both see the queue's queries are covered by ix_tool_call_held.
    """
    return and_(
        sa.text(HELD_ONLY),
        or_(col(ToolCall.expires_at).is_(None), col(ToolCall.expires_at) > now),
    )


@dataclass(frozen=True)
class HeldPage:
    """One page of the held calls a person may review, in queue order (see server/store/ranking.py)."""

    calls: list[tuple[ToolCall, float]]  # each with its rank at the time of reading
    matching: int  # held calls that match the filters, on every page
    page: int  # 1-based, within 1..pages
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.matching // self.per_page))


def held_page(store: Store, person: Person, filters: QueueFilters, page: int, per_page: int = PER_PAGE) -> HeldPage:
    """The held calls matching ``filters``, ordered, counted and paged by the database (never a slice first)."""
    now = store.now()
    rank = queue_rank(now)
    where = _held_filtered(now, person, filters)
    count = _visible(select(func.count()).select_from(ToolCall).where(*where), person)
    with store.read() as session:
        matching = int(session.exec(count).one())
        page = min(max(page, 1), max(1, -(-matching // per_page)))
        # Rank and page from the index alone, then read only the page's rows.
        ranked = select(ToolCall.id, rank).where(*where, *_scope(person))
        ranked = ranked.order_by(rank.desc(), col(ToolCall.created_at), col(ToolCall.id))
        ids = session.exec(ranked.offset((page - 1) * per_page).limit(per_page)).all()
        ranks = {call_id: float(value) for call_id, value in ids}
        page_rows = select(ToolCall).where(col(ToolCall.id).in_(list(ranks))).options(*listing_only())
        calls = session.exec(page_rows).all() if ranks else []
    by_id = {call.id: call for call in calls}
    return HeldPage([(by_id[i], ranks[i]) for i in ranks if i in by_id], matching, page, per_page)


def held_facets(store: Store, person: Person) -> dict[str, list[str]]:
    """Each filter's values among the held calls the person may review (the filters' choices)."""
    columns = [getattr(ToolCall, name) for name in FILTERS]
    query = select(*columns).where(_held_now(store.now()), *_scope(person)).distinct()
    with store.read() as session:
        combinations = session.exec(query).all()
    return {name: sorted({row[n] for row in combinations if row[n]}) for n, name in enumerate(FILTERS)}


def held_neighbours(store: Store, person: Person, call_id: str) -> tuple[str | None, str | None]:
    """The (previous, next) held call around ``call_id`` in queue order; the first one if it is not queued."""
    now = store.now()
    rank = queue_rank(now)
    held = _visible(select(ToolCall.id).where(_held_now(now)), person)
    first = held.order_by(rank.desc(), col(ToolCall.created_at), col(ToolCall.id)).limit(1)
    with store.read() as session:
        here = session.exec(
            select(rank, ToolCall.created_at).where(_held_now(now), ToolCall.id == call_id, *_scope(person))
        ).first()
        if here is None:
            return None, session.exec(first).first()
        at, created = here
        same = rank == at
        after = or_(rank < at, and_(same, col(ToolCall.created_at) > created))
        after = or_(after, and_(same, col(ToolCall.created_at) == created, col(ToolCall.id) > call_id))
        before = or_(rank > at, and_(same, col(ToolCall.created_at) < created))
        before = or_(before, and_(same, col(ToolCall.created_at) == created, col(ToolCall.id) < call_id))
        following = held.where(after).order_by(rank.desc(), col(ToolCall.created_at), col(ToolCall.id))
        preceding = held.where(before).order_by(rank.asc(), col(ToolCall.created_at).desc(), col(ToolCall.id).desc())
        return session.exec(preceding.limit(1)).first(), session.exec(following.limit(1)).first()


def _held_filtered(now: datetime, person: Person, filters: QueueFilters) -> list[sa.ColumnElement[bool]]:
    where = [_held_now(now)]
    where += [getattr(ToolCall, name) == getattr(filters, name) for name in FILTERS if getattr(filters, name)]
    if filters.mine:
        # "Assigned to me": calls in the queues I am a member of, or owned by me by name.
        mine = col(ToolCall.owner) == person.name
        if person.queues:
            mine = or_(mine, col(ToolCall.queue).in_(sorted(person.queues)))
        where.append(mine)
    return where


def held_count(store: Store, person: Person) -> int:
    query = select(func.count()).select_from(ToolCall).where(_held_now(store.now()))
    with store.read() as session:
        return int(session.exec(_visible(query, person)).one())


def latest_change(store: Store) -> tuple[int, str]:
    """A cheap fingerprint of the held calls (count, newest updated_at) to notice other processes' changes
    to the queue: every arrival, edit and decision changes one or the other. Read from ix_tool_call_held
    alone (the whole table took 200 ms at 100,000 calls, on every poll of every open queue page)."""
    with store.read() as session:
        count, newest = session.exec(
            select(func.count(), func.max(ToolCall.updated_at)).where(sa.text(HELD_ONLY))
        ).one()
    return int(count), str(newest)


@dataclass(frozen=True)
class HistorySearch:
    text: str = ""
    status: str = ""
    tool: str = ""
    page: int = 1
    per_page: int = 50


def decided_calls(store: Store, person: Person, search: HistorySearch) -> tuple[list[ToolCall], bool]:
    """Decided calls, newest decision first, matching the search; and whether there is a next page."""
    statuses = [search.status] if search.status in {s.value for s in DECIDED} else [s.value for s in DECIDED]
    query = select(ToolCall).where(col(ToolCall.status).in_(statuses))
    if search.tool:
        query = query.where(ToolCall.tool == search.tool)
    if search.text.strip():
        needle = f"%{_escape_like(search.text.strip().lower())}%"
        fields = (ToolCall.summary, ToolCall.tool, ToolCall.agent, ToolCall.customer, ToolCall.id, ToolCall.queue)
        query = query.where(
            or_(*(func.lower(sa.func.coalesce(f, "")).like(needle, escape="\\") for f in fields)),
        )
    query = _visible(query, person).order_by(
        sa.func.coalesce(col(ToolCall.decided_at), col(ToolCall.updated_at)).desc(), col(ToolCall.id)
    )
    offset = (max(search.page, 1) - 1) * search.per_page
    with store.read() as session:
        rows = list(session.exec(query.offset(offset).limit(search.per_page + 1)).all())
    return rows[: search.per_page], len(rows) > search.per_page


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def decisions_by_call(store: Store, call_ids: Sequence[str]) -> dict[str, list[Decision]]:
    if not call_ids:
        return {}
    with store.read() as session:
        rows = session.exec(
            select(Decision).where(col(Decision.call_id).in_(list(call_ids))).order_by(col(Decision.id))
        ).all()
    grouped: dict[str, list[Decision]] = defaultdict(list)
    for row in rows:
        grouped[row.call_id].append(row)
    return dict(grouped)


def similar_calls(store: Store, person: Person, call: ToolCall, *, limit: int = 10) -> list[ToolCall]:
    """Earlier calls of the same tool for the same customer or vendor, newest first."""
    if not call.customer:
        return []
    query = select(ToolCall).where(
        ToolCall.tool == call.tool, ToolCall.customer == call.customer, ToolCall.id != call.id
    )
    with store.read() as session:
        return list(session.exec(_visible(query, person).order_by(col(ToolCall.created_at).desc()).limit(limit)).all())


def tools_seen(store: Store, person: Person) -> list[str]:
    query = select(ToolCall.tool).distinct()
    with store.read() as session:
        return sorted(session.exec(_visible(query, person)).all())
