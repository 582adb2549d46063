"""Real database failures, injected on the engine: the driver's own OperationalError, raised from the
moment a chosen transaction commits, by every statement after it (as when the database dies then).

    fault = DatabaseDiesAfter(store.engine, "INSERT INTO decision")   # after the decision commits
    ... the request ...
    fault.heal()

It sits in SQLAlchemy's cursor events, below every line of our code: the store, the lifecycle and
the surfaces see exactly what a dropped connection gives them (SQLAlchemy wraps the driver's error
with the statement and its parameters, which must never reach an agent or a reviewer).
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


class DatabaseDiesAfter:
    def __init__(self, engine: Engine, statement_prefix: str) -> None:
        self.engine = engine
        self.prefix = statement_prefix.lower()
        self.dead = threading.Event()
        self._seen: set[int] = set()  # connections whose open transaction ran the statement
        self._error = engine.dialect.loaded_dbapi.OperationalError
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "commit", self._commit)
        sa.event.listen(engine, "rollback", self._rollback)

    def _before(self, conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
        if self.dead.is_set():
            raise self._error("server closed the connection unexpectedly (injected by the test)")
        if statement.lower().lstrip().startswith(self.prefix):
            self._seen.add(id(conn))

    def _commit(self, conn: sa.Connection) -> None:
        if id(conn) in self._seen:
            self.dead.set()

    def _rollback(self, conn: sa.Connection) -> None:
        self._seen.discard(id(conn))

    def heal(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
        sa.event.remove(self.engine, "commit", self._commit)
        sa.event.remove(self.engine, "rollback", self._rollback)  # ``dead`` stays set: it tells that it tripped


class ConnectionDropsOnce:
    """The first statement starting with ``statement_prefix`` gets the driver's OperationalError, once."""

    def __init__(self, engine: Engine, statement_prefix: str) -> None:
        self.engine = engine
        self.prefix = statement_prefix.lower()
        self.dropped = threading.Event()
        self._error = engine.dialect.loaded_dbapi.OperationalError
        sa.event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn: sa.Connection, cursor: Any, statement: str, *args: Any) -> None:
        if not self.dropped.is_set() and statement.lower().lstrip().startswith(self.prefix):
            self.dropped.set()
            raise self._error("server closed the connection unexpectedly (injected by the test)")

    def heal(self) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._before)
