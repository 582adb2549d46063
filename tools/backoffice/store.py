"""``BackOffice``: the data store handed to every tool (never a global).

Tools read through :meth:`BackOffice.read`, a transaction the database itself keeps read-only and
that is always rolled back (this is how reviewer previews are guaranteed never to write), and change
data through :meth:`BackOffice.write`, one transaction that commits on success and leaves nothing
behind when the tool raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tools.backoffice import tables
from tools.backoffice.engine import READONLY_OPTION, make_engine

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class BackOffice:
    """The demo company's records (customers, orders, invoices, vendors...) in their own ``bo_`` tables.

    Construct with :meth:`create` (creates missing tables) or :meth:`from_url`; pass ``clock`` to pin
    the time effects are stamped with (tests, replays).
    """

    def __init__(self, engine: Engine, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self._clock = clock

    @classmethod
    def create(cls, engine: Engine, *, clock: Clock = utcnow) -> BackOffice:
        """A back office on ``engine``, creating any ``bo_`` table that does not exist yet (safe to repeat)."""
        tables.metadata.create_all(engine, checkfirst=True)
        return cls(engine, clock=clock)

    @classmethod
    def from_url(cls, url: str, *, clock: Clock = utcnow) -> BackOffice:
        """A back office on a new engine for ``url`` (``postgresql://`` URLs get the psycopg driver)."""
        return cls.create(make_engine(url), clock=clock)

    def now(self) -> datetime:
        """The current time (aware, UTC) from the injected clock."""
        return self._clock().astimezone(UTC)

    def today(self) -> date:
        return self.now().date()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection whose transaction cannot write and is always rolled back.

        PostgreSQL enforces it with ``SET TRANSACTION READ ONLY``; SQLite with ``PRAGMA query_only``.
        """
        with self.engine.connect() as conn:
            conn.execution_options(**{READONLY_OPTION: True})
            dialect = conn.dialect.name
            try:
                if dialect == "postgresql":
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                elif dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = ON")
                yield conn
            finally:
                conn.rollback()
                if dialect == "sqlite":
                    # query_only belongs to the pooled connection, not the transaction: reset it.
                    conn.exec_driver_sql("PRAGMA query_only = OFF")
                    conn.rollback()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back entirely if it raises."""
        with self.engine.begin() as conn:
            yield conn

    def is_empty(self) -> bool:
        """True when no ``bo_`` table holds a row (seeding only fills an empty back office)."""
        with self.read() as conn:
            return all(conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() is None for t in _all())

    def dump(self) -> dict[str, list[dict[str, Any]]]:
        """Every row of every ``bo_`` table, in primary-key order: for tests, and to diff before/after."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.read() as conn:
            for table in _all():
                stmt = sa.select(table).order_by(*table.primary_key.columns)
                out[table.name] = [dict(row._mapping) for row in conn.execute(stmt)]
        return out

    def drop(self) -> None:
        """Drop every ``bo_`` table (the gateway's tables are untouched)."""
        tables.metadata.drop_all(self.engine)


def _all() -> list[sa.Table]:
    return list(tables.metadata.sorted_tables)
