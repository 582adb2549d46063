"""The queue's order in SQL: :func:`server.policy.queue_priority` as an expression the database sorts by.

A busy queue holds thousands of calls; ranking them in Python means loading them all, and a limit
applied before the order shows an arbitrary slice. So the database computes each held call's rank at
``now`` (base priority plus urgency as the SLA nears or passes, the formula of
``server/policy/priority.py``, same constants) and sorts and pages by it. tests/web/test_queue_scale.py
checks that this expression and the Python function agree on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import col

from server.policy.priority import DEADLINE_POINTS, MAX_URGENCY, OVERDUE_POINTS_PER_HOUR
from server.store.models import ToolCall


class EpochSeconds(FunctionElement[float]):
    """Seconds since 1970 of a UTC timestamp column, on SQLite (naive text) and PostgreSQL (timestamptz)."""

    type = sa.Float()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(EpochSeconds, "sqlite")
def _epoch_sqlite(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(EpochSeconds)
def _epoch_default(element: EpochSeconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) AS DOUBLE PRECISION)"


def queue_rank(now: datetime) -> sa.ColumnElement[float]:
    """Each call's queue priority at ``now`` (its base priority when it has no SLA)."""
    hours_left = (EpochSeconds(col(ToolCall.sla_due_at)) - now.timestamp()) / 3600.0
    overdue_cap = -(MAX_URGENCY - DEADLINE_POINTS) / OVERDUE_POINTS_PER_HOUR
    urgency = sa.case(
        (col(ToolCall.sla_due_at).is_(None), 0.0),
        (hours_left >= 0, DEADLINE_POINTS / (1.0 + hours_left)),
        (hours_left <= overdue_cap, MAX_URGENCY),
        else_=DEADLINE_POINTS - OVERDUE_POINTS_PER_HOUR * hours_left,
    )
    return (col(ToolCall.priority) + urgency).label("rank")
