"""A SQLite connection per thread for the small reads made on every call (token liveness, overrides, pins).

In the server, checking a connection out of SQLAlchemy's pool and back in costs ~35 µs of CPU (its
locks, events and reset on return), several times the indexed read itself, and the guard makes two
such reads per call. A read on SQLite in WAL mode needs nothing the pool gives: each thread keeps a
connection of its own, taken from the pool once (so it carries the engine's pragmas) and detached.

A connection lives as long as its thread (worker threads come and go): it is closed when the
thread's local storage is dropped, or when the store closes, whichever comes first.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any

from sqlalchemy.engine import Engine


class _Held:
    """One thread's connection; closing happens once, from whoever gets there first."""

    def __init__(self, connection: Any, error: type[Exception]) -> None:
        self.connection = connection
        self.close = weakref.finalize(self, _close, connection, error)


def _close(connection: Any, error: type[Exception]) -> None:
    with contextlib.suppress(error):
        connection.close()


class ThreadReaders:
    """The per-thread connections of one store (``Store.fetch_raw`` uses them on SQLite)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._error: type[Exception] = engine.dialect.loaded_dbapi.Error
        self._local = threading.local()
        self._held: weakref.WeakSet[_Held] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False

    def connection(self) -> Any:
        """This thread's connection, opened on first use.

        Raises:
            The DBAPI's Error, or SQLAlchemy's DBAPIError: it could not be opened, or the store is closed.
        """
        held: _Held | None = getattr(self._local, "held", None)
        if held is not None:
            return held.connection
        pooled = self.engine.raw_connection()
        pooled.detach()  # ours from now on: the pool neither resets nor reuses it
        held = _Held(pooled.dbapi_connection, self._error)
        with self._lock:
            if self._closed:
                held.close()
                raise self._error("the store is closed")
            self._held.add(held)
        self._local.held = held
        return held.connection

    def forget(self) -> None:
        """Drop this thread's connection after an error; the next read opens a fresh one."""
        held: _Held | None = getattr(self._local, "held", None)
        self._local.held = None
        if held is not None:
            held.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            held = list(self._held)
        for each in held:
            each.close()
