"""Database engines for SQLite and PostgreSQL from one code path.

SQLite: WAL so readers never block the writer, ``synchronous=FULL`` so a commit survives power loss,
and every transaction opened with ``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead
of failing with "database is locked" when a read transaction tries to upgrade.
PostgreSQL: psycopg 3, a small pool, pre-ping so a restarted server is noticed before a call fails.
Both: a pool that closes, once disposed, every connection given back to it (``ClosingQueuePool``).
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry, QueuePool

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and pick the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class ClosingQueuePool(QueuePool):
    """A QueuePool that, once disposed, closes each connection given back to it instead of keeping it.

    SQLAlchemy's ``dispose()`` closes only the idle connections. One checked out at that moment (a lease
    heartbeat renewing, a tool run still going while the store closes) came back into the disposed pool,
    which nobody referenced any more, and stayed open until the garbage collector found it.
    """

    # SQLAlchemy names a pool's logger after its class: keep ours under "sqlalchemy", which it quiets to
    # WARNING, or every dispose would print "Pool disposed" at INFO on the operator's console.
    _sqla_logger_namespace = "sqlalchemy.pool.impl.QueuePool"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._disposed = False
        self._returning = threading.Lock()  # a connection is either kept before dispose() drains, or closed

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        with self._returning:
            if not self._disposed:
                super()._do_return_conn(record)
                return
        try:
            record.close()
        finally:
            self._dec_overflow()  # as QueuePool does for one it has no room for: checkouts stay possible

    def dispose(self) -> None:
        with self._returning:
            self._disposed = True
        super().dispose()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas and pool settings this product relies on."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        # A connection per worker thread, so none is reopened (pragmas and all) under load; the most recently
        # used first, so each call finds a page cache the last one warmed.
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **{"poolclass": ClosingQueuePool, "pool_size": 20, "max_overflow": 40, "pool_use_lifo": True, **kwargs},
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        url, **{"poolclass": ClosingQueuePool, "pool_pre_ping": True, "pool_size": 10, "max_overflow": 20, **kwargs}
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Readers take no lock (WAL); writers take the write lock up front, so they never deadlock upgrading.
        mode = "DEFERRED" if conn.get_execution_options().get("countersign_readonly") else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")
