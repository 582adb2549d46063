"""Return on automation: hours of preparation the agents saved, against hours people spent reviewing.

Saved: every call that ran without error (automatically, or after approval) saved the minutes of
preparation its tool declares (``ToolSpec.minutes_saved``), unless an admin set another figure.
Spent: we do not know how long a person looked at a call (the time from holding to deciding is a
wait, mostly spent on other work), so each decision is costed at a configurable number of minutes.
Both figures live in the ``roi_minutes`` setting and are shown beside the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from server.insights.period import Period
from server.lifecycle.records import INVALID_ARGUMENTS
from server.lifecycle.states import CallStatus
from server.policy.types import Action
from server.store import audit
from server.store.db import Store
from server.store.models import Decision, Setting, ToolCall

ROI_SETTING = "roi_minutes"
DEFAULT_MINUTES_PER_REVIEW = 4.0


@dataclass(frozen=True)
class RoiSettings:
    # Per-tool minutes that replace the tool's declared ``minutes_saved``.
    per_tool: dict[str, float] = field(default_factory=dict)
    minutes_per_review: float = DEFAULT_MINUTES_PER_REVIEW

    def minutes_for(self, tool: str, defaults: Mapping[str, float]) -> float:
        return self.per_tool.get(tool, defaults.get(tool, 0.0))

    def as_value(self) -> dict[str, Any]:
        return {"per_tool": dict(sorted(self.per_tool.items())), "minutes_per_review": self.minutes_per_review}


def load_roi_settings(session: Session) -> RoiSettings:
    row = session.get(Setting, ROI_SETTING)
    value = (row.value if row is not None else None) or {}
    return RoiSettings(
        per_tool={str(k): float(v) for k, v in (value.get("per_tool") or {}).items()},
        minutes_per_review=float(value.get("minutes_per_review", DEFAULT_MINUTES_PER_REVIEW)),
    )


def save_roi_settings(store: Store, settings: RoiSettings, *, actor: str, reason: str = "") -> None:
    """Replace the ROI figures; audited like every admin change."""
    if settings.minutes_per_review < 0 or any(m < 0 for m in settings.per_tool.values()):
        raise ValueError("minutes cannot be negative")
    now = store.now()
    with store.write() as session:
        row = session.get(Setting, ROI_SETTING, with_for_update=True) or Setting(key=ROI_SETTING)
        before = row.value
        row.value = settings.as_value()
        row.updated_at = now
        session.add(row)
        audit.append(
            session,
            at=now,
            event_type="roi_minutes_set",
            actor=actor,
            actor_kind="person",
            reason=reason or None,
            data={"before": before, "after": row.value},
        )


@dataclass(frozen=True)
class ToolSaving:
    tool: str
    calls: int
    minutes_each: float

    @property
    def minutes(self) -> float:
        return self.calls * self.minutes_each


@dataclass(frozen=True)
class RoiReport:
    period: Period
    settings: RoiSettings
    # Calls the policy let through with no person involved, and calls it refused outright.
    automatic_calls: int
    blocked_calls: int
    # Calls refused because their arguments did not fit the tool: the policy never saw them.
    invalid_calls: int
    # Calls that ran without error, per tool (automatic or approved).
    savings: list[ToolSaving]
    decisions: int

    @property
    def hours_saved(self) -> float:
        return sum(s.minutes for s in self.savings) / 60

    @property
    def hours_reviewing(self) -> float:
        return self.decisions * self.settings.minutes_per_review / 60

    @property
    def net_hours(self) -> float:
        return self.hours_saved - self.hours_reviewing


def roi_report(session: Session, period: Period, *, defaults: Mapping[str, float], settings: RoiSettings) -> RoiReport:
    """``defaults`` maps each tool to its declared ``minutes_saved``."""
    in_period = period.holds(col(ToolCall.created_at))
    invalid = col(ToolCall.category) == INVALID_ARGUMENTS
    by_action = dict(
        session.execute(
            select(col(ToolCall.action), func.count())
            .where(in_period, sa.or_(col(ToolCall.category).is_(None), sa.not_(invalid)))
            .group_by(col(ToolCall.action))
        ).all()
    )
    invalid_calls = session.execute(select(func.count()).select_from(ToolCall).where(in_period, invalid)).scalar_one()
    ran = session.execute(
        select(col(ToolCall.tool), func.count())
        .where(
            in_period,
            col(ToolCall.status).in_([CallStatus.ALLOWED.value, CallStatus.SUCCEEDED.value]),
            col(ToolCall.is_error).is_(False),
        )
        .group_by(col(ToolCall.tool))
    ).all()
    savings = [ToolSaving(tool, int(n), settings.minutes_for(tool, defaults)) for tool, n in ran]
    savings.sort(key=lambda s: (-s.minutes, s.tool))
    decisions = session.execute(select(func.count()).where(period.holds(col(Decision.created_at)))).scalar_one()
    return RoiReport(
        period=period,
        settings=settings,
        automatic_calls=int(by_action.get(Action.ALLOW.value, 0)),
        blocked_calls=int(by_action.get(Action.BLOCK.value, 0)),
        invalid_calls=int(invalid_calls),
        savings=savings,
        decisions=int(decisions),
    )
