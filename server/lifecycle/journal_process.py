"""The journal's writes in a process of their own (``COUNTERSIGN_JOURNAL_WRITER=process``, the default).

Recording an allowed call (its row and its hash-chained audit event) costs the server about as much
CPU as everything else the guard does for the call, and in the server process that work holds the
GIL the request threads need. A writer process takes it off them: the journal thread pickles each
batch, sends it, and waits for the answer; the writer process runs ``write_batch``.

One writer process serves every journal of the process that started it (the test suite builds
hundreds of gateways), started on first use; it keeps a few stores open by database URL. When it
dies, the write in flight fails (the journal turns unhealthy and retries) and the next write starts
a new one; a batch it committed without answering is not written twice (see ``write_batch``).
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from server.lifecycle.journal import BatchWriter, Row, write_batch
from server.store.db import Store

logger = logging.getLogger(__name__)

# A write waits this long for the writer's answer (SQLite's busy timeout is 30 s) before giving up on it.
ANSWER_TIMEOUT_SECONDS = 120.0
OPEN_STORES = 4  # databases the writer keeps connections to; more only happens in tests


class WriterProcessError(RuntimeError):
    """The writer process failed to write a batch, or could not be reached."""


class WriterProcess:
    """The parent's end: sends batches to the writer process, one at a time, and waits for each answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def write(self, url: str, batch: Sequence[Row]) -> None:
        with self._lock:
            conn = self._connection()
            try:
                conn.send((url, list(batch)))
                if not conn.poll(ANSWER_TIMEOUT_SECONDS):
                    raise WriterProcessError(f"no answer within {ANSWER_TIMEOUT_SECONDS:.0f} s")
                ok, problem = conn.recv()
            except (EOFError, OSError, WriterProcessError) as exc:
                self._stop()  # a writer that stopped answering may be stuck: the next write starts a new one
                raise WriterProcessError(f"the journal writer process failed: {exc!r}") from exc
        if not ok:
            raise WriterProcessError(problem)

    def _connection(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        self._stop()
        context = multiprocessing.get_context("spawn")  # no fork: the server has threads and open connections
        parent, child = context.Pipe()
        process = context.Process(target=serve, args=(child,), name="countersign-journal-writer", daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        return parent

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.kill()
            self._process.join(timeout=10)
        self._process = self._conn = None


_SHARED = WriterProcess()


def shared_writer() -> WriterProcess:
    return _SHARED


def can_share(store: Store) -> bool:
    """An in-memory SQLite database exists only in this process; anything else another process can open."""
    url = store.engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def process_writer(store: Store) -> BatchWriter:
    """A ``BatchWriter`` for the journal that writes through the shared writer process."""
    url = store.engine.url.render_as_string(hide_password=False)
    return lambda batch: _SHARED.write(url, batch)


# --- the writer process -------------------------------------------------------------------------------


def serve(conn: Connection) -> None:
    """The writer process's loop: write each batch it receives and answer (ok, problem). Ends with its parent."""
    sys.stdout = sys.stderr  # under `countersign stdio`, stdout is the MCP channel
    stores: OrderedDict[str, Store] = OrderedDict()
    try:
        while True:
            try:
                url, batch = conn.recv()
            except (EOFError, OSError):
                return  # the parent is gone
            try:
                write_batch(_store(stores, url), batch)
                answer: tuple[bool, str | None] = (True, None)
            except Exception as exc:  # reported to the parent, whose journal turns unhealthy and retries
                answer = (False, f"{type(exc).__name__}: {exc}")
            try:
                conn.send(answer)
            except OSError:
                return
    finally:
        for store in stores.values():
            store.close()


def _store(stores: OrderedDict[str, Store], url: str) -> Store:
    store = stores.pop(url, None) or Store.open(url, migrate_schema=False)
    stores[url] = store  # most recently used last
    while len(stores) > OPEN_STORES:
        stores.popitem(last=False)[1].close()
    return store
