"""How a held call ended, from the people's side.

A call was *held* when its verdict said ``hold`` (``ToolCall.action``); reviewers' edits never change
that column. Its outcome is read from its current row:

- ``rejected``: a person said no.
- ``edited``: approved after a reviewer changed the arguments (``arguments != proposed_arguments``).
- ``approved``: approved exactly as the agent proposed it ("approved unchanged").
- ``expired`` / ``cancelled``: nobody decided in time, or the request was withdrawn.
- ``pending``: still waiting (a partial quorum counts as pending).

The same rule is written twice, once as SQL (to count in the database) and once in Python (for rows
already loaded, e.g. by the replay); tests hold them together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import col

from server.insights.period import Period
from server.lifecycle.states import CallStatus
from server.policy.types import Action
from server.store.models import ToolCall


class Outcome(StrEnum):
    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    PENDING = "pending"


class CallLike(Protocol):
    """The columns the outcome is read from (a ToolCall, or a row selecting these columns)."""

    @property
    def status(self) -> str: ...  # read-only, so a ToolCall's CallStatus (a str) fits

    decided_at: datetime | None
    arguments: str
    proposed_arguments: str


def outcome_of(call: CallLike) -> Outcome:
    """The outcome of a held call (see the module docstring)."""
    if call.status == CallStatus.REJECTED:
        return Outcome.REJECTED
    if call.decided_at is not None:
        return Outcome.EDITED if call.arguments != call.proposed_arguments else Outcome.APPROVED
    if call.status == CallStatus.EXPIRED:
        return Outcome.EXPIRED
    if call.status == CallStatus.CANCELLED:
        return Outcome.CANCELLED
    return Outcome.PENDING


def outcome_expr() -> sa.ColumnElement[str]:
    """``outcome_of`` as a SQL expression over ``tool_call``."""
    decided = col(ToolCall.decided_at).is_not(None)
    return sa.case(
        (col(ToolCall.status) == CallStatus.REJECTED.value, Outcome.REJECTED.value),
        (sa.and_(decided, col(ToolCall.arguments) != col(ToolCall.proposed_arguments)), Outcome.EDITED.value),
        (decided, Outcome.APPROVED.value),
        (col(ToolCall.status) == CallStatus.EXPIRED.value, Outcome.EXPIRED.value),
        (col(ToolCall.status) == CallStatus.CANCELLED.value, Outcome.CANCELLED.value),
        else_=Outcome.PENDING.value,
    )


def held_in(period: Period) -> sa.ColumnElement[bool]:
    """Calls the policy held, created within the period."""
    return sa.and_(
        col(ToolCall.action) == Action.HOLD.value,
        period.holds(col(ToolCall.created_at)),
    )


@dataclass
class OutcomeCounts:
    """Held calls by outcome. Rates are shares of the calls people decided (approved, edited, rejected)."""

    approved: int = 0
    edited: int = 0
    rejected: int = 0
    expired: int = 0
    cancelled: int = 0
    pending: int = 0

    def add(self, outcome: str, count: int = 1) -> None:
        name = Outcome(outcome).value
        setattr(self, name, getattr(self, name) + count)

    def absorb(self, other: OutcomeCounts) -> None:
        for outcome in Outcome:
            self.add(outcome, getattr(other, outcome.value))

    @property
    def held(self) -> int:
        return self.approved + self.edited + self.rejected + self.expired + self.cancelled + self.pending

    @property
    def decided(self) -> int:
        return self.approved + self.edited + self.rejected

    @property
    def approval_rate(self) -> float | None:
        """Approved, with or without edits."""
        return _share(self.approved + self.edited, self.decided)

    @property
    def unchanged_rate(self) -> float | None:
        """Approved exactly as the agent proposed."""
        return _share(self.approved, self.decided)

    @property
    def edit_rate(self) -> float | None:
        return _share(self.edited, self.decided)

    @property
    def rejection_rate(self) -> float | None:
        return _share(self.rejected, self.decided)

    def as_dict(self) -> dict[str, Any]:
        return {
            "held": self.held,
            "decided": self.decided,
            **{o.value: getattr(self, o.value) for o in Outcome},
            "approval_rate": self.approval_rate,
            "unchanged_rate": self.unchanged_rate,
            "edit_rate": self.edit_rate,
            "rejection_rate": self.rejection_rate,
        }


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
