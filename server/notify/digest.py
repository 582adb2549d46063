"""The daily e-mail digest: one mail a day listing the held calls of a person's queues.

A person chooses it with ``countersign user set-email NAME ADDRESS --digest daily``; from then on
queues that name them under ``notify: email:`` send them the digest instead of one mail per event
(an escalation to them is still mailed at once). The worker writes each digest to the outbox once
the configured hour (``COUNTERSIGN_DIGEST_HOUR``, UTC) has come; the event's key
``digest:<person>:<day>`` is unique, so however many instances sweep, a person gets one digest a day.
A day with nothing held writes the key but sends nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from server.lifecycle.states import CallStatus
from server.store.db import Store
from server.store.models import NotifyEvent, ToolCall, User

logger = logging.getLogger(__name__)

DIGEST_EVENT = "digest.daily"
DAILY = "daily"
DIGEST_CHOICES = (DAILY, "off")
MAX_CALLS = 100  # a digest lists the most urgent calls first; the queue page has the rest


def wants_digest(user: User) -> bool:
    return user.email_digest == DAILY and bool(user.email) and not user.disabled


def sweep_digests(store: Store, *, hour: int) -> list[str]:
    """Write today's digest of every person who chose one, once the hour has come; their names."""
    now = store.now()
    if now.hour < hour:
        return []
    day = now.date().isoformat()
    with store.read() as session:
        users = [u for u in session.exec(select(User).where(User.email_digest == DAILY)).all() if wants_digest(u)]
        keys = [_key(u.name, day) for u in users]
        written = set(session.exec(select(NotifyEvent.key).where(col(NotifyEvent.key).in_(keys))).all())
    done = []
    for user in users:
        if _key(user.name, day) in written:
            continue
        if _write(store, user, day, now):
            done.append(user.name)
    return done


def _key(name: str, day: str) -> str:
    return f"digest:{name}:{day}"[:100]


def _write(store: Store, user: User, day: str, now: datetime) -> bool:
    try:
        with store.write() as session:
            query = select(ToolCall).where(ToolCall.status == CallStatus.HELD.value)
            if user.role != "admin" and user.queues:
                query = query.where(col(ToolCall.queue).in_(user.queues))
            calls = session.exec(
                query.order_by(col(ToolCall.priority).desc(), col(ToolCall.created_at)).limit(MAX_CALLS)
            ).all()
            session.add(
                NotifyEvent(
                    id=uuid.uuid4().hex,
                    key=_key(user.name, day),
                    event_type=DIGEST_EVENT,
                    call_id=None,
                    queue="",
                    payload={"person": user.name, "day": day, "calls": [_entry(call) for call in calls]},
                    created_at=now,
                )
            )
    except sa.exc.IntegrityError:
        return False  # another instance wrote this person's digest for the day first
    return True


def _entry(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "tool": call.tool,
        "summary": call.summary,
        "queue": call.queue,
        "risk": call.risk,
        "exposure": (
            {"amount": call.exposure_amount, "currency": call.exposure_currency}
            if call.exposure_amount is not None
            else None
        ),
        "sla_due_at": call.sla_due_at.isoformat() if call.sla_due_at else None,
    }
