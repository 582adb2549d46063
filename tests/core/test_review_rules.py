"""The attacks on deciding that failed before the review service: edits that did not re-route,
an editor approving their own edit alone, and self-approval by a differently spelled name."""

from __future__ import annotations

import pytest
from sqlmodel import col, select

from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.errors import Forbidden
from server.lifecycle.states import CallStatus
from server.policy.types import Action, Exposure, Risk, Verdict
from server.store.db import Store
from server.store.models import AuditEvent, ToolCall
from tests.core.conftest import hold

ALICE = Person("alice", "reviewer")
BOB = Person("bob", "reviewer")


def _to_two_person_queue(call: ToolCall, arguments: dict[str, object]) -> tuple[Verdict, str]:
    amount = float(arguments["amount"])  # type: ignore[arg-type]
    verdict = Verdict(
        action=Action.HOLD,
        risk=Risk.CRITICAL,
        queue="finance-senior",
        owner="cfo",
        category="large-refund",
        required_approvals=2,
        exposure=Exposure(amount=amount, currency="EUR"),
        priority=99.0,
        reasons=("above the two-person threshold",),
    )
    return verdict, f"Refund {amount:,.0f} EUR on O-1"


def _row(store: Store, call_id: str) -> ToolCall:
    with store.read() as session:
        row = session.get(ToolCall, call_id)
        assert row is not None
        return row


def test_an_edit_re_routes_the_call_to_what_the_policy_derives_from_the_new_arguments(store: Store) -> None:
    call = hold(store)
    edited = {"order_id": "O-1", "amount": 14364.0, "currency": "EUR"}

    decisions.approve(store, call.id, ALICE, edited_arguments=edited, reclassify=_to_two_person_queue)

    row = _row(store, call.id)
    assert row.status == CallStatus.HELD
    assert (row.queue, row.owner, row.category, row.risk) == ("finance-senior", "cfo", "large-refund", "critical")
    assert row.required_approvals == 2 and row.exposure_amount == 14364.0 and row.priority == 99.0
    assert row.summary == "Refund 14,364 EUR on O-1"
    with store.read() as session:
        event = session.exec(
            select(AuditEvent).where(AuditEvent.call_id == call.id).order_by(col(AuditEvent.seq).desc())
        ).first()
    assert event is not None and event.data is not None
    assert event.data["edit"]["summary"] == "Refund 14,364 EUR on O-1"
    assert event.data["edit"]["queue"] == "finance-senior"


def test_the_editor_alone_never_approves_their_own_edit(store: Store) -> None:
    call = hold(store)  # the policy wants one approval
    raised = {"order_id": "O-1", "amount": 2000.0, "currency": "EUR"}

    def one_person(call: ToolCall, arguments: dict[str, object]) -> tuple[Verdict, str]:
        return Verdict(action=Action.HOLD, risk=Risk.HIGH, queue="finance", required_approvals=1), "Refund 2000"

    edit = decisions.approve(store, call.id, ALICE, edited_arguments=raised, reclassify=one_person)

    assert not edit.approved and edit.required == 2
    assert _row(store, call.id).status == CallStatus.HELD
    assert decisions.approve(store, call.id, BOB).approved


CYRILLIC_A = "\u0430lice"


@pytest.mark.parametrize("spelling", ["ALICE", CYRILLIC_A, "al\u200bice", "ａｌｉｃｅ"])
def test_a_reviewer_cannot_approve_a_call_made_for_them_under_another_spelling(store: Store, spelling: str) -> None:
    call = hold(store, on_behalf_of=spelling)
    with pytest.raises(Forbidden, match="you requested this call"):
        decisions.approve(store, call.id, ALICE)
    assert _row(store, call.id).status == CallStatus.HELD


def test_the_person_an_agent_is_bound_to_never_approves_its_calls(store: Store) -> None:
    call = hold(store, bound_person="alice")
    with pytest.raises(Forbidden):
        decisions.approve(store, call.id, ALICE)
    assert decisions.approve(store, call.id, BOB).approved
