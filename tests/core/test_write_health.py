"""The write check behind /healthz: healthy when writes commit, not while an external writer holds the lock."""

from __future__ import annotations

import sqlite3

import pytest

from server.lifecycle.health import writes_commit
from server.store.db import Store


def test_writes_commit_on_a_healthy_database(store: Store) -> None:
    assert writes_commit(store, deadline=5.0)


def test_the_write_check_fails_within_its_deadline_under_an_external_write_lock(store: Store) -> None:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("an external writer's lock is SQLite's failure mode")
    path = store.engine.url.database
    assert path is not None
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN IMMEDIATE")  # another process's writer, holding the lock
    try:
        assert not writes_commit(store, deadline=0.5)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
