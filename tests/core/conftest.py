"""Helpers for the core tests: held calls made straight through the lifecycle."""

from __future__ import annotations

from server.lifecycle.records import NewCall, insert
from server.lifecycle.states import CallStatus
from server.policy.types import Action, Exposure, Justification, Risk, Verdict
from server.store.db import Store
from server.store.models import ToolCall
from tests.clock import Clock

__all__ = ["Clock", "held_verdict", "hold"]  # the store and clock fixtures live in tests/conftest.py


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
    bound_person: str | None = None,
    expires: int = 3600,
) -> ToolCall:
    new = NewCall(
        tool=tool,
        arguments=dict(arguments or {"order_id": "O-1", "amount": 120.0, "currency": "EUR"}),
        agent="agent-7",
        on_behalf_of=on_behalf_of,
        bound_person=bound_person,
        justification=Justification(reason="customer asked", confidence=0.8),
    )
    return insert(
        store, new, held_verdict(required=required, queue=queue, expires=expires), CallStatus.HELD, event_type="held"
    )
