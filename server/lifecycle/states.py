"""The states of a tool call and the transitions between them.

::

    (classified) --allow--> ALLOWED                      ran at once; outcome in result/error
                 --allow (act)--> EXECUTING --> ALLOWED  recorded before it ran, outcome after
                 --block--> BLOCKED                      never ran
                 --hold---> HELD --approve (quorum)--> APPROVED --claim--> EXECUTING --> SUCCEEDED
                                 --reject----------> REJECTED                      --> FAILED
                                 --expiry----------> EXPIRED                       --> UNKNOWN_OUTCOME
                                 --cancel----------> CANCELLED

Every transition is a compare-and-set on the current status, so exactly one writer wins.
"""

from __future__ import annotations

from enum import StrEnum


class CallStatus(StrEnum):
    # HELD:
    #   Stored durably, waiting for people. Approvals below the quorum keep it HELD.
    HELD = "held"
    # APPROVED:
    #   Quorum reached; arguments are frozen (hash-bound). Waiting to be claimed by an executor.
    APPROVED = "approved"
    # EXECUTING:
    #   Claimed by exactly one executor; the tool may or may not have acted yet.
    EXECUTING = "executing"
    # SUCCEEDED:
    #   The tool ran once and returned; its result is stored (it may still be a tool-level error).
    SUCCEEDED = "succeeded"
    # FAILED:
    #   The tool raised, or refused its input; nothing is retried automatically.
    FAILED = "failed"
    # UNKNOWN_OUTCOME:
    #   An executor died mid-call for a tool that cannot be safely retried. A person must check.
    UNKNOWN_OUTCOME = "unknown_outcome"
    # REJECTED:
    #   A person said no, with a reason. Never runs.
    REJECTED = "rejected"
    # EXPIRED:
    #   Nobody decided before the policy's expiry. Never runs.
    EXPIRED = "expired"
    # CANCELLED:
    #   Withdrawn before a decision (by the agent or an admin). Never runs.
    CANCELLED = "cancelled"
    # ALLOWED:
    #   The policy allowed it; it ran at once. Its outcome is recorded for the audit trail.
    ALLOWED = "allowed"
    # BLOCKED:
    #   The policy refused it. Never runs.
    BLOCKED = "blocked"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {
        CallStatus.SUCCEEDED,
        CallStatus.FAILED,
        CallStatus.UNKNOWN_OUTCOME,
        CallStatus.REJECTED,
        CallStatus.EXPIRED,
        CallStatus.CANCELLED,
        CallStatus.ALLOWED,
        CallStatus.BLOCKED,
    }
)
WAITING = frozenset({CallStatus.HELD, CallStatus.APPROVED, CallStatus.EXECUTING})

# The only moves the lifecycle makes; anything else is a bug and is refused.
TRANSITIONS: dict[CallStatus, frozenset[CallStatus]] = {
    CallStatus.HELD: frozenset({CallStatus.APPROVED, CallStatus.REJECTED, CallStatus.EXPIRED, CallStatus.CANCELLED}),
    CallStatus.APPROVED: frozenset({CallStatus.EXECUTING}),
    # ALLOWED: an allowed act call, recorded EXECUTING before it ran (server/lifecycle/durable.py).
    CallStatus.EXECUTING: frozenset(
        {CallStatus.SUCCEEDED, CallStatus.FAILED, CallStatus.UNKNOWN_OUTCOME, CallStatus.ALLOWED}
    ),
}


def can_move(before: CallStatus, after: CallStatus) -> bool:
    return after in TRANSITIONS.get(before, frozenset())
