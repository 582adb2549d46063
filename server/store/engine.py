"""Database engines for SQLite and PostgreSQL from one code path.

SQLite: WAL so readers never block the writer, ``synchronous=FULL`` so a commit survives power loss,
and every transaction opened with ``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead
of failing with "database is locked" when a read transaction tries to upgrade.
PostgreSQL: psycopg 3, a small pool, pre-ping so a restarted server is noticed before a call fails.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and pick the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas and pool settings this product relies on."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        # A connection per worker thread, so none is reopened (pragmas and all) under load; the most recently
        # used first, so each call finds a page cache the last one warmed.
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **{"pool_size": 20, "max_overflow": 40, "pool_use_lifo": True, **kwargs},
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


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
