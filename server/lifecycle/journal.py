"""Group commit for allowed calls: the record of a call that ran at once is written in batches.

Allowed calls are the hot path ("the guard must cost next to nothing"), and a synchronous commit
costs an fsync per call. So an allowed call's row and its audit event are queued and committed by
one background thread, many calls per transaction (each call still gets its row and its one event in
the same transaction). The price is a window of ``flush_interval`` in which a crash of the process
can lose the record of calls that already ran; held calls and decisions never take this path: they
are committed before anyone is told.

Fail closed: when a flush fails, the journal turns unhealthy and the gateway refuses allowed calls
until a later flush succeeds; queued records are kept and retried, never dropped.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

import sqlalchemy as sa

from server.lifecycle.records import first_event
from server.store import audit
from server.store.db import Store
from server.store.models import ToolCall

logger = logging.getLogger(__name__)


class Journal:
    def __init__(self, store: Store, *, flush_interval: float = 0.02, max_batch: int = 500) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self._queue: deque[tuple[ToolCall, bool]] = deque()
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

    def append(self, row: ToolCall, *, keep_result: bool = True) -> None:
        """Queue a call that already ran. ``keep_result=False`` stores its outcome but not its output."""
        with self._cond:
            if self._closed:
                raise RuntimeError("journal is closed")
            self._queue.append((row, keep_result))
            if len(self._queue) == 1:
                self._cond.notify_all()  # wake the writer only when work appears

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued so far is committed. False on timeout or failure."""
        self._hurry.set()
        with self._cond:
            self._cond.notify_all()
            return self._cond.wait_for(lambda: (not self._queue and not self._flushing) or not self._healthy, timeout)

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
                    self._cond.wait(timeout=1.0)  # back off before retrying a failing database

    def _write(self, batch: list[tuple[ToolCall, bool]]) -> bool:
        try:
            with self.store.write_connection() as conn:
                # Core, not the ORM: this thread writes every allowed call, so it stays lean.
                conn.execute(sa.insert(_TABLE), [_values(row, keep) for row, keep in batch])
                audit.append_many(
                    conn, [first_event(row, event_type="allowed", reason=_reason(row)) for row, _ in batch]
                )
        except Exception:  # a dead database must not kill the journal thread; it retries and reports unhealthy
            logger.exception("could not record %d allowed calls; refusing allowed calls until it recovers", len(batch))
            return False
        return True


_TABLE: sa.Table = ToolCall.__table__  # type: ignore[attr-defined]
_COLUMNS = tuple(column.name for column in _TABLE.columns)


def _values(row: ToolCall, keep_result: bool) -> dict[str, object]:
    values = {name: getattr(row, name) for name in _COLUMNS}
    if not keep_result:
        values["result"] = None
    return values


def _reason(row: ToolCall) -> str:
    return "; ".join((row.verdict or {}).get("reasons", []))
