"""The delivery worker: turns outbox events into deliveries, and delivers them at least once.

Each pass, in short transactions (no transaction stays open while we talk to the outside world):

1. **Route.** Events not yet routed are locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's
   single write lock does the same), given one delivery per destination the policy names, and marked
   routed. The unique (event, channel, target) constraint backs "one delivery per event per channel".
2. **Claim.** Due deliveries are locked the same way, and their ``next_attempt_at`` is pushed one lease
   ahead with ``attempts + 1``. Other instances skip them until the lease passes.
   A delivery waits while an earlier one of the same call to the same destination is unsent, so
   each destination hears a call's events in order.
3. **Send**, then mark ``sent``; or, on failure, schedule the next attempt with exponential backoff, and
   mark ``dead`` after ``max_attempts``. A worker killed between sending and marking leaves the delivery
   due again when its lease ends: it is sent again, with the same event id.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from server.mcp.outcomes import review_url
from server.notify.channels import Channel, DeliveryFailed, Message
from server.notify.digest import DIGEST_EVENT, wants_digest
from server.notify.events import EventType
from server.notify.routing import Route, routes
from server.policy import PolicyHolder
from server.policy.compiled import Policy
from server.store import audit
from server.store.db import Store
from server.store.models import NotifyDelivery, NotifyEvent, User

logger = logging.getLogger(__name__)

PENDING, SENT, DEAD = "pending", "sent", "dead"
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    channel: str
    target: str
    attempts: int
    message: Message


class Notifier:
    """Routes and delivers outbox events. Several may share one database; each delivery goes out once."""

    def __init__(
        self,
        store: Store,
        policies: PolicyHolder,
        channels: Mapping[str, Channel],
        *,
        base_url: str,
        max_attempts: int = 8,
        backoff: timedelta = timedelta(seconds=10),
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.store = store
        self.policies = policies
        self.channels = channels
        self.base_url = base_url.rstrip("/")
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.lease = lease

    def run_once(self, limit: int = 50) -> int:
        """One pass: route new events, then deliver what is due. The number of deliveries attempted."""
        if not self._work_waiting():
            return 0  # an idle pass only reads: no write lock taken every few seconds on SQLite
        self.route_new(limit)
        claimed = self.claim_due(limit)
        for item in claimed:
            self.deliver(item)
        return len(claimed)

    def _work_waiting(self) -> bool:
        now = self.store.now()
        with self.store.read() as session:
            unrouted = select(NotifyEvent.id).where(col(NotifyEvent.routed_at).is_(None)).limit(1)
            due = (
                select(NotifyDelivery.id)
                .where(NotifyDelivery.status == PENDING, col(NotifyDelivery.next_attempt_at) <= now)
                .limit(1)
            )
            return session.exec(unrouted).first() is not None or session.exec(due).first() is not None

    def route_new(self, limit: int = 50) -> int:
        policy = self.policies.current()
        if policy is None:
            return 0  # no routing without a policy; the events wait for one rather than be dropped
        with self.store.write() as session:
            events = session.exec(
                select(NotifyEvent)
                .where(col(NotifyEvent.routed_at).is_(None))
                .order_by(col(NotifyEvent.created_at))
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            now = self.store.now()
            for event in events:
                for target in _targets(session, policy, event):
                    session.add(
                        NotifyDelivery(
                            event_id=event.id,
                            channel=target.channel,
                            target=target.target,
                            status=DEAD if target.error else PENDING,
                            last_error=target.error,
                            next_attempt_at=now,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                event.routed_at = now
                session.add(event)
        return len(events)

    def claim_due(self, limit: int = 50) -> list[Claimed]:
        with self.store.write() as session:
            now = self.store.now()
            due = session.exec(
                select(NotifyDelivery)
                .join(NotifyEvent, col(NotifyEvent.id) == NotifyDelivery.event_id)
                .where(
                    NotifyDelivery.status == PENDING,
                    col(NotifyDelivery.next_attempt_at) <= now,
                    ~_earlier_pending().exists(),
                )
                .order_by(col(NotifyDelivery.next_attempt_at))
                .limit(limit)
                .with_for_update(skip_locked=True, of=NotifyDelivery)
            ).all()
            events = _events(session, {d.event_id for d in due})
            claimed = []
            for delivery in due:
                delivery.attempts += 1
                delivery.next_attempt_at = now + self.lease
                delivery.updated_at = now
                session.add(delivery)
                assert delivery.id is not None
                claimed.append(
                    Claimed(
                        delivery.id,
                        delivery.channel,
                        delivery.target,
                        delivery.attempts,
                        self._message(events[delivery.event_id]),
                    )
                )
        return claimed

    def deliver(self, item: Claimed) -> None:
        """Send one claimed delivery and record how it went. Never raises for a channel's failure."""
        channel = self.channels.get(item.channel)
        try:
            if channel is None:
                raise DeliveryFailed(f"no {item.channel} channel is available")
            reference = channel.send(item.message, item.target)
        except DeliveryFailed as exc:
            self._failed(item, str(exc))
            return
        except Exception as exc:  # a channel bug must not stop the worker; it is recorded and retried
            logger.exception("%s delivery %s failed unexpectedly", item.channel, item.delivery_id)
            self._failed(item, f"{type(exc).__name__}: {exc}")
            return
        self._mark(item, status=SENT, sent_at=self.store.now(), last_error=None, reference=reference)

    def retry(self, delivery_id: int, *, actor: str) -> bool:
        return retry_delivery(self.store, delivery_id, actor=actor)

    def _failed(self, item: Claimed, error: str) -> None:
        now = self.store.now()
        if item.attempts >= self.max_attempts:
            logger.warning(
                "%s delivery %s is dead after %d attempts: %s", item.channel, item.delivery_id, item.attempts, error
            )
            self._mark(item, status=DEAD, last_error=error)
            return
        wait = min(self.backoff * 2 ** (item.attempts - 1), MAX_BACKOFF)
        self._mark(item, status=PENDING, next_attempt_at=now + wait, last_error=error)

    def _mark(self, item: Claimed, **values: Any) -> None:
        # Only the claim that is still current may record its outcome (a later claim may have taken over).
        with self.store.write() as session:
            session.execute(
                sa.update(NotifyDelivery)
                .where(
                    col(NotifyDelivery.id) == item.delivery_id,
                    col(NotifyDelivery.status) == PENDING,
                    col(NotifyDelivery.attempts) == item.attempts,
                )
                .values(updated_at=self.store.now(), **values)
            )

    def _message(self, event: NotifyEvent) -> Message:
        url = review_url(self.base_url, event.call_id) if event.call_id else None
        payload = dict(event.payload or {})
        if event.event_type == DIGEST_EVENT:
            payload["calls"] = [{**c, "url": review_url(self.base_url, c["id"])} for c in payload.get("calls") or []]
        return Message(event.id, event.event_type, event.created_at, payload, url)


