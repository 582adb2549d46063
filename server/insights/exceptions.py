"""The exception report: what people were asked to decide in a period, and how it went.

Counting happens in the database (GROUP BY over a CASE for the outcome) except where the data is
a JSON list (the rules a verdict matched) or an order statistic (median, p90): SQLite has neither
``percentile_cont`` nor a portable way to unnest JSON, so those read the few columns they need and
finish in Python.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, func, select

from server.insights.outcomes import OutcomeCounts, held_in, outcome_expr
from server.insights.period import Period
from server.store.models import Decision, ToolCall
from server.store.types import UTCDateTime

DIMENSIONS = ("category", "rule", "tool", "queue")
NO_VALUE = "(none)"


@dataclass(frozen=True)
class Timing:
    """Time from the call being held to the decision that settled it (a wait, not work)."""

    decided: int
    median_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class ReviewerLoad:
    reviewer: str
    approvals: int
    edits: int
    rejections: int

    @property
    def decisions(self) -> int:
        return self.approvals + self.rejections


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    count: int


@dataclass
class ExceptionReport:
    period: Period
    totals: OutcomeCounts
    # dimension -> value -> counts, each sorted by held calls, most first.
    by: dict[str, list[tuple[str, OutcomeCounts]]] = field(default_factory=dict)
    timing: Timing = Timing(0, None, None)
    sla_tracked: int = 0
    sla_breaches: int = 0
    workload: list[ReviewerLoad] = field(default_factory=list)
    rejection_reasons: list[ReasonCount] = field(default_factory=list)


def exception_report(session: Session, period: Period, *, now: datetime, top_reasons: int = 10) -> ExceptionReport:
    """Everything the insights page shows about held calls created in ``period``."""
    by = {
        "category": _breakdown(session, period, col(ToolCall.category)),
        "tool": _breakdown(session, period, col(ToolCall.tool)),
        "queue": _breakdown(session, period, col(ToolCall.queue)),
        "rule": _by_rule(session, period),
    }
    totals = OutcomeCounts()
    for _, counts in by["queue"]:  # every held call has exactly one queue
        totals.absorb(counts)
    tracked, breaches = _sla(session, period, now)
    return ExceptionReport(
        period=period,
        totals=totals,
        by=by,
        timing=_timing(session, period),
        sla_tracked=tracked,
        sla_breaches=breaches,
        workload=_workload(session, period),
        rejection_reasons=_rejection_reasons(session, period, top_reasons),
    )


def _breakdown(session: Session, period: Period, column: Mapped[Any]) -> list[tuple[str, OutcomeCounts]]:
    # Outcome is computed in a subquery so GROUP BY names a plain column on every database.
    inner = select(column.label("key"), outcome_expr().label("outcome")).where(held_in(period)).subquery()
    rows = session.execute(
        select(inner.c.key, inner.c.outcome, func.count()).group_by(inner.c.key, inner.c.outcome)
    ).all()
    counts: dict[str, OutcomeCounts] = defaultdict(OutcomeCounts)
    for key, outcome, count in rows:
        counts[key or NO_VALUE].add(outcome, count)
    return _sorted(counts)


def _by_rule(session: Session, period: Period) -> list[tuple[str, OutcomeCounts]]:
    # A call counts once for each rule its verdict matched; calls held by their tool's default
    # (no rule matched) are listed under NO_VALUE.
    rows = session.execute(select(col(ToolCall.verdict), outcome_expr()).where(held_in(period))).all()
    counts: dict[str, OutcomeCounts] = defaultdict(OutcomeCounts)
    for verdict, outcome in rows:
        rules = (verdict or {}).get("matched_rules") or [NO_VALUE]
        for rule in dict.fromkeys(rules):
            counts[str(rule)].add(outcome)
    return _sorted(counts)


def _sorted(counts: dict[str, OutcomeCounts]) -> list[tuple[str, OutcomeCounts]]:
    return sorted(counts.items(), key=lambda item: (-item[1].held, item[0]))


def _timing(session: Session, period: Period) -> Timing:
    rows = session.execute(
        select(col(ToolCall.created_at), col(ToolCall.decided_at)).where(
            held_in(period), col(ToolCall.decided_at).is_not(None)
        )
    ).all()
    waits = sorted((decided - created).total_seconds() for created, decided in rows)
    if not waits:
        return Timing(0, None, None)
    return Timing(len(waits), statistics.median(waits), percentile(waits, 0.9))


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``share`` of the values at or below it."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def _sla(session: Session, period: Period, now: datetime) -> tuple[int, int]:
    """(held calls with an SLA, those settled after it or still open past it)."""
    # Settled = decided, or finished without a decision (expired, cancelled); still open = now.
    settled = func.coalesce(col(ToolCall.decided_at), col(ToolCall.finished_at), sa.literal(now, UTCDateTime()))
    breached = sa.case((settled > col(ToolCall.sla_due_at), 1), else_=0)
    tracked, breaches = session.execute(
        select(func.count(), func.coalesce(func.sum(breached), 0)).where(
            held_in(period), col(ToolCall.sla_due_at).is_not(None)
        )
    ).one()
    return int(tracked), int(breaches)


def _workload(session: Session, period: Period) -> list[ReviewerLoad]:
    """Decisions each person recorded in the period (each approval of a two-person quorum counts)."""
    approve = col(Decision.kind) == "approve"
    rows = session.execute(
        select(
            col(Decision.actor),
            func.sum(sa.case((approve, 1), else_=0)),
            func.sum(sa.case((sa.and_(approve, col(Decision.edited_arguments).is_not(None)), 1), else_=0)),
            func.sum(sa.case((col(Decision.kind) == "reject", 1), else_=0)),
        )
        .where(period.holds(col(Decision.created_at)))
        .group_by(col(Decision.actor))
    ).all()
    loads = [ReviewerLoad(actor, int(a), int(e), int(r)) for actor, a, e, r in rows]
    return sorted(loads, key=lambda load: (-load.decisions, load.reviewer))


def _rejection_reasons(session: Session, period: Period, limit: int) -> list[ReasonCount]:
    """Rejection reasons grouped case- and space-insensitively, most common first."""
    key = func.lower(func.trim(col(Decision.reason)))
    inner = (
        select(key.label("key"), func.trim(col(Decision.reason)).label("reason"))
        .where(
            col(Decision.kind) == "reject",
            period.holds(col(Decision.created_at)),
        )
        .subquery()
    )
    count = func.count().label("n")
    rows = session.execute(
        select(func.min(inner.c.reason), count)
        .group_by(inner.c.key)
        .order_by(count.desc(), func.min(inner.c.reason))
        .limit(limit)
    ).all()
    return [ReasonCount(reason or "", int(n)) for reason, n in rows]
