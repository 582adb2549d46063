"""The per-call reads on SQLite use one connection per thread (server/store/thread_readers.py)."""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.store.db import Store, StoreUnavailable
from server.store.thread_readers import ThreadReaders

LOOKUP = "SELECT value FROM setting WHERE key = ?"


def _sqlite_store(tmp_path: Path) -> Store:
    return Store.open(f"sqlite:///{tmp_path / 'readers.db'}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite only, here: it stands in for the suite's two-backend ``store`` (PostgreSQL keeps the pool)."""
    opened = _sqlite_store(tmp_path)
    yield opened
    opened.close()


def _readers(store: Store) -> ThreadReaders:
    readers = store._readers
    assert readers is not None
    return readers


def _in_thread(work: Any) -> Any:
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(work()))
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()
    return box[0]


def _is_closed(connection: sqlite3.Connection) -> bool:
    try:
        connection.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


def test_a_thread_reads_through_the_same_connection_every_time_and_sees_new_commits(store: Store) -> None:
    first = _readers(store).connection()
    assert store.fetch_raw(LOOKUP, ("kill_switch",)) == []
    with store.raw_write() as tx:  # another connection commits; the reader's next read sees it
        tx.execute("INSERT INTO setting (key, value, updated_at) VALUES (?, ?, ?)", ("k", '"v"', "2026-01-01"))
    assert store.fetch_raw(LOOKUP, ("k",)) == [('"v"',)]
    assert _readers(store).connection() is first


def test_each_thread_gets_its_own_connection(store: Store) -> None:
    here = _readers(store).connection()
    there = _in_thread(lambda: _readers(store).connection())
    assert there is not here


def test_a_read_leaves_no_transaction_open_so_the_wal_can_be_checkpointed(store: Store) -> None:
    store.fetch_raw(LOOKUP, ("kill_switch",))
    assert not _readers(store).connection().in_transaction


def test_closing_the_store_closes_every_threads_connection_and_later_reads_fail_closed(tmp_path: Path) -> None:
    store = _sqlite_store(tmp_path)
    here = _readers(store).connection()
    there = _in_thread(lambda: (store.fetch_raw("SELECT 1", ()), _readers(store).connection())[1])
    store.close()
    assert _is_closed(here) and _is_closed(there)
    with pytest.raises(StoreUnavailable):
        store.fetch_raw("SELECT 1", ())
    with pytest.raises(StoreUnavailable):  # and again: the dropped connection is not reopened after close
        store.fetch_raw("SELECT 1", ())


def test_a_finished_threads_connection_is_closed_with_it(store: Store) -> None:
    connection = _in_thread(lambda: _readers(store).connection())
    gc.collect()  # the thread's local storage went with the thread
    assert _is_closed(connection)


def test_a_broken_connection_fails_one_read_and_the_next_read_opens_a_fresh_one(store: Store) -> None:
    broken = _readers(store).connection()
    broken.close()
    with pytest.raises(StoreUnavailable):
        store.fetch_raw("SELECT 1", ())
    assert store.fetch_raw("SELECT 1", ()) == [(1,)]
    assert _readers(store).connection() is not broken


def test_postgresql_reads_keep_using_the_pool(database_url: str) -> None:
    store = Store.open(database_url)
    try:
        assert (store._readers is None) == database_url.startswith("postgresql")
        assert store.fetch_raw("SELECT 1", ()) == [(1,)]
    finally:
        store.close()
