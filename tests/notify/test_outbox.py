"""The outbox: events are written with the state change they tell, and delivered at least once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.errors import Forbidden
from server.lifecycle.records import NewCall, insert
from server.lifecycle.states import CallStatus
from server.notify.worker import Notifier, deliveries
from server.policy import PolicyHolder
from server.policy.types import Action, Risk, Verdict
from server.store.db import Store
from server.store.models import AuditEvent, NotifyDelivery, NotifyEvent, ToolCall
from tests.clock import Clock
from tests.core.conftest import hold
from tests.notify.conftest import BACKOFF, make_notifier
from tests.notify.support import Receiver, write_policy

ANNA = Person("anna", "reviewer", ("finance",))
BEN = Person("ben", "reviewer", ("finance",))


def _events(store: Store) -> list[NotifyEvent]:
    with store.read() as session:
        return list(session.exec(select(NotifyEvent).order_by(col(NotifyEvent.created_at))).all())


def _delivery(store: Store) -> NotifyDelivery:
    with store.read() as session:
        return session.exec(select(NotifyDelivery)).one()


def test_held_call_and_its_event_are_written_together(store: Store) -> None:
    call = hold(store)
    [event] = _events(store)
    assert (event.event_type, event.call_id, event.queue) == ("call.held", call.id, "finance")
    assert event.payload is not None and "arguments" not in event.payload["call"]


def test_blocked_call_tells_nobody(store: Store) -> None:
    verdict = Verdict(action=Action.BLOCK, risk=Risk.HIGH, reasons=("no",))
    insert(store, NewCall(tool="t", arguments={}, agent="a"), verdict, CallStatus.BLOCKED, event_type="blocked")
    assert _events(store) == []


def test_first_of_two_approvals_is_not_told_and_the_deciding_one_is(store: Store) -> None:
    call = hold(store, required=2)
    decisions.approve(store, call.id, ANNA)
    assert [e.event_type for e in _events(store)] == ["call.held"]
    decisions.approve(store, call.id, BEN)
    assert [e.event_type for e in _events(store)] == ["call.held", "call.decided"]


def test_a_decision_that_fails_leaves_no_event(store: Store) -> None:
    call = hold(store, on_behalf_of="anna")
    with pytest.raises(Forbidden):
        decisions.approve(store, call.id, ANNA)
    assert [e.event_type for e in _events(store)] == ["call.held"]


def test_held_call_reaches_the_webhook_signed_with_a_stable_event_id(
    store: Store, notifier: Notifier, hook: Receiver
) -> None:
    call = hold(store)
    assert notifier.run_once() == 1
    [got] = hook.received
    [event] = _events(store)
    assert got.signed and got.event_id == event.id == got.event["id"]
    assert got.event["type"] == "call.held"
    assert got.event["data"]["url"] == f"https://countersign.example/calls/{call.id}"
    assert _delivery(store).status == "sent"
    assert notifier.run_once() == 0  # nothing is sent twice


def test_receiver_down_retries_with_backoff_then_dead_letters_without_touching_the_call(
    store: Store, notifier: Notifier, hook: Receiver, clock: Clock
) -> None:
    hook.status = 503
    call = hold(store)
    waits = []
    for _ in range(3):
        assert notifier.run_once() == 1
        delivery = _delivery(store)
        waits.append(delivery.next_attempt_at - clock.now)
        assert notifier.run_once() == 0  # not due again before its backoff
        clock.advance(seconds=(delivery.next_attempt_at - clock.now).total_seconds())
    assert waits[:2] == [BACKOFF, 2 * BACKOFF]
    delivery = _delivery(store)
    assert (delivery.status, delivery.attempts) == ("dead", 3)
    assert delivery.last_error is not None and "503" in delivery.last_error
    assert [row.delivery.status for row in deliveries(store, status="dead")] == ["dead"]
    assert len({r.event_id for r in hook.received}) == 1 and len(hook.received) == 3
    with store.read() as session:
        assert session.get(ToolCall, call.id).status == CallStatus.HELD  # type: ignore[union-attr]

    hook.status = 200
    assert notifier.retry(delivery.id or 0, actor="root")
    assert notifier.run_once() == 1
    assert _delivery(store).status == "sent"
    with store.read() as session:
        retried = session.exec(select(AuditEvent).where(AuditEvent.event_type == "notification_retried")).one()
    assert retried.actor == "root"


def test_unconfigured_channel_is_recorded_as_a_failure_and_the_call_still_decides(
    store: Store, notifier: Notifier
) -> None:
    from server.notify.channels import Unconfigured

    notifier.channels = {"webhook": Unconfigured("COUNTERSIGN_WEBHOOK_SECRET")}
    call = hold(store)
    notifier.run_once()
    assert "COUNTERSIGN_WEBHOOK_SECRET" in (_delivery(store).last_error or "")
    assert decisions.approve(store, call.id, ANNA).approved


def test_a_destination_hears_a_calls_events_in_order_even_when_the_first_must_be_retried(
    store: Store, notifier: Notifier, hook: Receiver, clock: Clock
) -> None:
    hook.status = 503
    call = hold(store)
    decisions.reject(store, call.id, ANNA, reason="no")
    assert notifier.run_once() == 1  # only call.held is tried; call.decided waits behind it
    hook.status = 200
    clock.advance(seconds=BACKOFF.total_seconds())
    while notifier.run_once():
        pass
    assert [r.event["type"] for r in hook.received] == ["call.held", "call.held", "call.decided"]


def test_events_wait_for_a_policy_rather_than_being_dropped(store: Store, hook: Receiver, tmp_path: Path) -> None:
    directory = tmp_path / "later"
    policies = PolicyHolder(directory)  # nothing there yet: no policy, nothing routed
    notifier = make_notifier(store, policies)
    hold(store)
    assert notifier.run_once() == 0
    write_policy(directory, webhook=hook.url)
    policies.refresh(force=True)
    assert notifier.run_once() == 1 and [r.event["type"] for r in hook.received] == ["call.held"]
