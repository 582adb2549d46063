"""Writing events to the outbox, inside the transaction of the state change they tell.

The payload is what every channel may show: no arguments (they can carry personal or secret data;
the packet link shows them after sign-in), only the call's summary and the facts a queue sorts on.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from server.notify.events import FROM_AUDIT, ONCE_PER_CALL
from server.store.models import NotifyEvent, ToolCall


def enqueue(
    session: Session,
    call: ToolCall,
    audit_event_type: str,
    *,
    at: datetime,
    actor: str | None = None,
    reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> NotifyEvent | None:
    """Add the event ``audit_event_type`` tells about ``call`` (if any is worth telling) to ``session``.

    ``data``: the transition's audit data; an escalation's says where the call went.
    """
    event_type = FROM_AUDIT.get(audit_event_type)
    if event_type is None:
        return None
    event_id = uuid.uuid4().hex
    key = f"{call.id}:{event_type.value}" if event_type in ONCE_PER_CALL else event_id
    event = NotifyEvent(
        id=event_id,
        key=key,
        event_type=event_type.value,
        call_id=call.id,
        queue=call.queue,
        payload=_payload(call, audit_event_type, actor, reason, data or {}),
        created_at=at,
    )
    session.add(event)
    return event


def _payload(
    call: ToolCall, transition: str, actor: str | None, reason: str | None, data: dict[str, Any]
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "call": {
            "id": call.id,
            "tool": call.tool,
            "agent": call.agent,
            "on_behalf_of": call.on_behalf_of,
            "summary": call.summary,
            "args_hash": call.args_hash,
            "status": call.status,
            "queue": call.queue,
            "risk": call.risk,
            "exposure": (
                {"amount": call.exposure_amount, "currency": call.exposure_currency}
                if call.exposure_amount is not None
                else None
            ),
            "customer_impact": call.customer_impact,
            "required_approvals": call.required_approvals,
            "approvals": call.approvals,
            "matched_rules": list((call.verdict or {}).get("matched_rules") or []),
            "sla_due_at": _iso(call.sla_due_at),
            "expires_at": _iso(call.expires_at),
        },
        "transition": transition,
        "actor": actor,
        "reason": reason,
    }
    if transition == "escalated":
        # Written before the call moves, so ``call.queue`` is still the queue it left.
        payload["escalation"] = {
            "from_queue": data.get("from_queue", call.queue),
            "to": data.get("escalated_to"),
            "kind": data.get("kind"),
        }
    return payload


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
