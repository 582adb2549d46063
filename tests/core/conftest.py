"""Fixtures for the core: a store on a real database with a clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from server.lifecycle.records import NewCall, insert
from server.lifecycle.states import CallStatus
from server.policy.types import Action, Exposure, Justification, Risk, Verdict
from server.store.db import Store
from server.store.models import ToolCall


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[Store]:
    store = Store.open(database_url, clock=clock)
    yield store
    store.close()


def held_verdict(*, required: int = 1, queue: str = "finance", expires: int = 3600) -> Verdict:
    return Verdict(
        action=Action.HOLD,
        risk=Risk.HIGH,
        queue=queue,
        required_approvals=required,
        exposure=Exposure(amount=120.0, currency="EUR"),
        customer="C-1",
        matched_rules=("refunds-held",),
        category="refund",
        reasons=("refunds need a person",),
        expires_in_seconds=expires,
    )


def hold(
    store: Store,
    *,
    tool: str = "issue_refund",
    arguments: dict[str, object] | None = None,
    required: int = 1,
    queue: str = "finance",
    on_behalf_of: str | None = None,
    expires: int = 3600,
) -> ToolCall:
    new = NewCall(
        tool=tool,
        arguments=dict(arguments or {"order_id": "O-1", "amount": 120.0, "currency": "EUR"}),
        agent="agent-7",
        on_behalf_of=on_behalf_of,
        justification=Justification(reason="customer asked", confidence=0.8),
    )
    return insert(
        store, new, held_verdict(required=required, queue=queue, expires=expires), CallStatus.HELD, event_type="held"
    )
