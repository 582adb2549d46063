"""The PostgreSQL change feed in one process: two feeds on one database stand for two instances."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest

from server.lifecycle.waiting import ChangeBus
from server.store.notify_pg import ChangeFeed, libpq_url, listener_name
from tests.conftest import POSTGRES_URL

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="COUNTERSIGN_TEST_DATABASE_URL is not set"),
]

WAIT = 10.0  # seconds: bound on every wait below


def _until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    done = threading.Event()
    deadline = threading.Timer(timeout, done.set)
    deadline.start()
    try:
        while not done.is_set():
            if condition():
                return True
            done.wait(0.01)
        return condition()
    finally:
        deadline.cancel()


class Heard:
    """What a bus's listeners were told, in order."""

    def __init__(self, bus: ChangeBus) -> None:
        self.changes: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        bus.add_listener(lambda call_id, status: self.changes.put((call_id, status)))

    def next(self) -> tuple[str, str]:
        return self.changes.get(timeout=WAIT)

    def empty(self) -> bool:
        return self.changes.empty()


@pytest.fixture
def feeds() -> Iterator[tuple[ChangeBus, ChangeBus, ChangeFeed, ChangeFeed]]:
    """Two buses, each with its own feed on the test database: instance A and instance B."""
    a_bus, b_bus = ChangeBus(), ChangeBus()
    a_feed = ChangeFeed(POSTGRES_URL, a_bus, retry_seconds=0.05).start()
    b_feed = ChangeFeed(POSTGRES_URL, b_bus, retry_seconds=0.05).start()
    try:
        assert _until(lambda: a_bus.remote_live and b_bus.remote_live)
        yield a_bus, b_bus, a_feed, b_feed
    finally:
        a_feed.close()
        b_feed.close()


def test_a_change_committed_on_one_instance_is_published_on_the_other_as_remote(
    feeds: tuple[ChangeBus, ChangeBus, ChangeFeed, ChangeFeed],
) -> None:
    a_bus, b_bus, _, _ = feeds
    heard_on_a, heard_on_b = Heard(a_bus), Heard(b_bus)
    a_bus.publish("call-1", "succeeded")

    assert heard_on_a.next() == ("call-1", "succeeded")  # its own, once
    assert heard_on_b.next() == ("call-1", "succeeded")
    b_bus.publish("call-2", "rejected")  # and back: the remote publish on B was not sent on again
    assert heard_on_a.next() == ("call-2", "rejected")
    assert heard_on_b.next() == ("call-2", "rejected")
    assert heard_on_a.empty() and heard_on_b.empty()


def test_a_killed_listener_connection_is_reopened_and_waiters_are_told_both_times(
    feeds: tuple[ChangeBus, ChangeBus, ChangeFeed, ChangeFeed],
) -> None:
    a_bus, b_bus, _, _ = feeds
    liveness: list[bool] = []
    original = a_bus.set_remote_live
    a_bus.set_remote_live = lambda live: (liveness.append(live), original(live))[1]  # type: ignore[method-assign]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (listener_name(),),
        ).fetchall()

    assert len(killed) == 2  # both feeds live in this process, so both listeners go
    assert _until(lambda: liveness[:1] == [False] and a_bus.remote_live)
    heard_on_a = Heard(a_bus)
    b_bus.publish("call-3", "succeeded")
    assert heard_on_a.next() == ("call-3", "succeeded")


def test_only_postgresql_urls_get_a_feed() -> None:
    assert libpq_url("sqlite:///./countersign.db") is None
    assert ChangeFeed.for_url("sqlite:///./countersign.db", ChangeBus()) is None
    url = libpq_url("postgresql+psycopg://u:secret@db:5432/c?options=-csearch_path%3Dx")
    assert url == "postgresql://u:secret@db:5432/c?options=-csearch_path%3Dx"


def test_allowed_calls_are_not_announced_to_other_instances(
    feeds: tuple[ChangeBus, ChangeBus, ChangeFeed, ChangeFeed],
) -> None:
    a_bus, b_bus, _, _ = feeds
    heard_on_b = Heard(b_bus)
    a_bus.publish("allowed-1", "succeeded", forward=False)  # answered inline: nobody elsewhere waits for it
    a_bus.publish("held-1", "held")

    assert heard_on_b.next() == ("held-1", "held")
    assert heard_on_b.empty()


def test_many_changes_queued_at_once_all_arrive(feeds: tuple[ChangeBus, ChangeBus, ChangeFeed, ChangeFeed]) -> None:
    a_bus, b_bus, _, _ = feeds
    heard_on_b = Heard(b_bus)
    sent = [(f"call-{number}", "succeeded") for number in range(200)]
    for call_id, status in sent:
        a_bus.publish(call_id, status)

    assert sorted(heard_on_b.next() for _ in sent) == sorted(sent)


def test_deployments_in_separate_schemas_of_one_database_do_not_hear_each_other() -> None:
    sep = "&" if "?" in POSTGRES_URL else "?"
    buses = {schema: ChangeBus() for schema in ("deploy_a", "deploy_b")}
    feeds = [
        ChangeFeed(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}", bus, retry_seconds=0.05).start()
        for schema, bus in buses.items()
    ]
    same_schema = ChangeBus()  # a second instance of deployment A: it must still hear A
    feeds.append(ChangeFeed(f"{POSTGRES_URL}{sep}options=-csearch_path%3Ddeploy_a", same_schema).start())
    try:
        assert _until(lambda: all(bus.remote_live for bus in (*buses.values(), same_schema)))
        heard_on_b, heard_on_a_too = Heard(buses["deploy_b"]), Heard(same_schema)
        buses["deploy_a"].publish("call-a", "approved")
        assert heard_on_a_too.next() == ("call-a", "approved")
        buses["deploy_b"].publish("call-b", "approved")  # B hears its own, and nothing of A's before it
        assert heard_on_b.next() == ("call-b", "approved")
        assert heard_on_a_too.empty()
    finally:
        for feed in feeds:
            feed.close()
