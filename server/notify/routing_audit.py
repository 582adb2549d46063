"""Routing changes are audited: who is told about each queue, and where its calls may be decided.

Routing lives in the policy files, which an admin edits and every instance reloads. The first
notification pass that sees a policy whose routing differs from the last recorded one appends a
``notify_routing_changed`` audit event with, per changed queue (and per rule setting ``decide_in``),
the old and the new routing. Instances that notice the same change at once write it once: the
change also takes a unique outbox key ``routing:<seq of the previous record>``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from server.policy.compiled import Policy
from server.store import audit
from server.store.db import Store
from server.store.models import AuditEvent, NotifyEvent

EVENT_TYPE = "notify_routing_changed"


def routing_of(policy: Policy) -> dict[str, Any]:
    """The policy's routing as JSON: per queue its ``notify:`` and ``decide_in``; rules' ``decide_in``."""
    queues = {
        name: {
            "notify": spec.notify.model_dump(mode="json", exclude_defaults=True) if spec.notify else None,
            "decide_in": list(spec.decide_in),
        }
        for name, spec in sorted(policy.queues.items())
    }
    rules = {rule.spec.id: list(rule.spec.decide_in) for rule in policy.rules if rule.spec.decide_in is not None}
    routing: dict[str, Any] = json.loads(json.dumps({"queues": queues, "rules": dict(sorted(rules.items()))}))
    return routing


def changes(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``{"queues": {name: {"old", "new"}}, "rules": {...}}`` for what differs (absent: None)."""
    out: dict[str, Any] = {}
    for part in ("queues", "rules"):
        before, after = old.get(part) or {}, new.get(part) or {}
        diff = {
            key: {"old": before.get(key), "new": after.get(key)}
            for key in sorted(set(before) | set(after))
            if before.get(key) != after.get(key)
        }
        if diff:
            out[part] = diff
    return out


class RoutingAuditor:
    """Remembers which policy version it checked, so an unchanged policy costs nothing per pass."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.checked_version: str | None = None

    def check(self, policy: Policy | None) -> bool:
        """Audit the policy's routing if it changed since the last record; True when this call wrote it."""
        if policy is None or policy.version == self.checked_version:
            return False
        written = record_routing(self.store, policy)
        self.checked_version = policy.version
        return written


def record_routing(store: Store, policy: Policy) -> bool:
    new = routing_of(policy)
    with store.read() as session:
        last = session.exec(
            select(AuditEvent).where(AuditEvent.event_type == EVENT_TYPE).order_by(col(AuditEvent.seq).desc())
        ).first()
    old: dict[str, Any] = dict((last.data or {}).get("routing") or {}) if last is not None else {}
    diff = changes(old, new)
    if not diff:
        return False
    now = store.now()
    try:
        with store.write() as session:
            session.add(
                NotifyEvent(
                    id=uuid.uuid4().hex,
                    key=f"routing:{last.seq if last is not None else 0}",
                    event_type=EVENT_TYPE,
                    payload={"policy_version": policy.version},
                    created_at=now,
                    routed_at=now,  # a record of the change, never delivered
                )
            )
            audit.append(
                session,
                at=now,
                event_type=EVENT_TYPE,
                actor="policy",
                actor_kind="system",
                reason=f"notification routing changed in policy {policy.version[:12]}",
                data={"policy_version": policy.version, "changes": diff, "routing": new},
            )
    except sa.exc.IntegrityError:
        return False  # another instance recorded this change first
    return True
