"""Retry-safe submission: retries attach to the held call, repeats of approved calls are flagged, keys bind."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from server.config import Settings
from server.lifecycle import duplicates
from server.lifecycle.actors import Person
from server.lifecycle.records import NewCall
from server.lifecycle.states import CallStatus
from server.policy.types import Evidence, Justification
from server.runtime import Runtime, build_runtime, seed_demo
from server.store.db import Store
from tests.clock import Clock
from tests.conftest import REPO
from tools.backoffice import ids

ALICE = Person("alice", "reviewer")
SURE = Justification(reason="customer ticket", evidence=(Evidence(source="ticket:T-1"),), confidence=0.95)


@pytest.fixture
def runtime(database_url: str, store: Store) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, policies=REPO / "policies", journal_writer="thread")
    runtime = build_runtime(settings, store=store)
    seed_demo(runtime)
    yield runtime
    runtime.close()


def _refund(amount: float = 400.0, *, agent: str = "support-bot", key: str | None = None, **extra: Any) -> NewCall:
    arguments = {
        "customer_id": ids.REFUND_CUSTOMER_ID,
        "order_id": ids.REFUND_ORDER_ID,
        "amount": amount,
        "currency": "EUR",
        "reason": "damaged on arrival",
        **extra,
    }
    return NewCall(tool="issue_refund", arguments=arguments, agent=agent, justification=SURE, agent_key=key)


def _count(runtime: Runtime, where: str = "1=1") -> int:
    with runtime.store.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM tool_call WHERE {where}")).scalar_one())


def _issued(runtime: Runtime) -> int:
    with runtime.store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM bo_refund WHERE status = 'issued'")).scalar_one())


def test_identical_call_attaches_to_the_undecided_held_call(runtime: Runtime) -> None:
    first = runtime.gateway.submit(_refund())
    again = runtime.gateway.submit(_refund())
    assert first.call.status == CallStatus.HELD
    assert again.call.id == first.call.id and again.attached and again.call.status == CallStatus.HELD
    assert _count(runtime) == 1


def test_twenty_identical_calls_at_once_make_one_held_call(runtime: Runtime) -> None:
    start = threading.Barrier(20)

    def submit(_: int) -> str:
        start.wait(timeout=10)
        return runtime.gateway.submit(_refund()).call.id

    with ThreadPoolExecutor(max_workers=20) as pool:
        call_ids = set(pool.map(submit, range(20)))
    assert len(call_ids) == 1
    assert _count(runtime, "status = 'held'") == 1 and _count(runtime) == 1


def test_calls_differing_in_arguments_or_agent_are_separate_held_calls(runtime: Runtime) -> None:
    one = runtime.gateway.submit(_refund(400.0)).call.id
    other_amount = runtime.gateway.submit(_refund(401.0)).call.id
    other_agent = runtime.gateway.submit(_refund(400.0, agent="billing-bot")).call.id
    assert len({one, other_amount, other_agent}) == 3


def test_a_call_identical_to_a_rejected_one_is_a_new_held_call_not_flagged(runtime: Runtime) -> None:
    first = runtime.gateway.submit(_refund()).call
    runtime.gateway.reject(first.id, ALICE, reason="not damaged")
    again = runtime.gateway.submit(_refund())
    assert again.call.id != first.id
    assert again.call.status == CallStatus.HELD and again.verdict.duplicate_of is None


def test_repeat_of_an_approved_call_is_held_and_names_the_earlier_call(runtime: Runtime) -> None:
    first = runtime.gateway.submit(_refund()).call
    runtime.gateway.approve(first.id, ALICE, override_reason="checked")
    ran = runtime.gateway.get_call(first.id)
    assert ran is not None and ran.status == CallStatus.SUCCEEDED
    issued = _issued(runtime)
    again = runtime.gateway.submit(_refund())
    assert again.call.id != first.id and again.call.status == CallStatus.HELD
    assert again.verdict.duplicate_of == first.id
    assert f"possible duplicate of {first.id}" in again.verdict.reasons[0]
    assert f"/calls/{first.id}" in again.verdict.reasons[0]
    stored = runtime.gateway.get_call(again.call.id)
    assert stored is not None and stored.verdict is not None and stored.verdict["duplicate_of"] == first.id
    assert _issued(runtime) == issued  # the repeat did nothing on its own


def test_repeat_after_the_duplicate_window_is_not_flagged(runtime: Runtime, clock: Clock) -> None:
    first = runtime.gateway.submit(_refund()).call
    runtime.gateway.approve(first.id, ALICE, override_reason="checked")
    clock.advance(hours=25)
    again = runtime.gateway.submit(_refund())
    assert again.verdict.duplicate_of is None


def test_same_idempotency_key_and_arguments_give_the_same_call_even_when_it_ran(runtime: Runtime) -> None:
    issued = _issued(runtime)
    first = runtime.gateway.submit(_refund(20.0, key="order-42-refund"))
    assert first.call.status == CallStatus.ALLOWED
    again = runtime.gateway.submit(_refund(20.0, key="order-42-refund"))
    assert again.call.id == first.call.id and again.attached
    assert _issued(runtime) == issued + 1


def test_same_idempotency_key_with_other_arguments_is_refused(runtime: Runtime) -> None:
    first = runtime.gateway.submit(_refund(400.0, key="k-1")).call
    with pytest.raises(duplicates.KeyReused, match=first.id):
        runtime.gateway.submit(_refund(500.0, key="k-1"))
    assert _count(runtime) == 1


def test_idempotency_keys_belong_to_one_agent(runtime: Runtime) -> None:
    mine = runtime.gateway.submit(_refund(400.0, key="k-1")).call.id
    theirs = runtime.gateway.submit(_refund(500.0, agent="billing-bot", key="k-1")).call.id
    assert mine != theirs


def test_a_keyed_retry_of_a_held_call_attaches_and_the_key_names_it(runtime: Runtime) -> None:
    first = runtime.gateway.submit(_refund()).call
    keyed = runtime.gateway.submit(_refund(key="retry-1")).call
    again = runtime.gateway.submit(_refund(key="retry-1")).call
    assert first.id == keyed.id == again.id


def test_twenty_concurrent_calls_with_one_key_run_an_allowed_refund_once(runtime: Runtime) -> None:
    issued = _issued(runtime)
    start = threading.Barrier(20)

    def submit(_: int) -> str:
        start.wait(timeout=10)
        try:
            return runtime.gateway.submit(_refund(20.0, key="once")).call.id
        except duplicates.KeyInFlight:
            return "in-flight"

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(submit, range(20)))
    assert len(set(answers) - {"in-flight"}) == 1
    assert _issued(runtime) == issued + 1


def test_a_key_whose_first_request_died_is_freed_after_a_while(runtime: Runtime, clock: Clock) -> None:
    reserved = "0" * 32
    duplicates.remember_key(runtime.store, "support-bot", "k-dead", duplicates.submission_key(_refund()), reserved)
    with pytest.raises(duplicates.KeyInFlight):
        runtime.gateway.submit(_refund(key="k-dead"))
    clock.advance(minutes=3)
    made = runtime.gateway.submit(_refund(key="k-dead")).call
    assert made.status == CallStatus.HELD and made.id != reserved
    assert runtime.gateway.submit(_refund(key="k-dead")).call.id == made.id
