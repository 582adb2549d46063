"""SLA escalation: a reminder when a held call has used 80% of its SLA, escalation once it has passed.

Only queues whose policy entry has a ``notify:`` section take part. An escalation to another queue
(``escalate_to: NAME``) moves the call there: that queue's reviewers see and decide it, and the packet
shows where it came from; an escalation to a person (``escalate_to: {person: NAME}``) e-mails them.
Each step is a transition event (audited, and told through the outbox in the same transaction),
written at most once per call: the call row is locked and the outbox's once-per-call key is checked
under that lock, so two instances sweeping at once write it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from server.lifecycle.decisions import transition_event
from server.lifecycle.states import CallStatus
from server.notify.events import EventType
from server.notify.routing import escalation_target
from server.policy import PolicyHolder
from server.store.db import Store
from server.store.models import AuditEvent, NotifyEvent, ToolCall

AT_RISK_SHARE = 0.8


def at_risk_from(call: ToolCall) -> datetime | None:
    """When ``call`` has used 80% of its SLA (None without an SLA)."""
    if call.sla_due_at is None:
        return None
    return call.created_at + (call.sla_due_at - call.created_at) * AT_RISK_SHARE


def sweep_sla(store: Store, policies: PolicyHolder, *, limit: int = 500) -> list[tuple[str, str]]:
    """Remind and escalate what is due; the (call id, audit event type) pairs written."""
    policy = policies.current()
    if policy is None:
        return []
    watched = [name for name, queue in policy.queues.items() if queue.notify is not None]
    if not watched:
        return []
    escalated_key = ToolCall.id + ":" + EventType.ESCALATED.value
    with store.read() as session:
        candidates = session.exec(
            select(ToolCall.id)
            .where(
                ToolCall.status == CallStatus.HELD.value,
                col(ToolCall.sla_due_at).is_not(None),
                col(ToolCall.queue).in_(watched),
                ~select(NotifyEvent.key).where(NotifyEvent.key == escalated_key).exists(),
            )
            .order_by(col(ToolCall.sla_due_at))
            .limit(limit)
        ).all()
    written = []
    for call_id in candidates:
        step = _step(store, policies, call_id)
        if step is not None:
            written.append((call_id, step))
    return written


def _step(store: Store, policies: PolicyHolder, call_id: str) -> str | None:
    with store.write() as session:
        call = session.get(ToolCall, call_id, with_for_update=True)
        now = store.now()
        if call is None or call.status != CallStatus.HELD or call.sla_due_at is None:
            return None
        reminded = _told(session, call_id, EventType.SLA_AT_RISK)
        if now >= call.sla_due_at:
            if _told(session, call_id, EventType.ESCALATED):
                return None
            target = escalation_target(policies.current(), call.queue)
            reason = f"the SLA passed at {call.sla_due_at.isoformat()}" + (
                f"; escalated to {target.label}" if target else ""
            )
            data = {
                "escalated_to": (target.queue or target.person) if target else None,
                "kind": ("queue" if target.queue else "person") if target else None,
                "from_queue": call.queue,
            }
            # The event is told to the queue it was in (and the target); then the call moves, so the
            # target queue's reviewers see and decide it from now on.
            transition_event(session, call, "escalated", before=CallStatus.HELD, at=now, reason=reason, data=data)
            if target is not None and target.queue and target.queue != call.queue:
                call.queue = target.queue
                call.updated_at = now
                session.add(call)
            return "escalated"
        at_risk = at_risk_from(call)
        if reminded or at_risk is None or now < at_risk:
            return None
        reason = f"80% of the SLA used; due at {call.sla_due_at.isoformat()}"
        transition_event(session, call, "sla_at_risk", before=CallStatus.HELD, at=now, reason=reason)
        return "sla_at_risk"


def _told(session: Session, call_id: str, event_type: EventType) -> bool:
    return (
        session.exec(select(NotifyEvent.id).where(NotifyEvent.key == f"{call_id}:{event_type.value}")).first()
        is not None
    )


def escalation_of(store: Store, call_id: str) -> AuditEvent | None:
    """The audit event of the call's escalation, for the packet page (None if it was never escalated)."""
    with store.read() as session:
        return session.exec(
            select(AuditEvent).where(AuditEvent.call_id == call_id, AuditEvent.event_type == "escalated")
        ).first()
