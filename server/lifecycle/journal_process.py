"""The journal's writes in a process of their own (``COUNTERSIGN_JOURNAL_WRITER=process``, the default).

Recording an allowed call (its row and its hash-chained audit event) costs the server about as much
CPU as everything else the guard does for the call, and in the server process that work holds the
GIL the request threads need. A writer process takes it off them: the journal thread pickles each
batch, sends it, and waits for the answer; the writer process runs ``write_batch``.

One writer process serves every journal of the process that started it (the test suite builds
hundreds of gateways), started on first use; it keeps a few stores open by database URL. When it
dies, the write in flight fails (the journal turns unhealthy and retries) and the next write starts
a new one; a batch it committed without answering is not written twice (see ``write_batch``).

It runs in a session of its own and ignores SIGINT and SIGTERM: Ctrl+C and a service manager's stop
reach the server, which still needs the writer for its last batches while it shuts down. The writer
ends when the server closes its pipe, however the server ends.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from multiprocessing.connection import Connection

from server.lifecycle.journal import BatchWriter, Row, write_batch
from server.store.db import Store

logger = logging.getLogger(__name__)

# A write waits this long for the writer's answer (SQLite's busy timeout is 30 s) before giving up on it.
ANSWER_TIMEOUT_SECONDS = 120.0
OPEN_STORES = 4  # databases the writer keeps connections to; more only happens in tests


class WriterProcessError(RuntimeError):
    """The writer process failed to write a batch, or could not be reached."""


class WriterProcess:
    """The server's end: sends batches to the writer process, one at a time, and waits for each answer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._send: Connection | None = None
        self._receive: Connection | None = None
        self._exit_hook = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def write(self, url: str, batch: Sequence[Row]) -> None:
        with self._lock:
            send, receive = self._pipes()
            try:
                send.send((url, list(batch)))
                if not receive.poll(ANSWER_TIMEOUT_SECONDS):
                    raise WriterProcessError(f"no answer within {ANSWER_TIMEOUT_SECONDS:.0f} s")
                ok, problem = receive.recv()
            except (EOFError, OSError, WriterProcessError) as exc:
                self._stop(timeout=0)  # a writer that stopped answering may be stuck: the next write starts a new one
                raise WriterProcessError(f"the journal writer process failed: {exc!r}") from exc
        if not ok:
            raise WriterProcessError(problem)

    def stop(self, timeout: float = 10.0) -> None:
        """Let the writer finish its batch and end (it ends when its pipe closes); kill it after ``timeout``."""
        locked = self._lock.acquire(timeout=timeout)  # a write in flight may hold it (at exit, for good)
        try:
            self._stop(timeout)
        finally:
            if locked:
                self._lock.release()

    def _pipes(self) -> tuple[Connection, Connection]:
        if self._send is not None and self._receive is not None and self._process and self._process.poll() is None:
            return self._send, self._receive
        self._stop(timeout=0)
        process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own module
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stdin is not None and process.stdout is not None
        # Connections own duplicates of the pipe ends, so closing them is all that closing needs.
        self._send = Connection(os.dup(process.stdin.fileno()), readable=False)
        self._receive = Connection(os.dup(process.stdout.fileno()), writable=False)
        process.stdin.close()
        process.stdout.close()
        self._process = process
        if not self._exit_hook:
            atexit.register(self.stop)
            self._exit_hook = True
        return self._send, self._receive

    def _stop(self, timeout: float) -> None:
        for conn in (self._send, self._receive):
            if conn is not None:
                conn.close()
        if self._process is not None:
            try:
                self._process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = self._send = self._receive = None


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


def main() -> None:
    """The writer process: batches arrive pickled on stdin, answers leave on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    incoming = Connection(os.dup(0), writable=False)
    outgoing = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)  # anything printed goes to stderr, never into the answers
    serve(incoming, outgoing)


def serve(incoming: Connection, outgoing: Connection) -> None:
    """Write each batch received and answer (ok, problem), until the server closes the pipe."""
    stores: OrderedDict[str, Store] = OrderedDict()
    try:
        while True:
            try:
                url, batch = incoming.recv()
            except (EOFError, OSError):
                return  # the server is gone
            try:
                write_batch(_store(stores, url), batch)
                answer: tuple[bool, str | None] = (True, None)
            except Exception as exc:  # reported to the server, whose journal turns unhealthy and retries
                answer = (False, f"{type(exc).__name__}: {exc}")
            try:
                outgoing.send(answer)
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


if __name__ == "__main__":
    main()
