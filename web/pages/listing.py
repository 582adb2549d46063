"""The review queue: held calls a person may decide, riskiest and most urgent first, with filters.

Order: :func:`server.policy.queue_priority` (the policy's base priority plus urgency as the SLA
nears or passes), then the oldest first, computed, sorted and paged by the database
(``server/store/ranking.py``, read in ``queries.py``). Filters narrow the list; the title's count is
the whole visible queue, so a filter or a page never hides that work is waiting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urlencode

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
    # Which page of the (filtered) queue; not a filter.
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> QueueFilters:
        values = {name: params.get(name, "").strip()[:200] for name in FILTERS}
        page = params.get("page", "").strip()
        return cls(
            **values,
            mine=params.get("mine", "") in ("1", "on", "true"),
            page=min(int(page), 1_000_000) if page.isdigit() and int(page) > 0 else 1,
        )

    @property
    def active(self) -> bool:
        return self.mine or any(getattr(self, name) for name in FILTERS)

    def query(self, **changes: str | bool | int) -> str:
        """This filter set as a query string (with ``changes``), for links that keep the filters."""
        target = replace(self, **changes)  # type: ignore[arg-type]
        pairs: list[tuple[str, str]] = [(name, getattr(target, name)) for name in FILTERS if getattr(target, name)]
        if target.mine:
            pairs.append(("mine", "1"))
        if target.page > 1:
            pairs.append(("page", str(target.page)))
        return urlencode(pairs)


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
    # What the filters match, on every page.
    matching: int
    page: int
    pages: int
    per_page: int
    facets: dict[str, list[str]]

    @property
    def first_shown(self) -> int:
        """1-based position of the page's first row in the whole (filtered) queue."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0


def build(
    calls: Sequence[tuple[ToolCall, float]],
    *,
    total: int,
    matching: int,
    page: int,
    pages: int,
    per_page: int,
    facets: dict[str, list[str]],
    now: datetime,
) -> Queue:
    """The page's rows, in the order the database ranked them (``calls`` come with their rank)."""
    rows = [
        QueueRow(
            call=call,
            rank=rank,
            age_seconds=(now - call.created_at).total_seconds(),
            sla_left_seconds=(call.sla_due_at - now).total_seconds() if call.sla_due_at else None,
        )
        for call, rank in calls
    ]
    return Queue(rows, total, matching, page, pages, per_page, facets)
