"""The journal's writes in a process of their own (``COUNTERSIGN_JOURNAL_WRITER=process``, the default).

Recording an allowed call (its row and its hash-chained audit event) costs the server about as much
CPU as everything else the guard does for the call, and in the server process that work holds the
GIL the request threads need. A writer process takes it off them: the journal thread pickles each
batch, sends it, and waits for the answer; the writer process runs ``write_batch``.

One writer process serves every journal of the process that started it (the test suite builds
hundreds of gateways), started with the server (``process_writer``), before calls are accepted; it
keeps a few stores open by database URL. A spare writer, already imported and connected, stands by:
when the writer dies, the write in flight goes to the spare at once and a new spare starts behind it;
a batch the dead writer committed without answering is not written twice (see ``write_batch``).

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


class _Child:
    """One writer process and its two pipe ends; ``owed`` answers it still has to give (warm-ups)."""

    def __init__(self) -> None:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter running our own module
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stdin is not None and process.stdout is not None
        # Connections own duplicates of the pipe ends, so closing them is all that closing needs.
        self.send = Connection(os.dup(process.stdin.fileno()), readable=False)
        self.receive = Connection(os.dup(process.stdout.fileno()), writable=False)
        process.stdin.close()
        process.stdout.close()
        self.process = process
        self.owed = 0

    def alive(self) -> bool:
        return self.process.poll() is None

    def warm(self, url: str) -> None:
        """Ask it to import everything and open ``url`` now (an empty batch), without waiting."""
        self.send.send((url, []))
        self.owed += 1

    def write(self, url: str, batch: Sequence[Row]) -> tuple[bool, str | None]:
        self.send.send((url, list(batch)))
        self.owed += 1
        answer: tuple[bool, str | None] = (True, None)
        while self.owed:
            if not self.receive.poll(ANSWER_TIMEOUT_SECONDS):
                raise WriterProcessError(f"no answer within {ANSWER_TIMEOUT_SECONDS:.0f} s")
            answer = self.receive.recv()
            self.owed -= 1
        return answer

    def stop(self, timeout: float) -> None:
        self.send.close()
        self.receive.close()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class WriterProcess:
    """The server's end: sends batches to the writer process, one at a time, and waits for each answer.

    A spare writer, started and warmed in advance, stands by: when the writer dies, the batch in flight
    goes to the spare at once (no import, no refusal of calls while a new one starts).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._spare: _Child | None = None
        self._exit_hook = False

    @property
    def pid(self) -> int | None:
        return self._child.process.pid if self._child is not None else None

    def start(self, url: str) -> None:
        """Have a writer ready for ``url`` (imported, connected) and a spare warming; call at server start."""
        with self._lock:
            child = self._current(url)
            ok, problem = child.write(url, [])
            if not ok:
                logger.warning("the journal writer could not open the database yet: %s", problem)

    def write(self, url: str, batch: Sequence[Row]) -> None:
        with self._lock:
            for attempt in (1, 2):  # a writer killed mid-batch: the spare takes the batch over at once
                child = self._current(url)
                try:
                    ok, problem = child.write(url, batch)
                    break
                except (EOFError, OSError, WriterProcessError) as exc:
                    self._drop(child)  # a writer that stopped answering may be stuck: the spare replaces it
                    if attempt == 2:
                        raise WriterProcessError(f"the journal writer process failed: {exc!r}") from exc
                    logger.warning("the journal writer process failed (%r); its spare takes over", exc)
        if not ok:
            raise WriterProcessError(problem)

    def stop(self, timeout: float = 10.0) -> None:
        """Let the writer finish its batch and end (it ends when its pipe closes); kill it after ``timeout``."""
        locked = self._lock.acquire(timeout=timeout)  # a write in flight may hold it (at exit, for good)
        try:
            for child in (self._child, self._spare):
                if child is not None:
                    child.stop(timeout)
            self._child = self._spare = None
        finally:
            if locked:
                self._lock.release()

    def _current(self, url: str) -> _Child:
        """The live writer (promoting the spare if the writer died), with a fresh spare warming behind it."""
        if self._child is not None and not self._child.alive():
            self._drop(self._child)
        if self._child is None:
            spare, self._spare = self._spare, None
            self._child = spare if spare is not None and spare.alive() else _Child()
            if spare is not None and self._child is not spare:
                spare.stop(timeout=0)
        if self._spare is None or not self._spare.alive():
            self._spare = _Child()
            try:
                self._spare.warm(url)
            except OSError:
                logger.warning("could not warm the spare journal writer", exc_info=True)
        if not self._exit_hook:
            atexit.register(self.stop)
            self._exit_hook = True
        return self._child

    def _drop(self, child: _Child) -> None:
        child.stop(timeout=0)
        if child is self._child:
            self._child = None


_SHARED = WriterProcess()


def shared_writer() -> WriterProcess:
    return _SHARED


def can_share(store: Store) -> bool:
    """An in-memory SQLite database exists only in this process; anything else another process can open."""
    url = store.engine.url
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def process_writer(store: Store) -> BatchWriter:
    """A ``BatchWriter`` for the journal that writes through the shared writer process, started now:
    the server accepts calls only once a writer is ready (imported, connected) and a spare is warming."""
    url = store.engine.url.render_as_string(hide_password=False)
    _SHARED.start(url)
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
                store = _store(stores, url)  # an empty batch only warms up: imported, connected
                if batch:
                    write_batch(store, batch)
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
