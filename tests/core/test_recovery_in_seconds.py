"""Recovery in seconds: a restarted instance reclaims its own dead claims at once, another instance
takes an expired lease over within lease + grace, a heartbeat keeps a long run claimed, and a keyed
tool survives a dropped connection. Real clock (leases are real time), real SIGKILLed processes.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.execution import Executor
from server.lifecycle.lease import Heartbeat, Leases
from server.lifecycle.states import CallStatus
from server.store.db import Store
from server.store.models import ToolCall
from tests.conftest import REPO
from tests.core import ledger
from tests.core.conftest import hold
from tests.faults import ConnectionDropsOnce
from tests.mcp.support import ServeProcess

ALICE = Person("alice", "reviewer")
POLL = 0.1


@pytest.fixture
def live_store(database_url: str) -> Iterator[Store]:
    store = Store.open(database_url)  # the wall clock: the dead worker's lease is real time too
    ledger.create(store.engine)
    yield store
    store.close()


def _approved(store: Store, tool: str) -> ToolCall:
    call = hold(store, tool=tool, arguments={"amount": 5.0, "ref": "r-5"})
    decisions.approve(store, call.id, ALICE)
    return call


def _executor(store: Store, leases: Leases, **kwargs: object) -> Executor:
    return Executor(
        store,
        ledger.runner(store.engine, **kwargs),
        lambda tool: tool == ledger.IDEMPOTENT,
        leases=leases,
        backoff=0.01,
    )


def _row(store: Store, call_id: str) -> ToolCall:
    with store.read() as session:
        row = session.get(ToolCall, call_id)
        assert row is not None
        return row


def _die_holding(url: str, call_id: str, point: str, instance: str, lease: float) -> None:
    worker = subprocess.run(
        [sys.executable, "-m", "tests.core.crash_worker", url, call_id, point, instance, str(lease)],
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert worker.returncode == -9


def test_a_heartbeat_stops_once_its_store_is_closed_instead_of_reopening_connections(database_url: str) -> None:
    store = Store.open(database_url)
    heartbeat = Heartbeat(store, Leases(heartbeat=0.05))
    renewed = threading.Event()
    renew = heartbeat.renew

    def counting(tokens: list[str]) -> None:
        renewed.set()
        renew(tokens)

    heartbeat.renew = counting  # type: ignore[method-assign]
    heartbeat.hold("call-left-running", "token.left-running")  # a run the process never finished
    thread = heartbeat._thread
    assert thread is not None and renewed.wait(5.0)
    store.close()
    thread.join(timeout=5.0)
    assert not thread.is_alive()
    heartbeat.release("token.left-running")


@pytest.mark.parametrize(
    ("tool", "settled"), [(ledger.IDEMPOTENT, CallStatus.SUCCEEDED), (ledger.PLAIN, CallStatus.UNKNOWN_OUTCOME)]
)
def test_a_restarted_instance_settles_its_dead_claims_at_once(
    live_store: Store, database_url: str, tool: str, settled: CallStatus
) -> None:
    call = _approved(live_store, tool)
    _die_holding(database_url, call.id, "mid_tool", "node-a", lease=300.0)  # a lease nobody could wait out here

    assert _executor(live_store, Leases(instance_id="node-b")).recover() == []  # another instance: the lease holds
    restarted = _executor(live_store, Leases(lease=timedelta(seconds=300), instance_id="node-a"))
    [resolved] = restarted.recover()
    assert resolved.id == call.id and resolved.status == settled
    assert ledger.effects(live_store.engine) <= 1


def test_serve_restarted_on_its_address_settles_its_predecessors_calls_at_once_without_an_instance_id(
    live_store: Store, database_url: str, tmp_path: Path
) -> None:
    serve = ServeProcess(database_url, tmp_path / "serve.log", COUNTERSIGN_EXPIRY_SWEEP_SECONDS="0.2")
    call = _approved(live_store, ledger.PLAIN)
    # The predecessor: `serve` on this host and port, by its default name, killed while the tool ran.
    _die_holding(database_url, call.id, "mid_tool", f"{socket.gethostname()}:{serve.port}", lease=300.0)

    serve.start()  # no COUNTERSIGN_INSTANCE_ID: the same host and port name it the same
    try:
        deadline = time.monotonic() + 20.0  # far inside the 300 s lease: only the name can free the call
        while _row(live_store, call.id).status == CallStatus.EXECUTING and time.monotonic() < deadline:
            threading.Event().wait(POLL)
    finally:
        serve.stop()
    assert _row(live_store, call.id).status == CallStatus.UNKNOWN_OUTCOME
    assert ledger.effects(live_store.engine) <= 1


def test_another_instance_takes_an_expired_lease_over_within_lease_and_grace(
    live_store: Store, database_url: str
) -> None:
    lease, grace = 2.0, 1.0
    call = _approved(live_store, ledger.IDEMPOTENT)
    _die_holding(database_url, call.id, "after_claim", "node-a", lease=lease)
    died = time.monotonic()
    other = _executor(
        live_store, Leases(lease=timedelta(seconds=lease), grace=timedelta(seconds=grace), instance_id="node-b")
    )

    deadline = died + lease + grace + 5.0
    resolved: list[ToolCall] = []
    while not resolved and time.monotonic() < deadline:  # the sweep, every POLL seconds
        resolved = other.recover()
        threading.Event().wait(POLL)
    assert [c.status for c in resolved] == [CallStatus.SUCCEEDED]
    assert time.monotonic() - died <= lease + grace + 3.0
    assert ledger.effects(live_store.engine, call.idempotency_key) == 1


def test_a_heartbeat_keeps_a_run_longer_than_its_lease_claimed(live_store: Store) -> None:
    call = _approved(live_store, ledger.PLAIN)
    other = _executor(live_store, Leases(grace=timedelta(0), instance_id="node-b"))
    taken_over: list[list[ToolCall]] = []

    def outlive_the_lease() -> None:
        first = _row(live_store, call.id).lease_until
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and _row(live_store, call.id).lease_until == first:
            threading.Event().wait(POLL)  # until a heartbeat pushed the lease forward
        assert first is not None and time.monotonic() < deadline
        while time.monotonic() < deadline and live_store.now() < first:
            threading.Event().wait(POLL)  # past the first lease: only the heartbeat holds the claim now
        taken_over.append(other.recover())

    runner = _executor(
        live_store,
        Leases(lease=timedelta(seconds=1), heartbeat=0.2, instance_id="node-a"),
        before_effect=outlive_the_lease,
    )
    done = runner.execute(call.id)
    assert done is not None and done.status == CallStatus.SUCCEEDED
    assert taken_over == [[]]
    assert ledger.effects(live_store.engine) == 1


@pytest.mark.parametrize(
    ("tool", "settled"), [(ledger.IDEMPOTENT, CallStatus.SUCCEEDED), (ledger.PLAIN, CallStatus.UNKNOWN_OUTCOME)]
)
def test_a_dropped_connection_retries_a_keyed_tool_once_and_never_a_plain_one(
    live_store: Store, tool: str, settled: CallStatus
) -> None:
    call = _approved(live_store, tool)
    fault = ConnectionDropsOnce(
        live_store.engine, "INSERT INTO test_ledger" if tool == ledger.PLAIN else "SELECT test_ledger"
    )
    try:
        done = _executor(live_store, Leases()).execute(call.id)
    finally:
        fault.heal()
    assert fault.dropped.is_set()
    assert done is not None and done.status == settled
    assert ledger.effects(live_store.engine) == (1 if tool == ledger.IDEMPOTENT else 0)
    assert "SELECT" not in (done.error or "") and "INSERT" not in (done.error or "")
