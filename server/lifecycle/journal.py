"""Group commit for allowed calls: the record of a call that ran at once is written in batches.

Allowed calls are the hot path ("the guard must cost next to nothing"), and a synchronous commit
costs an fsync per call. So an allowed call's row and its audit event are queued and committed by
one background thread, many calls per transaction (each call still gets its row and its one event in
the same transaction). The price is a window of ``flush_interval`` in which a crash of the process
can lose the record of calls that already ran; held calls and decisions never take this path: they
are committed before anyone is told.

Where the batch is written is the ``writer``'s business: in this process (``write_batch``), or in a
writer process (``journal_process.py``) so the server's own threads never pay for it.

Fail closed: when a write fails, the journal turns unhealthy and the gateway refuses allowed calls
until a later write succeeds; queued records are kept and retried, never dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from server.lifecycle.records import first_event
from server.store import audit
from server.store.db import Store
from server.store.models import ToolCall

logger = logging.getLogger(__name__)

Row = Mapping[str, Any]
# Writes one batch durably, all or nothing; raises when it could not.
BatchWriter = Callable[[Sequence[Row]], None]
RETRY_AFTER_SECONDS = 1.0


class Journal:
    def __init__(
        self,
        store: Store,
        *,
        writer: BatchWriter | None = None,
        flush_interval: float = 0.02,
        max_batch: int = 500,
    ) -> None:
        self.store = store
        self.writer: BatchWriter = writer or (lambda batch: write_batch(self.store, batch))
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self._queue: deque[Row] = deque()
        self._cond = threading.Condition()
        self._healthy = True
        self._closed = False
        self._flushing = False
        # Set by flush() and close() to cut the batching pause short; appends do not, or batches would be 1 long.
        self._hurry = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="countersign-journal", daemon=True)
        self._thread.start()

    @property
    def healthy(self) -> bool:
        return self._healthy

    def backlog(self) -> tuple[int, Any]:
        """Rows queued and not yet committed, and the ``created_at`` of the oldest (None when empty); for metrics."""
        with self._cond:
            return len(self._queue), self._queue[0].get("created_at") if self._queue else None

    def append(self, row: Row, *, keep_result: bool = True) -> None:
        """Queue a call that already ran: its whole row (``records.new_row``), which must not change after.

        ``keep_result=False`` stores its outcome but not its output.
        """
        if not keep_result:
            row = {**row, "result": None}
        with self._cond:
            if self._closed:
                raise RuntimeError("journal is closed")
            self._queue.append(row)
            if len(self._queue) == 1:
                self._cond.notify_all()  # wake the writer only when work appears

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued so far is committed. False on timeout or failure (no retry awaited)."""
        with self._cond:
            if self._written():
                return self._healthy  # nothing to wait for: leave the writer's batching pause alone
            self._hurry.set()
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._written() or not self._healthy, timeout)
            return self._written() and self._healthy

    def wait_until_written(self, timeout: float) -> bool:
        """Block until everything queued is committed, retries included. False if that took too long."""
        self._hurry.set()
        with self._cond:
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._written() and self._healthy, timeout)

    def _written(self) -> bool:
        return not self._queue and not self._flushing

    def close(self) -> None:
        self.flush()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._hurry.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue) or self._closed)
                if self._closed and not self._queue:
                    return
            # Let more calls arrive so one transaction and one fsync cover them all.
            self._hurry.wait(timeout=self.flush_interval)
            self._hurry.clear()
            with self._cond:
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch))]
                self._flushing = True
            ok = self._write(batch)
            with self._cond:
                if not ok:
                    self._queue.extendleft(reversed(batch))
                self._flushing = False
                self._healthy = ok
                self._cond.notify_all()
            if not ok:
                with self._cond:
                    self._cond.wait(timeout=RETRY_AFTER_SECONDS)  # back off before retrying a failing database

    def _write(self, batch: list[Row]) -> bool:
        try:
            self.writer(batch)
        except Exception:  # a dead database must not kill the journal thread; it retries and reports unhealthy
            logger.exception("could not record %d allowed calls; refusing allowed calls until it recovers", len(batch))
            return False
        return True


_TABLE: sa.Table = ToolCall.__table__  # type: ignore[attr-defined]


def write_batch(store: Store, batch: Sequence[Row]) -> None:
    """Write allowed calls' rows and their audit events in one transaction, straight through the DBAPI.

    A batch is all or nothing, so a batch whose first call is already stored was committed by an
    attempt whose answer got lost (a writer killed after COMMIT): it is not written twice.
    """
    if not batch:
        return
    with store.raw_write() as tx:
        tx.execute("SELECT 1 FROM tool_call WHERE id = ?", (batch[0]["id"],))
        if tx.fetchone() is not None:
            logger.warning("%d allowed calls were already recorded; not writing them twice", len(batch))
            return
        tx.insert(_TABLE, batch)
        audit.append_many(tx, [first_event(row, event_type="allowed", reason=_reason(row)) for row in batch])


def _reason(row: Row) -> str:
    return "; ".join((row["verdict"] or {}).get("reasons", []))
