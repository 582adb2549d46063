"""Every instance runs the sweep: run at once on two stores sharing the database, each call moves once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import col, select

from server.gateway.admin import AdminDesk
from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.execution import Executor
from server.lifecycle.states import CallStatus
from server.lifecycle.waiting import ChangeBus
from server.overrides import Overrides
from server.store.db import Store
from server.store.models import AuditEvent, ToolCall
from tests.clock import Clock
from tests.core import ledger
from tests.core.conftest import hold
from tools.contract import ToolRegistry

ALICE = Person("alice", "reviewer")
INSTANCES = 4


@pytest.fixture
def stores(store: Store, database_url: str, clock: Clock) -> Iterator[list[Store]]:
    """The test's store and three more on the same database: one per instance, each its own engine."""
    others = [Store.open(database_url, clock=clock) for _ in range(INSTANCES - 1)]
    yield [store, *others]
    for other in others:
        other.close()


def _desk(store: Store) -> AdminDesk:
    executor = Executor(store, ledger.runner(store.engine), lambda tool: tool == ledger.IDEMPOTENT)
    return AdminDesk(store=store, overrides=Overrides(store, ToolRegistry()), executor=executor, bus=ChangeBus())


def _approved(store: Store, tool: str, amount: float) -> str:
    call = hold(store, tool=tool, arguments={"amount": amount, "ref": f"r-{amount}"})
    decisions.approve(store, call.id, ALICE)
    return call.id


def _events(store: Store, call_id: str) -> list[str]:
    with store.read() as session:
        query = select(AuditEvent.event_type).where(AuditEvent.call_id == call_id).order_by(col(AuditEvent.seq))
        return list(session.exec(query).all())


def _status(store: Store, call_id: str) -> str:
    with store.read() as session:
        row = session.get(ToolCall, call_id)
        assert row is not None
        return row.status


def test_sweeps_running_on_every_instance_at_once_move_each_call_exactly_once(
    stores: list[Store], clock: Clock
) -> None:
    store = stores[0]
    ledger.create(store.engine)
    overdue = hold(store, tool=ledger.PLAIN, arguments={"amount": 1.0}, expires=60).id
    unclaimed = _approved(store, ledger.PLAIN, 2.0)  # the approving instance died before running it
    crashed_idempotent = _approved(store, ledger.IDEMPOTENT, 3.0)
    crashed_plain = _approved(store, ledger.PLAIN, 4.0)
    claimer = _desk(store).executor
    assert claimer.claim(crashed_idempotent) is not None and claimer.claim(crashed_plain) is not None
    clock.now = store.now() + timedelta(days=1)  # past the expiry and both leases

    desks = [_desk(each) for each in stores]
    start = threading.Barrier(len(desks))
    failures: list[BaseException] = []

    def sweep(desk: AdminDesk) -> None:
        try:
            start.wait(timeout=30)
            desk.sweep()
        except BaseException as exc:  # reported below, with the instance that raised it
            failures.append(exc)

    threads = [threading.Thread(target=sweep, args=(desk,)) for desk in desks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    assert _status(store, overdue) == CallStatus.EXPIRED
    assert _events(store, overdue).count("expired") == 1
    assert _status(store, unclaimed) == CallStatus.SUCCEEDED
    assert _events(store, unclaimed).count("execution_started") == 1
    assert _status(store, crashed_idempotent) == CallStatus.SUCCEEDED
    assert _events(store, crashed_idempotent).count("execution_retried") == 1
    assert _events(store, crashed_idempotent).count("executed") == 1
    assert ledger.effects(store.engine, _key(store, crashed_idempotent)) == 1
    assert _status(store, crashed_plain) == CallStatus.UNKNOWN_OUTCOME
    assert _events(store, crashed_plain).count("unknown_outcome") == 1
    assert ledger.effects(store.engine) == 2  # the unclaimed plain call and the idempotent retry; nothing twice


def _key(store: Store, call_id: str) -> str:
    with store.read() as session:
        row = session.get(ToolCall, call_id)
        assert row is not None and row.idempotency_key is not None
        return row.idempotency_key
