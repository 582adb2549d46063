"""An engine for the back office from a database URL, on SQLite or PostgreSQL.

The gateway has its own engine factory; the back office does not import it (tools never import
server), so the few settings that matter for correctness are repeated here:
SQLite writers take the write lock up front (``BEGIN IMMEDIATE``) so a check-then-write such as
"is this invoice still open?" cannot interleave with another writer; readers take no lock.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

READONLY_OPTION = "countersign_readonly"  # the gateway's engine honours the same execution option
_SQLITE_BUSY_TIMEOUT_S = 30


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` (or ``postgres://``) URLs and pick the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; in-memory SQLite (``sqlite://``) shares one connection so data persists."""
    url = normalize_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, **kwargs)
    if url in ("sqlite://", "sqlite:///:memory:"):
        kwargs.setdefault("poolclass", StaticPool)
    else:
        # A connection per worker thread (opening one runs its pragmas again), the most recently used first.
        kwargs = {"pool_size": 20, "max_overflow": 40, "pool_use_lifo": True, **kwargs}
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": _SQLITE_BUSY_TIMEOUT_S}, **kwargs
    )
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = "DEFERRED" if conn.get_execution_options().get(READONLY_OPTION) else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")
