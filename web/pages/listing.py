"""The review queue: held calls a person may decide, riskiest and most urgent first, with filters.

Order: :func:`server.policy.queue_priority` (the policy's base priority plus urgency as the SLA
nears or passes), then the oldest first. Filters narrow the list; the title's count is the whole
visible queue, so a filter never hides that work is waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from urllib.parse import urlencode

from server.lifecycle.actors import Person
from server.policy import queue_priority
from server.store.models import ToolCall

FILTERS = ("queue", "owner", "tool", "risk", "category", "agent")


@dataclass(frozen=True)
class QueueFilters:
    queue: str = ""
    owner: str = ""
    tool: str = ""
    risk: str = ""
    category: str = ""
    agent: str = ""
    # "Assigned to me": calls in the queues I am a member of, or owned by me by name.
    mine: bool = False

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> QueueFilters:
        values = {name: params.get(name, "").strip()[:200] for name in FILTERS}
        return cls(**values, mine=params.get("mine", "") in ("1", "on", "true"))

    def matches(self, call: ToolCall, person: Person) -> bool:
        for name in FILTERS:
            wanted = getattr(self, name)
            if wanted and (getattr(call, name) or "") != wanted:
                return False
        return not self.mine or _assigned(call, person)

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def query(self, **changes: str | bool) -> str:
        """This filter set as a query string (with ``changes``), for links that keep the filters."""
        target = replace(self, **changes)  # type: ignore[arg-type]
        pairs = [(name, getattr(target, name)) for name in FILTERS if getattr(target, name)]
        if target.mine:
            pairs.append(("mine", "1"))
        return urlencode(pairs)


def _assigned(call: ToolCall, person: Person) -> bool:
    return (person.queues is not None and call.queue in person.queues) or call.owner == person.name


@dataclass(frozen=True)
class QueueRow:
    call: ToolCall
    rank: float
    age_seconds: float
    # Seconds until the SLA is due; negative once overdue; None when the call has no SLA.
    sla_left_seconds: float | None


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    # Everything the person may review, before filters (the count in the title).
    total: int
    facets: dict[str, list[str]]


def rank(call: ToolCall, now: datetime) -> float:
    if call.sla_due_at is None:
        return call.priority
    return queue_priority(call.priority, call.sla_due_at, now)


def order(calls: list[ToolCall], now: datetime) -> list[QueueRow]:
    rows = [
        QueueRow(
            call=call,
            rank=rank(call, now),
            age_seconds=(now - call.created_at).total_seconds(),
            sla_left_seconds=(call.sla_due_at - now).total_seconds() if call.sla_due_at else None,
        )
        for call in calls
    ]
    rows.sort(key=lambda row: (-row.rank, row.call.created_at, row.call.id))
    return rows


def build(calls: list[ToolCall], person: Person, filters: QueueFilters, now: datetime) -> Queue:
    facets = {name: sorted({getattr(c, name) for c in calls if getattr(c, name)}) for name in FILTERS}
    rows = [row for row in order(calls, now) if filters.matches(row.call, person)]
    return Queue(rows=rows, total=len(calls), facets=facets)


def neighbours(calls: list[ToolCall], call_id: str, now: datetime) -> tuple[str | None, str | None]:
    """The (previous, next) held call around ``call_id`` in queue order; the first one if it is not queued."""
    ids = [row.call.id for row in order(calls, now)]
    if call_id not in ids:
        return None, (ids[0] if ids else None)
    at = ids.index(call_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)
