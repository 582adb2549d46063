"""Creating call records: every call the gateway sees leaves one row and one audit event.

Held calls are committed *before* the agent hears "pending" (durable before acknowledged).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from server.canonical import canonical_json, sha256_hex
from server.lifecycle.states import CallStatus
from server.notify import outbox
from server.policy.types import Justification, Verdict
from server.store import audit
from server.store.db import Store
from server.store.models import ToolCall


@dataclass(frozen=True)
class NewCall:
    """A call as the agent made it, after its arguments were parsed."""

    tool: str
    arguments: dict[str, Any]
    agent: str
    server: str = "countersign"
    on_behalf_of: str | None = None
    # The person the agent's token is bound to (`agent add --for`); set for calls people decide.
    bound_person: str | None = None
    justification: Justification = field(default_factory=Justification)
    summary: str = ""
    # The agent's own idempotency key (`_meta` countersign/idempotency_key), see lifecycle/duplicates.py.
    agent_key: str | None = None
    # The id the call's row gets; None: a fresh one (set when an agent key reserved it first).
    call_id: str | None = None


# The category of calls refused because their arguments did not fit the tool (never classified).
INVALID_ARGUMENTS = "invalid-arguments"
# The category of calls to a tool the gateway does not know (never classified, never run).
UNKNOWN_TOOL = "unknown-tool"


def new_call_id() -> str:
    """32 hex digits, 128 random bits (the shape of a uuid4's hex, at a quarter of its cost on every call)."""
    return secrets.token_hex(16)


def idempotency_key_for(call_id: str) -> str:
    """Derived from the call id once, stored, and never regenerated."""
    return f"cs-{call_id}"


def new_row(new: NewCall, verdict: Verdict, status: CallStatus, store: Store) -> dict[str, Any]:
    """Every column of a new call's row, by name: what ``ToolCall(**row)`` holds and the journal writes.

    A plain dict because allowed calls never need the ORM object: building one costs more than
    classifying the call (see bench/README.md).
    """
    now = store.now()
    call_id = new.call_id or new_call_id()
    args_text = canonical_json(new.arguments)
    justification = new.justification.model_dump(mode="json", exclude_none=True)
    held = status == CallStatus.HELD
    return {
        **_COLUMN_DEFAULTS,
        "id": call_id,
        "tool": new.tool,
        "server": new.server,
        "agent": new.agent,
        "on_behalf_of": new.on_behalf_of,
        "bound_person": new.bound_person,
        "summary": new.summary[:500],
        "proposed_arguments": args_text,
        "arguments": args_text,
        "args_hash": sha256_hex(args_text),
        "justification": justification or None,
        "confidence": new.justification.confidence,
        "evidence_count": len(new.justification.evidence),
        "verdict": verdict.model_dump(mode="json"),
        "action": verdict.action.value,
        "risk": verdict.risk.value,
        "queue": verdict.queue,
        "owner": verdict.owner,
        "category": verdict.category,
        "required_approvals": verdict.required_approvals,
        "exposure_amount": verdict.exposure.amount if verdict.exposure else None,
        "exposure_currency": verdict.exposure.currency if verdict.exposure else None,
        "customer": verdict.customer,
        "customer_impact": verdict.customer_impact.value,
        "priority": verdict.priority,
        "policy_version": verdict.policy_version,
        "status": status.value,
        "created_at": now,
        "updated_at": now,
        "sla_due_at": now + timedelta(seconds=verdict.sla_seconds) if held else None,
        "expires_at": now + timedelta(seconds=verdict.expires_in_seconds) if held else None,
        "idempotency_key": idempotency_key_for(call_id),
    }


# The model's own defaults for the columns a new call leaves alone (approvals, attempts, result...).
_COLUMN_DEFAULTS: dict[str, Any] = {
    name: info.get_default(call_default_factory=False)
    for name, info in ToolCall.model_fields.items()
    if not info.is_required() and info.default_factory is None
}


def insert(
    store: Store,
    new: NewCall,
    verdict: Verdict,
    status: CallStatus,
    *,
    event_type: str,
    error: str | None = None,
    submission_key: str | None = None,
) -> ToolCall:
    """Write the call and its first audit event in one transaction.

    Raises:
        sqlalchemy.exc.IntegrityError: ``submission_key`` is already held (see lifecycle/duplicates.py).
    """
    values = new_row(new, verdict, status, store)
    values["submission_key"] = submission_key
    values["error"] = error
    values["is_error"] = error is not None
    if status.is_terminal and status != CallStatus.ALLOWED:
        values["finished_at"] = values["created_at"]
    row = ToolCall(**values)
    with store.write() as session:
        session.add(row)
        audit.append(session, **first_event(values, event_type=event_type, reason=error or verdict.reason))
        # Same transaction: a held call is told about only once it is durable (blocked calls are not told).
        outbox.enqueue(session, row, event_type, at=values["created_at"], actor=row.agent)
    return row


def first_event(row: Mapping[str, Any], *, event_type: str, reason: str) -> dict[str, Any]:
    """The audit event that records a call's arrival: what was asked, by whom, and what the policy said."""
    event = _first_event(row, event_type=event_type, reason=reason)
    if row.get("bound_person"):
        event["data"]["bound_person"] = row["bound_person"]
    return event


def _first_event(row: Mapping[str, Any], *, event_type: str, reason: str) -> dict[str, Any]:
    return {
        "at": row["created_at"],
        "event_type": event_type,
        "actor": row["agent"],
        "actor_kind": "agent",
        "call_id": row["id"],
        "tool": row["tool"],
        "after_status": row["status"],
        "reason": reason,
        "category": row["category"],
        "args_hash": row["args_hash"],
        "data": {
            "arguments": json.loads(row["arguments"]),
            "justification": row["justification"],
            "matched_rules": (row["verdict"] or {}).get("matched_rules", []),
            "queue": row["queue"],
            "on_behalf_of": row["on_behalf_of"],
            "policy_version": row["policy_version"],
        },
    }