@dataclass(frozen=True)
class Target:
    channel: str
    target: str
    error: str | None = None  # routed but undeliverable (an unknown person): recorded dead, shown to admins


def _targets(session: Session, policy: Policy, event: NotifyEvent) -> list[Target]:
    """Where one event goes, with user names resolved to their e-mail addresses.

    A person who chose the daily digest gets it instead of one mail per event (an escalation to them
    still goes at once). A name that is no enabled person with an address becomes a dead delivery
    whose error says so, visible on /admin/notifications, rather than vanishing.
    """
    payload = event.payload or {}
    if event.event_type == DIGEST_EVENT:
        if not payload.get("calls"):
            return []  # nothing held that day: nothing to send
        found = [Route("email", str(payload.get("person", "")))]
        person_route_wants_digest = False
    else:
        found = routes(policy, event.queue, event.event_type, slack_messages=_slack_messages(session, event))
        person_route_wants_digest = event.event_type != EventType.ESCALATED
    names = {r.target for r in found if r.channel == "email" and "@" not in r.target}
    users = {u.name: u for u in session.exec(select(User).where(col(User.name).in_(names))).all()} if names else {}
    targets: dict[tuple[str, str], Target] = {}
    for route in found:
        if route.channel != "email" or "@" in route.target:
            targets.setdefault((route.channel, route.target), Target(route.channel, route.target))
            continue
        user = users.get(route.target)
        if user is None or user.disabled or not user.email:
            error = f"{route.target!r} is not an enabled Countersign person with an e-mail address"
            targets.setdefault(("email", route.target), Target("email", route.target, error))
        elif not (person_route_wants_digest and wants_digest(user)):
            targets[("email", user.email)] = Target("email", user.email)
    return sorted(targets.values(), key=lambda t: (t.channel, t.target))


