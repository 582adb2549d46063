"""Deciding held calls: compare-and-set, quorum, separation of duties, edits, expiry."""

from __future__ import annotations

import json

import pytest
from sqlmodel import col, select

from server.canonical import arguments_hash
from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.errors import Conflict, Forbidden, InvalidDecision
from server.lifecycle.states import CallStatus
from server.policy.types import Action, Risk, Verdict
from server.store import audit
from server.store.db import Store
from server.store.models import AuditEvent, ToolCall
from tests.core.conftest import Clock, hold

ALICE = Person("alice", "reviewer")
BOB = Person("bob", "reviewer")
ADMIN = Person("root", "admin")


def _status(store: Store, call_id: str) -> str:
    with store.read() as session:
        call = session.get(ToolCall, call_id)
        assert call is not None
        return call.status


def _events(store: Store, call_id: str) -> list[AuditEvent]:
    with store.read() as session:
        return list(
            session.exec(select(AuditEvent).where(AuditEvent.call_id == call_id).order_by(col(AuditEvent.seq))).all()
        )


def test_single_approval_approves_and_audits(store: Store) -> None:
    call = hold(store)
    outcome = decisions.approve(store, call.id, ALICE, reason="looks right")
    assert outcome.approved
    assert _status(store, call.id) == CallStatus.APPROVED
    assert [e.event_type for e in _events(store, call.id)] == ["held", "approved"]


def test_second_decision_on_a_decided_call_is_a_conflict(store: Store) -> None:
    call = hold(store)
    decisions.approve(store, call.id, ALICE)
    with pytest.raises(Conflict):
        decisions.reject(store, call.id, BOB, reason="too late")
    with pytest.raises(Conflict):
        decisions.approve(store, call.id, BOB)
    assert _status(store, call.id) == CallStatus.APPROVED


def test_rejection_without_reason_is_refused_and_changes_nothing(store: Store) -> None:
    call = hold(store)
    with pytest.raises(InvalidDecision):
        decisions.reject(store, call.id, ALICE, reason="  ")
    assert _status(store, call.id) == CallStatus.HELD


def test_rejected_call_is_terminal(store: Store) -> None:
    call = hold(store)
    decisions.reject(store, call.id, ALICE, reason="wrong customer")
    assert _status(store, call.id) == CallStatus.REJECTED
    with pytest.raises(Conflict):
        decisions.approve(store, call.id, BOB)


def test_requester_cannot_approve_their_own_call(store: Store) -> None:
    call = hold(store, on_behalf_of="alice")
    with pytest.raises(Forbidden):
        decisions.approve(store, call.id, ALICE)
    assert decisions.approve(store, call.id, BOB).approved


def test_reviewer_of_another_queue_cannot_decide(store: Store) -> None:
    call = hold(store, queue="legal")
    support = Person("sam", "reviewer", frozenset({"support"}))
    with pytest.raises(Forbidden):
        decisions.approve(store, call.id, support)
    with pytest.raises(Forbidden):
        decisions.reject(store, call.id, support, reason="no")
    assert decisions.approve(store, call.id, ADMIN).approved


def test_two_person_rule_needs_two_distinct_people(store: Store) -> None:
    call = hold(store, required=2)
    first = decisions.approve(store, call.id, ALICE)
    assert not first.approved and first.approvals == 1
    assert _status(store, call.id) == CallStatus.HELD
    with pytest.raises(Conflict):
        decisions.approve(store, call.id, ALICE)
    second = decisions.approve(store, call.id, BOB)
    assert second.approved and second.approvals == 2
    assert [e.event_type for e in _events(store, call.id)] == ["held", "approval_recorded", "approved"]


def test_any_rejection_rejects_a_quorum_call(store: Store) -> None:
    call = hold(store, required=2)
    decisions.approve(store, call.id, ALICE)
    decisions.reject(store, call.id, BOB, reason="vendor unverified")
    assert _status(store, call.id) == CallStatus.REJECTED


