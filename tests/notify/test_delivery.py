"""At least once across crashes, once across instances: real processes, real databases, a real receiver."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest

from server.notify.worker import Notifier, deliveries
from server.policy import PolicyHolder
from server.store.db import Store
from server.store.types import utcnow
from tests.clock import Clock
from tests.conftest import POSTGRES_URL, REPO
from tests.core.conftest import hold
from tests.notify.conftest import LEASE, make_notifier
from tests.notify.support import Receiver


def test_worker_killed_between_sending_and_marking_sent_is_redelivered_with_the_same_event_id(
    store: Store, database_url: str, policies: PolicyHolder, notifier: Notifier, hook: Receiver, clock: Clock
) -> None:
    hold(store)
    hook.release = threading.Event()  # the receiver holds its answer: the worker is mid-send
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.notify.worker_proc", database_url, str(policies.directory)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert hook.arrived.wait(90), "the worker never sent the event"  # generous: a loaded machine imports slowly
    finally:
        worker.kill()  # mid-send, or at worst already finished: either way it never marks this claim now
        worker.wait()
        hook.release.set()
    first = hook.received[0].event_id

    clock.now = utcnow() + timedelta(seconds=1)
    assert notifier.run_once() == 0  # the dead worker's claim holds until its lease ends
    clock.now = utcnow() + LEASE + timedelta(seconds=1)
    assert notifier.run_once() == 1
    assert hook.ids() == [first, first]
    assert all(r.signed for r in hook.received)


def test_two_instances_sharing_the_outbox_deliver_each_event_once(
    store: Store, database_url: str, policies: PolicyHolder, hook: Receiver
) -> None:
    calls = [hold(store, arguments={"order_id": f"O-{n}", "amount": 120.0, "currency": "EUR"}) for n in range(12)]
    other = Store.open(database_url, clock=store.clock, migrate_schema=False)
    instances = [make_notifier(store, policies), make_notifier(other, policies)]
    start = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def run(notifier: Notifier) -> None:
        try:
            start.wait()
            for _ in range(20):
                notifier.run_once(limit=3)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    other.close()
    assert errors == []
    assert len(hook.received) == len(calls)
    assert len(set(hook.ids())) == len(calls)


@pytest.mark.slow  # two Python processes start (imports take seconds on a loaded machine)
@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="COUNTERSIGN_TEST_DATABASE_URL is not set")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_worker_processes_on_postgresql_deliver_each_event_once(
    store: Store, database_url: str, policies: PolicyHolder, hook: Receiver
) -> None:
    calls = [hold(store, arguments={"order_id": f"O-{n}", "amount": 10.0, "currency": "EUR"}) for n in range(16)]
    command = [sys.executable, "-m", "tests.notify.worker_proc", database_url, str(policies.directory), "drain"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen(command, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            assert worker.wait(90) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            for pipe in (worker.stdin, worker.stdout):
                if pipe is not None:
                    pipe.close()
    assert sorted(r.event["data"]["call"]["id"] for r in hook.received) == sorted(c.id for c in calls)
    assert len(set(hook.ids())) == len(hook.ids()) == len(calls)  # each event once, none twice
    assert all(row.delivery.status == "sent" for row in deliveries(store))