def _slack_messages(session: Session, event: NotifyEvent) -> list[tuple[str, str]]:
    """(queue, channel) of the Slack messages earlier events of this call went to."""
    if not event.call_id:
        return []
    rows = session.exec(
        select(NotifyEvent.queue, NotifyDelivery.target)
        .join(NotifyDelivery, col(NotifyDelivery.event_id) == NotifyEvent.id)
        .where(NotifyEvent.call_id == event.call_id, NotifyEvent.id != event.id, NotifyDelivery.channel == "slack")
        .distinct()
    ).all()
    return [(queue, target) for queue, target in rows]


def _earlier_pending() -> Any:
    """An earlier, unsent delivery of the same call to the same destination (events arrive in order,
    and a Slack update finds the message it updates)."""
    earlier, earlier_event = aliased(NotifyDelivery), aliased(NotifyEvent)
    return (
        select(earlier.id)
        .join(earlier_event, col(earlier_event.id) == earlier.event_id)
        .where(
            earlier.channel == NotifyDelivery.channel,
            earlier.target == NotifyDelivery.target,
            earlier.status == PENDING,
            col(earlier.id) < NotifyDelivery.id,
            earlier_event.call_id == NotifyEvent.call_id,
        )
    )


def _events(session: Session, ids: set[str]) -> dict[str, NotifyEvent]:
    if not ids:
        return {}
    rows = session.exec(select(NotifyEvent).where(col(NotifyEvent.id).in_(ids))).all()
    return {row.id: row for row in rows}


def retry_delivery(store: Store, delivery_id: int, *, actor: str) -> bool:
    """An admin's manual retry: the delivery is due now with a fresh set of attempts (audited)."""
    with store.write() as session:
        delivery = session.get(NotifyDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.status == SENT:
            return False
        now = store.now()
        before = delivery.status
        delivery.status, delivery.attempts, delivery.next_attempt_at, delivery.updated_at = PENDING, 0, now, now
        session.add(delivery)
        audit.append(
            session,
            at=now,
            event_type="notification_retried",
            actor=actor,
            actor_kind="person",
            reason=f"manual retry of a {before} {delivery.channel} delivery",
            data={"delivery": delivery_id, "event_id": delivery.event_id, "target": delivery.target},
        )
    return True


def reference_of(store: Store, message: Message, channel: str, target: str) -> str | None:
    """What ``target`` called the first message sent about this call (to update it in place)."""
    call_id = (message.payload.get("call") or {}).get("id")
    if not call_id:
        return None
    with store.read() as session:
        return session.exec(
            select(NotifyDelivery.reference)
            .join(NotifyEvent, col(NotifyEvent.id) == NotifyDelivery.event_id)
            .where(
                NotifyEvent.call_id == call_id,
                NotifyDelivery.channel == channel,
                NotifyDelivery.target == target,
                col(NotifyDelivery.reference).is_not(None),
            )
            .order_by(col(NotifyDelivery.id))
        ).first()


@dataclass(frozen=True)
class DeliveryRow:
    delivery: NotifyDelivery
    event: NotifyEvent


def deliveries(store: Store, *, status: str | None = None, limit: int = 200) -> list[DeliveryRow]:
    """The newest deliveries (optionally of one status) with their events, for the admin page."""
    with store.read() as session:
        query = select(NotifyDelivery, NotifyEvent).join(NotifyEvent, col(NotifyEvent.id) == NotifyDelivery.event_id)
        if status:
            query = query.where(NotifyDelivery.status == status)
        rows = session.exec(query.order_by(col(NotifyDelivery.id).desc()).limit(limit)).all()
        return [DeliveryRow(delivery, event) for delivery, event in rows]
