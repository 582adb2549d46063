"""Liveness and readiness: what `/livez`, `/readyz` and `/healthz` answer, decided here, served by web/.

- live: the process serves requests (no I/O at all; a slow database must not get the pod killed).
- ready: the database answers AND a write commits within ``health_write_deadline_seconds``, the schema is
  the one this version needs, a policy is loaded, every upstream marked ``required: true`` is connected,
  the allowed-call journal is writing, and the built-in tools' back office answers when it has a database
  of its own (``COUNTERSIGN_BACKOFFICE_URL``). Each failed check is one reason, in plain words, in the body.

The write probe is a real commit (``UPDATE alembic_version SET version_num = version_num``) under a short
deadline: a database that answers ``SELECT 1`` while every write waits on a lock (an external writer on
SQLite, a table lock or a read-only standby on PostgreSQL) is not ready, because calls would hang and fail.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext

from server.store.db import Store
from server.store.schema import head_revision

if TYPE_CHECKING:
    from server.runtime import Runtime

DEFAULT_WRITE_DEADLINE = 1.0


@dataclass(frozen=True)
class Readiness:
    """The outcome of one readiness check: ``reasons`` is empty exactly when ready."""

    reasons: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return not self.reasons

    def as_body(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "not_ready", "reasons": self.reasons, "checks": self.checks}


def write_commits(store: Store, deadline: float = DEFAULT_WRITE_DEADLINE) -> str | None:
    """Commit one no-op write within ``deadline`` seconds; None when it did, else why not (one line)."""
    started = time.monotonic()
    dialect = store.engine.dialect
    dbapi_error = dialect.loaded_dbapi.Error
    try:
        conn = store.engine.raw_connection()
    except (sa.exc.DBAPIError, dbapi_error) as exc:
        return f"the database cannot be reached: {_first_line(exc)}"
    try:
        cursor = conn.cursor()
        if dialect.name == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout = {max(1, int(deadline * 1000))}")
            try:
                cursor.execute("BEGIN IMMEDIATE")
                cursor.execute("UPDATE alembic_version SET version_num = version_num")
                conn.commit()
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {_sqlite_default_busy_ms()}")
        else:
            ms = max(1, int(deadline * 1000))
            cursor.execute(f"SET LOCAL lock_timeout = {ms}")
            cursor.execute(f"SET LOCAL statement_timeout = {ms}")
            # What every call's write takes on the tables calls live in: a table lock held elsewhere shows here.
            cursor.execute("LOCK TABLE tool_call, audit_event IN ROW EXCLUSIVE MODE")
            cursor.execute("UPDATE alembic_version SET version_num = version_num")
            conn.commit()
        cursor.close()
    except dbapi_error as exc:
        with contextlib.suppress(dbapi_error):
            conn.rollback()
        waited = time.monotonic() - started
        return f"a write did not commit within {deadline:g} s (waited {waited:.1f} s): {_first_line(exc)}"
    finally:
        conn.close()
    if time.monotonic() - started > deadline:
        return f"a write took {time.monotonic() - started:.1f} s to commit (deadline {deadline:g} s)"
    return None


def schema_problem(store: Store) -> str | None:
    """None when the database's schema is this version's; else what is wrong and what to run."""
    try:
        with store.engine.connect().execution_options(countersign_readonly=True) as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    except sa.exc.SQLAlchemyError as exc:
        return f"the schema revision cannot be read: {_first_line(exc)}"
    head = head_revision()
    if current == head:
        return None
    return f"the database schema is at {current or 'nothing'}, this version needs {head}: run `countersign migrate`"


def readiness(runtime: Runtime) -> Readiness:
    """Every readiness check, each failure a reason. Blocking (database I/O): call it from a worker thread."""
    reasons: list[str] = []
    checks: dict[str, bool] = {}

    def check(name: str, problem: str | None) -> None:
        checks[name] = problem is None
        if problem is not None:
            reasons.append(f"{name}: {problem}")

    check("database", write_commits(runtime.store, runtime.settings.health_write_deadline_seconds))
    check("schema", schema_problem(runtime.store))  # a read: answers even while writes wait on a lock
    policies = runtime.policies
    if policies.current() is None:
        error = policies.last_error
        check("policy", f"no policy is loaded from {policies.directory}" + (f": {error}" if error else ""))
    else:
        check("policy", None)
    check("upstreams", _required_upstreams_down(runtime))
    check("journal", None if runtime.gateway.journal.healthy else "the allowed-call journal cannot write")
    if runtime.close_office is not None:  # its own database; otherwise it is the one checked above
        check("back_office", back_office_problem(runtime.office.engine))
    return Readiness(reasons, checks)


def back_office_problem(engine: sa.Engine) -> str | None:
    """None when the built-in tools' own back office database answers a read; else why not (one line)."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return f"the back office database (COUNTERSIGN_BACKOFFICE_URL) cannot be read: {_first_line(exc)}"
    return None


def healthy(runtime: Runtime) -> bool:
    """What `/healthz` answers: the journal writes and a write commits within the deadline."""
    if not runtime.gateway.journal.healthy:
        return False
    return write_commits(runtime.store, runtime.settings.health_write_deadline_seconds) is None


def _required_upstreams_down(runtime: Runtime) -> str | None:
    hub = runtime.hub
    if hub is None:
        return None
    down = [
        f"{name} ({state['state']})"
        for name, state in sorted(hub.status().items())
        if state["required"] and state["state"] != "up"
    ]
    return f"required upstreams not connected: {', '.join(down)}" if down else None


def _sqlite_default_busy_ms() -> int:
    from server.store.engine import SQLITE_BUSY_TIMEOUT_MS

    return SQLITE_BUSY_TIMEOUT_MS


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return (text.splitlines() or ["error"])[0][:200]
