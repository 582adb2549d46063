"""A seeded history of calls and decisions, with a ledger of what happened written down as it happens.

The ledger is the test's own account: numbers the insights and the replay must reproduce are
computed from it, not from the code under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from server.gateway import Gateway
from server.lifecycle.actors import Person
from server.lifecycle.records import NewCall
from server.policy.types import Justification
from tests.admin.world import Clock

RITA = Person("rita", "reviewer")
SAM = Person("sam", "reviewer")
SLA = {"finance": 3600, "support": 7200}


@dataclass
class Held:
    call_id: str
    tool: str
    queue: str
    category: str
    rules: tuple[str, ...]
    created: datetime
    outcome: str = "pending"
    settled: datetime | None = None

    @property
    def wait_seconds(self) -> float | None:
        if self.outcome in {"approved", "edited", "rejected"} and self.settled is not None:
            return (self.settled - self.created).total_seconds()
        return None


@dataclass
class Ledger:
    start: datetime
    held: list[Held] = field(default_factory=list)
    allowed: dict[str, int] = field(default_factory=dict)
    blocked: int = 0
    # (reviewer, kind, edited, reason)
    decisions: list[tuple[str, str, bool, str | None]] = field(default_factory=list)
    end: datetime | None = None

    def held_where(self, **match: Any) -> list[Held]:
        return [h for h in self.held if all(getattr(h, k) == v for k, v in match.items())]


def _submit(gateway: Gateway, tool: str, arguments: dict[str, Any], agent: str = "agent-7") -> str:
    new = NewCall(tool=tool, arguments=arguments, agent=agent, justification=Justification(confidence=0.8))
    return gateway.submit(new).call.id


def seed(gateway: Gateway, clock: Clock) -> Ledger:
    """5 lookups, 25 routine refunds, 11 emails, 2 wipes, 3 big refunds, 1 pending email; time moving forward."""
    ledger = Ledger(start=clock.now)

    for i in range(5):
        _submit(gateway, "lookup", {"customer_id": f"C-{i}"})
        ledger.allowed["lookup"] = ledger.allowed.get("lookup", 0) + 1
        clock.advance(minutes=1)

    # Routine refunds: all approved unchanged by rita, after 10, 20, ... minutes (some past the 1h SLA).
    for i in range(25):
        held = _hold(gateway, clock, ledger, "refund", {"order_id": f"O-{i}", "amount": 100.0, "currency": "EUR"})
        clock.advance(minutes=10 * (i % 9 + 1))
        gateway.approve(held.call_id, RITA, override_reason="checked the warnings")
        _settle(ledger, held, clock, "approved", ("rita", "approve", False, None))

    # Emails: 4 approved, 4 edited, 3 rejected (two share a reason up to case and spaces); one more
    # is left pending at the end.
    plan = ["approved"] * 4 + ["edited"] * 4 + ["rejected"] * 3
    reasons = iter(["Wrong tone", " wrong tone", "Promises a refund"])
    for i, outcome in enumerate(plan):
        held = _hold(gateway, clock, ledger, "email", {"to": f"c{i}@example.com", "body": "Hello"})
        clock.advance(minutes=30 * (i + 1))
        if outcome == "approved":
            gateway.approve(held.call_id, SAM, override_reason="checked the warnings")
            _settle(ledger, held, clock, outcome, ("sam", "approve", False, None))
        elif outcome == "edited":
            gateway.approve(
                held.call_id,
                SAM,
                arguments={"to": f"c{i}@example.com", "body": "Hello, kindly"},
                override_reason="checked the warnings",
            )
            ledger.decisions.append(("sam", "approve", True, None))
            # An edited call needs someone besides its editor.
            gateway.approve(held.call_id, RITA, override_reason="checked the warnings")
            _settle(ledger, held, clock, outcome, ("rita", "approve", False, None))
        elif outcome == "rejected":
            reason = next(reasons)
            gateway.reject(held.call_id, SAM, reason=reason)
            _settle(ledger, held, clock, outcome, ("sam", "reject", False, reason))

    for _ in range(2):
        _submit(gateway, "wipe", {"table": "customers"})
        ledger.blocked += 1

    # Big refunds (rule big-refund): one approved, one rejected, one left to expire.
    big = [
        _hold(gateway, clock, ledger, "refund", {"order_id": f"B-{i}", "amount": 2000.0, "currency": "EUR"})
        for i in range(3)
    ]
    clock.advance(minutes=5)
    gateway.approve(big[0].call_id, SAM, override_reason="checked the warnings")
    _settle(ledger, big[0], clock, "approved", ("sam", "approve", False, None))
    gateway.reject(big[1].call_id, RITA, reason="Too much")
    _settle(ledger, big[1], clock, "rejected", ("rita", "reject", False, "Too much"))
    clock.advance(hours=25)
    gateway.sweep()
    big[2].outcome, big[2].settled = "expired", big[2].created + timedelta(hours=24)

    # Still waiting, and past its 2h SLA by the end.
    _hold(gateway, clock, ledger, "email", {"to": "late@example.com", "body": "Hello"})
    clock.advance(hours=3)
    ledger.end = clock.now
    # Allowed calls are recorded by the gateway's group-commit journal: wait until they are written.
    assert gateway.journal.flush()
    return ledger


def _hold(gateway: Gateway, clock: Clock, ledger: Ledger, tool: str, arguments: dict[str, Any]) -> Held:
    call_id = _submit(gateway, tool, arguments)
    big = tool == "refund" and arguments["amount"] >= 1000
    held = Held(
        call_id=call_id,
        tool=tool,
        queue="finance" if tool == "refund" else "support",
        category="large-refund" if big else ("refund" if tool == "refund" else "customer-email"),
        rules=("big-refund",) if big else (),
        created=clock.now,
    )
    ledger.held.append(held)
    return held


def _settle(
    ledger: Ledger, held: Held, clock: Clock, outcome: str, decision: tuple[str, str, bool, str | None]
) -> None:
    held.outcome, held.settled = outcome, clock.now
    ledger.decisions.append(decision)