def test_approval_after_expiry_is_refused_and_the_call_expires(store: Store, clock: Clock) -> None:
    call = hold(store, expires=60)
    clock.advance(seconds=61)
    with pytest.raises(Conflict, match="expired"):
        decisions.approve(store, call.id, ALICE)
    assert _status(store, call.id) == CallStatus.EXPIRED


def test_sweep_expires_overdue_calls_only(store: Store, clock: Clock) -> None:
    soon = hold(store, expires=60)
    later = hold(store, expires=7200)
    clock.advance(minutes=5)
    assert decisions.expire_due(store) == [soon.id]
    assert _status(store, soon.id) == CallStatus.EXPIRED
    assert _status(store, later.id) == CallStatus.HELD


def _reclassify(action: Action = Action.HOLD, required: int = 1, queue: str = "finance"):  # type: ignore[no-untyped-def]
    def reclassify(call: ToolCall, arguments: dict[str, object]) -> tuple[Verdict, str]:
        verdict = Verdict(action=action, risk=Risk.HIGH, queue=queue, required_approvals=required, reasons=("edited",))
        return verdict, f"Refund {arguments.get('amount')}"

    return reclassify


def test_edit_then_approve_stores_diff_and_rebinds_hash(store: Store) -> None:
    call = hold(store)
    edited = {"order_id": "O-1", "amount": 80.0, "currency": "EUR"}
    outcome = decisions.approve(store, call.id, ALICE, edited_arguments=edited, reclassify=_reclassify())
    assert outcome.diff == [{"field": "amount", "before": 120.0, "after": 80.0}]
    assert decisions.approve(store, call.id, BOB).approved
    with store.read() as session:
        row = session.get(ToolCall, call.id)
        assert row is not None
        assert json.loads(row.arguments) == edited
        assert row.args_hash == arguments_hash(edited)
        assert json.loads(row.proposed_arguments)["amount"] == 120.0


def test_edit_that_the_policy_would_block_is_refused(store: Store) -> None:
    call = hold(store)
    with pytest.raises(InvalidDecision, match="blocked"):
        decisions.approve(store, call.id, ALICE, edited_arguments={"amount": 9e9}, reclassify=_reclassify(Action.BLOCK))
    assert _status(store, call.id) == CallStatus.HELD


def test_edit_that_needs_more_approvals_waits_for_them(store: Store) -> None:
    call = hold(store)
    edited = {"order_id": "O-1", "amount": 5000.0, "currency": "EUR"}
    first = decisions.approve(store, call.id, ALICE, edited_arguments=edited, reclassify=_reclassify(required=2))
    assert not first.approved and first.required == 2
    assert decisions.approve(store, call.id, BOB).approved


def test_approvals_of_old_arguments_do_not_count_after_an_edit(store: Store) -> None:
    call = hold(store, required=2)
    decisions.approve(store, call.id, ALICE)
    edited = {"order_id": "O-1", "amount": 60.0, "currency": "EUR"}
    after_edit = decisions.approve(store, call.id, BOB, edited_arguments=edited, reclassify=_reclassify(required=2))
    assert not after_edit.approved and after_edit.approvals == 1
    assert decisions.approve(store, call.id, ALICE).approved


def test_every_transition_extends_a_verifiable_chain(store: Store) -> None:
    a, b = hold(store), hold(store, required=2)
    decisions.approve(store, a.id, ALICE)
    decisions.approve(store, b.id, ALICE)
    decisions.reject(store, b.id, BOB, reason="no")
    with store.read() as session:
        report = audit.verify(session)
    assert report.ok and report.events == 5


def test_approval_of_arguments_someone_since_edited_is_refused(store: Store) -> None:
    call = hold(store, required=2)
    seen = call.args_hash
    edited = {"order_id": "O-1", "amount": 60.0, "currency": "EUR"}
    decisions.approve(store, call.id, BOB, edited_arguments=edited, reclassify=_reclassify(required=2))
    with pytest.raises(Conflict, match="changed since you opened it"):
        decisions.approve(store, call.id, ALICE, expected_args_hash=seen)
    assert decisions.approve(store, call.id, ALICE, expected_args_hash=arguments_hash(edited)).approved
