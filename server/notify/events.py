"""The events Countersign tells the outside world about, and which audit events they come from."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    HELD = "call.held"
    DECIDED = "call.decided"
    EXECUTED = "call.executed"
    FAILED = "call.failed"
    EXPIRED = "call.expired"
    SLA_AT_RISK = "call.sla_at_risk"
    ESCALATED = "call.escalated"


# Audit event type of a transition -> the event worth telling. Transitions not listed here (a first
# approval below the quorum, the start of an execution, a withdrawal) are not told.
FROM_AUDIT: dict[str, EventType] = {
    "held": EventType.HELD,
    "approved": EventType.DECIDED,
    "rejected": EventType.DECIDED,
    "executed": EventType.EXECUTED,
    "execution_failed": EventType.FAILED,
    "unknown_outcome": EventType.FAILED,
    "expired": EventType.EXPIRED,
    "sla_at_risk": EventType.SLA_AT_RISK,
    "escalated": EventType.ESCALATED,
}

# Told at most once per call, whichever instance notices first.
ONCE_PER_CALL = frozenset({EventType.SLA_AT_RISK, EventType.ESCALATED})
