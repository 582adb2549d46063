"""Execute once: claims, hash binding, concurrency and crash recovery."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.execution import Executor
from server.lifecycle.states import CallStatus
from server.store import audit
from server.store.db import Store
from server.store.models import ToolCall
from tests.conftest import REPO
from tests.core import ledger
from tests.core.conftest import Clock, hold

ALICE = Person("alice", "reviewer")


def _approved(store: Store, tool: str, amount: float = 10.0) -> ToolCall:
    call = hold(store, tool=tool, arguments={"amount": amount, "ref": f"r-{amount}"})
    decisions.approve(store, call.id, ALICE)
    return call


def _executor(store: Store, **kwargs: Callable[[], None]) -> Executor:
    return Executor(store, ledger.runner(store.engine, **kwargs), lambda tool: tool == ledger.IDEMPOTENT)


def _row(store: Store, call_id: str) -> ToolCall:
    with store.read() as session:
        row = session.get(ToolCall, call_id)
        assert row is not None
        return row


def test_approved_call_runs_once_and_stores_its_result(store: Store) -> None:
    ledger.create(store.engine)
    call = _approved(store, ledger.IDEMPOTENT)
    executor = _executor(store)
    done = executor.execute(call.id)
    assert done is not None and done.status == CallStatus.SUCCEEDED
    assert executor.execute(call.id) is None
    assert ledger.effects(store.engine) == 1
    assert _row(store, call.id).result == {"paid": 10.0}


def test_held_call_never_executes(store: Store) -> None:
    ledger.create(store.engine)
    call = hold(store, tool=ledger.IDEMPOTENT, arguments={"amount": 5.0})
    assert _executor(store).execute(call.id) is None
    assert ledger.effects(store.engine) == 0


def test_rejected_call_never_executes(store: Store) -> None:
    ledger.create(store.engine)
    call = hold(store, tool=ledger.PLAIN, arguments={"amount": 5.0})
    decisions.reject(store, call.id, ALICE, reason="no")
    assert _executor(store).execute(call.id) is None
    assert ledger.effects(store.engine) == 0


def test_arguments_changed_after_approval_never_run(store: Store) -> None:
    ledger.create(store.engine)
    call = _approved(store, ledger.PLAIN)
    with store.write() as session:
        row = session.get(ToolCall, call.id)
        assert row is not None
        row.arguments = '{"amount":99999.0}'
        session.add(row)
    with pytest.raises(RuntimeError, match="approved hash"):
        _executor(store).execute(call.id)
    assert ledger.effects(store.engine) == 0


def test_concurrent_executors_run_a_call_exactly_once(store: Store) -> None:
    ledger.create(store.engine)
    calls = [_approved(store, ledger.PLAIN, amount=float(i + 1)) for i in range(5)]
    executor = _executor(store)
    barrier = threading.Barrier(6)

    def worker() -> None:
        barrier.wait(timeout=10)
        for call in calls:
            executor.execute(call.id)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert ledger.effects(store.engine) == len(calls)
    assert {_row(store, c.id).status for c in calls} == {CallStatus.SUCCEEDED}


def test_concurrent_decisions_give_one_winner_and_one_event_each(store: Store) -> None:
    calls = [hold(store) for _ in range(8)]
    people = [Person(f"p{i}", "reviewer") for i in range(6)]
    barrier = threading.Barrier(len(people))
    wins: list[tuple[str, str]] = []
    lock = threading.Lock()

    def decide(index: int, person: Person) -> None:
        barrier.wait(timeout=10)
        for call in calls:
            try:
                if index % 2:
                    decisions.approve(store, call.id, person)
                    kind = "approve"
                else:
                    decisions.reject(store, call.id, person, reason="race")
                    kind = "reject"
            except decisions.Conflict:
                continue
            with lock:
                wins.append((call.id, kind))

    threads = [threading.Thread(target=decide, args=(i, p)) for i, p in enumerate(people)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(call_id for call_id, _ in wins) == sorted(c.id for c in calls)
    for call_id, kind in wins:
        row = _row(store, call_id)
        assert row.status == (CallStatus.APPROVED if kind == "approve" else CallStatus.REJECTED)
        assert len(decisions.decisions_for(store, call_id)) == 1
    with store.read() as session:
        report = audit.verify(session)
    assert report.ok and report.events == 2 * len(calls)


def _crash(url: str, call_id: str, point: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.core.crash_worker", url, call_id, point],
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return proc.returncode


CRASH_POINTS = ["after_claim", "mid_tool", "after_effect", "after_finish"]


@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_recovery_never_double_executes_an_idempotent_tool(
    store: Store, database_url: str, clock: Clock, point: str
) -> None:
    ledger.create(store.engine)
    call = _approved(store, ledger.IDEMPOTENT)
    assert _crash(database_url, call.id, point) == -9
    clock.now = store.now() + timedelta(days=400)  # far past any lease the worker took on the real clock
    _executor(store).recover()
    assert _row(store, call.id).status == CallStatus.SUCCEEDED
    assert ledger.effects(store.engine, call.idempotency_key) == 1


@pytest.mark.parametrize("point", ["after_claim", "mid_tool", "after_effect"])
def test_crash_mid_execution_of_a_plain_tool_becomes_unknown_outcome(
    store: Store, database_url: str, clock: Clock, point: str
) -> None:
    ledger.create(store.engine)
    call = _approved(store, ledger.PLAIN)
    assert _crash(database_url, call.id, point) == -9
    clock.now = store.now() + timedelta(days=400)
    _executor(store).recover()
    row = _row(store, call.id)
    assert row.status == CallStatus.UNKNOWN_OUTCOME
    assert ledger.effects(store.engine) <= 1
    assert _executor(store).execute(call.id) is None  # never retried blindly


def test_negative_control_blind_retry_of_a_plain_tool_is_caught(store: Store, database_url: str, clock: Clock) -> None:
    """If recovery retried a non-idempotent tool, the ledger would show two effects: the check above would fail."""
    ledger.create(store.engine)
    call = _approved(store, ledger.PLAIN)
    assert _crash(database_url, call.id, "after_effect") == -9
    clock.now = store.now() + timedelta(days=400)
    blind = Executor(store, ledger.runner(store.engine), lambda tool: True)  # pretends every tool is idempotent
    blind.recover()
    assert ledger.effects(store.engine) == 2


def test_recovery_leaves_calls_with_a_live_lease_alone(store: Store) -> None:
    ledger.create(store.engine)
    call = _approved(store, ledger.PLAIN)
    executor = _executor(store)
    assert executor.claim(call.id) is not None
    assert executor.recover() == []
    assert _row(store, call.id).status == CallStatus.EXECUTING
