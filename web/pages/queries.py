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
from server.store.models import Decision, ToolCall

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
QUEUE_LIMIT = 1000


Query = TypeVar("Query", bound=SelectOfScalar[Any])


def _visible(query: Query, person: Person) -> Query:
    """Restricted to the queues the person reviews (in the query, before any limit)."""
    scope = person.review_scope
    return query if scope is None else query.where(col(ToolCall.queue).in_(sorted(scope)))


def _held_now(now: datetime) -> sa.ColumnElement[bool]:
    """Held and not past its expiry: what a reviewer can still decide."""
    return and_(
        ToolCall.status == CallStatus.HELD.value,
        or_(col(ToolCall.expires_at).is_(None), col(ToolCall.expires_at) > now),
    )


def held_calls(store: Store, person: Person) -> list[ToolCall]:
    """Every held call the person may review and that has not passed its expiry."""
    query = select(ToolCall).where(_held_now(store.now()))
    with store.read() as session:
        return list(session.exec(_visible(query, person).limit(QUEUE_LIMIT)).all())


def held_count(store: Store, person: Person) -> int:
    query = select(func.count()).select_from(ToolCall).where(_held_now(store.now()))
    with store.read() as session:
        return int(session.exec(_visible(query, person)).one())


def latest_change(store: Store) -> tuple[int, str]:
    """A cheap fingerprint of the calls table (count, newest updated_at) to notice other processes' writes."""
    with store.read() as session:
        count, newest = session.exec(select(func.count(), func.max(ToolCall.updated_at))).one()
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
