"""Recent activity per tool: calls in the last 7 and 30 days, by outcome, counted in the database."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from server.insights.outcomes import outcome_expr
from server.lifecycle.records import INVALID_ARGUMENTS
from server.policy.types import Action
from server.store.models import ToolCall

# Allowed and blocked calls have no human outcome; held calls take theirs (see outcomes.py).
ALLOWED = "allowed"
BLOCKED = "blocked"
# Refused before the policy saw it: the arguments did not fit the tool. Not the policy's doing.
INVALID = "invalid arguments"


def activity_outcome_expr() -> sa.ColumnElement[str]:
    return sa.case(
        (col(ToolCall.category) == INVALID_ARGUMENTS, INVALID),
        (col(ToolCall.action) == Action.ALLOW.value, ALLOWED),
        (col(ToolCall.action) == Action.BLOCK.value, BLOCKED),
        else_=outcome_expr(),
    )


@dataclass
class ToolActivity:
    last_7_days: Counter[str] = field(default_factory=Counter)
    last_30_days: Counter[str] = field(default_factory=Counter)


def tool_activity(session: Session, *, now: datetime) -> dict[str, ToolActivity]:
    """Per tool: outcome -> calls, for calls created in the last 7 and the last 30 days."""
    week_ago = now - timedelta(days=7)
    inner = (
        select(
            col(ToolCall.tool).label("tool"),
            activity_outcome_expr().label("outcome"),
            sa.case((col(ToolCall.created_at) >= week_ago, 1), else_=0).label("recent"),
        )
        .where(col(ToolCall.created_at) >= now - timedelta(days=30), col(ToolCall.created_at) <= now)
        .subquery()
    )
    rows = session.execute(
        select(inner.c.tool, inner.c.outcome, inner.c.recent, func.count()).group_by(
            inner.c.tool, inner.c.outcome, inner.c.recent
        )
    ).all()
    activity: dict[str, ToolActivity] = defaultdict(ToolActivity)
    for tool, outcome, recent, count in rows:
        activity[tool].last_30_days[outcome] += count
        if recent:
            activity[tool].last_7_days[outcome] += count
    return dict(activity)
