"""The gateway end to end with the real policy, the real demo tools and a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from server.config import Settings
from server.lifecycle.actors import Person
from server.lifecycle.errors import InvalidDecision
from server.lifecycle.records import NewCall
from server.lifecycle.states import CallStatus
from server.policy.types import Action, Evidence, Justification, Risk
from server.runtime import Runtime, build_runtime, seed_demo
from server.store import audit
from server.store.db import Store, StoreUnavailable
from tests.conftest import REPO
from tools.backoffice import ids

ALICE = Person("alice", "reviewer")
BOB = Person("bob", "reviewer")
SURE = Justification(reason="customer ticket", evidence=(Evidence(source="ticket:T-1"),), confidence=0.95)


@pytest.fixture
def runtime(database_url: str) -> Iterator[Runtime]:
    runtime = build_runtime(Settings(database_url=database_url, policies=REPO / "policies"))
    seed_demo(runtime)
    yield runtime
    runtime.close()


def _refunds(runtime: Runtime) -> int:
    with runtime.store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM bo_refund WHERE status = 'issued'")).scalar_one())


def _refund(amount: float, justification: Justification = SURE) -> NewCall:
    return NewCall(
        tool="issue_refund",
        arguments={
            "customer_id": ids.REFUND_CUSTOMER_ID,
            "order_id": ids.REFUND_ORDER_ID,
            "amount": amount,
            "currency": "EUR",
            "reason": "damaged on arrival",
        },
        agent="support-bot",
        justification=justification,
    )


def test_allowed_call_runs_at_once_and_is_recorded_without_its_output(runtime: Runtime) -> None:
    submission = runtime.gateway.submit(NewCall(tool="search_customers", arguments={"query": "acme"}, agent="a"))
    assert submission.call.status == CallStatus.ALLOWED
    assert submission.call.result and submission.call.result["customers"]
    stored = runtime.gateway.get_call(submission.call.id)
    assert stored is not None and stored.status == CallStatus.ALLOWED and not stored.is_error
    assert stored.result is None  # reading tools' output is not kept


def test_allowed_act_call_keeps_its_result(runtime: Runtime) -> None:
    submission = runtime.gateway.submit(_refund(20.0))
    stored = runtime.gateway.get_call(submission.call.id)
    assert stored is not None and stored.result == submission.call.result and stored.result


def test_small_confident_refund_runs_without_a_person(runtime: Runtime) -> None:
    before = _refunds(runtime)
    submission = runtime.gateway.submit(_refund(20.0))
    assert submission.call.status == CallStatus.ALLOWED, submission.verdict.reasons
    assert _refunds(runtime) == before + 1


def test_large_refund_is_held_and_runs_once_after_approval(runtime: Runtime) -> None:
    before = _refunds(runtime)
    held = runtime.gateway.submit(_refund(400.0)).call
    assert held.status == CallStatus.HELD and _refunds(runtime) == before
    outcome = runtime.gateway.approve(
        held.id, ALICE, reason="matches the ticket", override_reason="checked the warnings"
    )
    assert outcome.call.status == CallStatus.SUCCEEDED
    assert _refunds(runtime) == before + 1
    runtime.gateway.sweep()  # nothing left to run: no second effect
    assert _refunds(runtime) == before + 1


def test_blocked_call_never_runs(runtime: Runtime) -> None:
    submission = runtime.gateway.submit(
        NewCall(tool="bulk_export_customer_data", arguments={"segment": "all", "destination": "s3://x"}, agent="a")
    )
    assert submission.call.status == CallStatus.BLOCKED
    assert submission.verdict.action == Action.BLOCK


def test_unknown_tool_is_blocked(runtime: Runtime) -> None:
    submission = runtime.gateway.submit(NewCall(tool="wire_everything", arguments={}, agent="a"))
    assert submission.call.status == CallStatus.BLOCKED


def test_edit_that_fails_validation_is_refused(runtime: Runtime) -> None:
    held = runtime.gateway.submit(_refund(400.0)).call
    with pytest.raises(InvalidDecision, match="amount"):
        runtime.gateway.approve(
            held.id, ALICE, arguments={**_refund(400.0).arguments, "amount": -5}, override_reason="checked the warnings"
        )


def test_edited_refund_runs_with_the_edited_amount(runtime: Runtime) -> None:
    held = runtime.gateway.submit(_refund(400.0)).call
    edit = runtime.gateway.approve(
        held.id, ALICE, arguments={**_refund(400.0).arguments, "amount": 150.0}, override_reason="checked the warnings"
    )
    assert edit.call.status == CallStatus.HELD  # the editor alone never approves their own edit
    assert edit.diff == [{"field": "amount", "before": 400.0, "after": 150.0}]
    outcome = runtime.gateway.approve(held.id, BOB, override_reason="checked the warnings")
    assert outcome.call.status == CallStatus.SUCCEEDED
    with runtime.store.engine.connect() as conn:
        amounts = conn.execute(
            sa.text(
                "SELECT amount_cents FROM bo_refund WHERE status = 'issued' ORDER BY created_at DESC, id DESC LIMIT 1"
            )
        ).scalar_one()
    assert amounts == 15000


def test_override_governs_the_next_call_without_restart(runtime: Runtime) -> None:
    call = NewCall(tool="search_customers", arguments={"query": "acme"}, agent="a")
    assert runtime.gateway.submit(call).call.status == CallStatus.ALLOWED
    other = build_runtime(
        Settings(
            database_url=str(runtime.store.engine.url.render_as_string(hide_password=False)), policies=REPO / "policies"
        )
    )
    other.gateway.overrides.set(
        "search_customers", risk=Risk.HIGH, action=Action.HOLD, reason="audit week", actor="root"
    )
    other.close()
    assert runtime.gateway.submit(call).call.status == CallStatus.HELD


def test_kill_switch_blocks_act_tools_and_spares_reads(runtime: Runtime) -> None:
    runtime.gateway.overrides.set_kill_switch(True, reason="incident 42", actor="root")
    assert runtime.gateway.submit(_refund(20.0)).call.status == CallStatus.BLOCKED
    read = NewCall(tool="get_customer", arguments={"customer_id": ids.REFUND_CUSTOMER_ID}, agent="a")
    assert runtime.gateway.submit(read).call.status == CallStatus.ALLOWED
    runtime.gateway.overrides.set_kill_switch(False, reason="incident closed", actor="root")
    assert runtime.gateway.submit(_refund(20.0)).call.status == CallStatus.ALLOWED


def test_every_path_leaves_a_verifiable_audit_chain(runtime: Runtime) -> None:
    runtime.gateway.submit(_refund(20.0))
    held = runtime.gateway.submit(_refund(300.0)).call
    runtime.gateway.reject(held.id, BOB, reason="duplicate")
    runtime.gateway.journal.flush()
    with runtime.store.read() as session:
        report = audit.verify(session)
    assert report.ok and report.events >= 3


def test_dead_database_means_no_execution(runtime: Runtime) -> None:
    before = _refunds(runtime)
    dead = Store(sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    runtime.gateway.store = dead
    runtime.gateway.overrides.store = dead
    with pytest.raises(StoreUnavailable):
        runtime.gateway.submit(_refund(20.0))
    assert _refunds(runtime) == before
