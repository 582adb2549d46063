"""The store: owns the engine, applies migrations, and hands out read and write transactions.

Only this module opens connections. Writers get ``BEGIN IMMEDIATE`` on SQLite (see engine.py), so
every compare-and-set in the lifecycle runs under the write lock; on PostgreSQL the compare-and-set
itself (``UPDATE ... WHERE status = :expected``) decides the winner.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlmodel import Session

from server.store.engine import make_engine
from server.store.raw import RawTable, RawTransaction, placeholders
from server.store.thread_readers import ThreadReaders
from server.store.types import utcnow

MIGRATIONS = Path(__file__).parent / "migrations"


def _not_alembic_context_chatter(record: logging.LogRecord) -> bool:
    """Alembic says which dialect and DDL mode it assumes each time it looks at the schema (three times
    per start): noise in an operator's log. Its lines about upgrades it runs stay."""
    return not str(record.msg).startswith(("Context impl ", "Will assume "))


logging.getLogger("alembic.runtime.migration").addFilter(_not_alembic_context_chatter)


class StoreUnavailable(RuntimeError):
    """The database cannot be reached or written. Callers fail closed."""


class UnstorableInput(ValueError):
    """Input the database refuses to hold (PostgreSQL: a NUL character in text). Nothing was written."""

    message = "the input holds characters the database cannot store (such as NUL); nothing was written"


class StoreNotReady(RuntimeError):
    """The database is reachable but its schema is missing or older than this version's."""


def alembic_config(connection: sa.Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> str | None:
    """Bring the schema to the newest revision. Safe to run on every start, from several processes.

    Returns the revision found under the lock, before upgrading (None: an empty database).
    """
    with engine.begin() as connection:  # SQLite: BEGIN IMMEDIATE, the write lock, held to the commit
        if connection.dialect.name == "postgresql":
            # One migrator at a time across instances; released at commit.
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(7358201)"))
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(alembic_config(connection), "head")
        return before


def require_schema(engine: Engine) -> None:
    """Refuse a database this version has not set up, before a query fails on a missing table.

    Raises:
        StoreNotReady: no schema, or an older one (readers never migrate what they read).
        StoreUnavailable: the database cannot be reached.
    """
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    if current is None:
        raise StoreNotReady("the database has no Countersign schema yet; `countersign serve` creates it on start")
    if current != head:
        raise StoreNotReady(
            f"the database schema is at revision {current}, this version needs {head}; "
            "`countersign serve` upgrades it on start"
        )


class Store:
    """Database access for the whole gateway. Thread-safe; one per process."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._raw_tables: dict[str, RawTable] = {}
        # SQLite: the reads made on every call use a connection per thread, not the pool (thread_readers.py).
        self._readers = ThreadReaders(engine) if engine.dialect.name == "sqlite" else None
        self._closed = False

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], datetime] = utcnow, migrate_schema: bool = True) -> Store:
        engine = make_engine(url)
        if migrate_schema:
            migrate(engine)
        return cls(engine, clock=clock)

    @classmethod
    def open_existing(cls, url: str, *, clock: Callable[[], datetime] = utcnow) -> Store:
        """Open a database this version has already set up, for reading it as it is (never migrated).

        Raises:
            StoreNotReady, StoreUnavailable: see :func:`require_schema`.
        """
        engine = make_engine(url)
        try:
            require_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock=clock)

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: commits on success, rolls back on any error."""
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                yield session
        except sa.exc.OperationalError as exc:
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
        except sa.exc.DataError as exc:  # the input, not the database, is at fault: the caller answers 4xx
            raise UnstorableInput(UnstorableInput.message) from exc

    @contextmanager
    def raw_write(self) -> Iterator[RawTransaction]:
        """A write transaction on a pooled DBAPI cursor, for the journal (see raw.py): no ORM, no Core.

        Same rules as ``write``: ``BEGIN IMMEDIATE`` on SQLite, commit on success, roll back on any error.
        """
        dialect = self.engine.dialect
        dbapi = dialect.loaded_dbapi
        try:
            conn = self.engine.raw_connection()
        except (sa.exc.DBAPIError, dbapi.Error) as exc:
            raise StoreUnavailable(f"database unavailable: {exc}") from exc
        try:
            cursor = conn.cursor()
            if dialect.name == "sqlite":
                cursor.execute("BEGIN IMMEDIATE")  # the pool's sqlite3 connections run in autocommit mode
            yield RawTransaction(cursor, dialect, self._raw_tables)
            cursor.close()
            conn.commit()
        except BaseException as exc:
            _quiet_rollback(conn, dbapi.Error)
            if isinstance(exc, dbapi.OperationalError):
                raise StoreUnavailable(f"database unavailable: {exc}") from exc
            raise
        finally:
            conn.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (no write lock on SQLite)."""
        try:
            with self.engine.connect().execution_options(countersign_readonly=True) as conn:
                with Session(bind=conn, expire_on_commit=False) as session:
                    yield session
                conn.rollback()
        except sa.exc.OperationalError as exc:
            raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc
        except sa.exc.DataError as exc:  # e.g. looking up an id with a NUL in it on PostgreSQL
            raise UnstorableInput(UnstorableInput.message) from exc

    def fetch_raw(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """Rows of one read, straight through a DBAPI cursor (``?`` placeholders).

        For lookups on every call (token liveness, overrides): ten times cheaper than a Session, no ORM;
        on SQLite through this thread's own connection, elsewhere through the pool.
        """
        sql = placeholders(sql, self.engine.dialect)
        dbapi = self.engine.dialect.loaded_dbapi
        readers = self._readers
        try:
            conn = readers.connection() if readers is not None else self.engine.raw_connection()
        except (sa.exc.DBAPIError, dbapi.Error) as exc:
            raise StoreUnavailable(f"database unavailable: {exc}") from exc
        try:
            cursor = conn.cursor()
            cursor.execute(sql, params)
            rows = [tuple(row) for row in cursor.fetchall()]
            cursor.close()
        except dbapi.DataError as exc:  # the parameters, not the database, are at fault
            raise UnstorableInput(UnstorableInput.message) from exc
        except dbapi.Error as exc:
            if readers is not None:
                readers.forget()  # whatever broke it, the next read starts on a fresh connection
            raise StoreUnavailable(f"database unavailable: {exc}") from exc
        finally:
            if readers is None:
                conn.close()
        return rows

    @property
    def reads_never_wait(self) -> bool:
        """Whether a small indexed read is a local file access that never waits for a writer (SQLite, WAL).

        Such a read (microseconds) may run on the event loop: handing it to a worker thread costs ten
        times more. Over a network (PostgreSQL) a read can wait for a round trip or a dead server.
        """
        return self.engine.dialect.name == "sqlite"

    def ping(self) -> bool:
        try:
            with self.read() as session:
                session.execute(sa.text("SELECT 1"))
        except StoreUnavailable:
            return False
        return True

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called: background threads stop using the store."""
        return self._closed

    def close(self) -> None:
        """Close the idle connections now, and each one still in use when it is given back.

        A thread may still be in a transaction (a lease heartbeat, a tool run finishing): its connection
        is closed when it returns, as is any a late caller checks out (see ``ClosingQueuePool``).
        """
        self._closed = True
        if self._readers is not None:
            self._readers.close()
        # Not engine.dispose(): it would swap in a fresh pool that keeps what late callers give back.
        self.engine.pool.dispose()


def _quiet_rollback(conn: Any, dbapi_error: type[Exception]) -> None:
    with contextlib.suppress(dbapi_error):  # the connection is already broken; the pool discards it on close
        conn.rollback()
