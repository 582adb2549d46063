"""Many instances on one PostgreSQL database: changes committed here wake waiters everywhere.

    feed = ChangeFeed.for_url(database_url, bus)    # None for SQLite
    feed.start() ... feed.close()

Each process keeps two connections of its own:

- a **listener** (``LISTEN countersign_calls_<schema hash>``, ``application_name``
  ``countersign-listen-<pid>``) that
  publishes other processes' changes on the local :class:`~server.lifecycle.waiting.ChangeBus` as
  ``remote``, so an agent waiting here hears at once of a decision made on another instance;
- a **sender** that, right after this process commits a change (the bus's local publish), runs
  ``pg_notify`` with ``"<origin> <status> <call id>"``.

The channel is named after the connection's ``search_path``: deployments that share one PostgreSQL
database in schemas of their own never hear each other's changes.

A notification is a latency hint, never the truth: the waiter reads the row it names, and polling
stays the safety net. Lost hints (the process died between commit and notify, the listener was
down) are covered by polling; when the listener connection drops, every waiter is told to poll fast
again, and it is reopened with backoff (``retry_seconds``, doubling up to ``MAX_RETRY_SECONDS``);
when it is back, every waiter reads its call once more, for what was announced while it was down.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
import uuid
from typing import TYPE_CHECKING, Self

import psycopg
from sqlalchemy.engine import make_url

if TYPE_CHECKING:  # the bus is handed in; the store never depends on the lifecycle
    from server.lifecycle.waiting import ChangeBus

logger = logging.getLogger(__name__)

CHANNEL = "countersign_calls"
MAX_RETRY_SECONDS = 30.0
# How long the listener waits for notifications before checking whether it should stop (bounds close()).
LISTEN_TICK_SECONDS = 0.1
CONNECT_TIMEOUT_SECONDS = 5
# pg_notify payloads are limited to 8000 bytes; ours are an origin, a status and a call id.
MAX_PAYLOAD = 512


def libpq_url(database_url: str) -> str | None:
    """The libpq connection string of a PostgreSQL URL (SQLAlchemy's driver suffix removed); None otherwise."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def channel_of(conn: psycopg.Connection) -> str:
    """The channel of the schema this connection works in (its ``search_path``), as an identifier."""
    row = conn.execute("SELECT current_setting('search_path')").fetchone()
    path = str(row[0]) if row is not None else ""
    return f"{CHANNEL}_{hashlib.sha256(path.encode()).hexdigest()[:16]}"


def listener_name(pid: int | None = None) -> str:
    """The ``application_name`` of a process's listener connection (what an operator sees in pg_stat_activity)."""
    return f"countersign-listen-{os.getpid() if pid is None else pid}"


class ChangeFeed:
    """Carries committed status changes between the processes sharing a PostgreSQL database."""

    def __init__(self, conninfo: str, bus: ChangeBus, *, retry_seconds: float = 1.0) -> None:
        self.conninfo = conninfo
        self.bus = bus
        self.retry_seconds = retry_seconds
        self.origin = uuid.uuid4().hex[:12]  # this process's own notifications are not published twice
        self._outgoing: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @classmethod
    def for_url(cls, database_url: str, bus: ChangeBus, *, retry_seconds: float = 1.0) -> ChangeFeed | None:
        conninfo = libpq_url(database_url)
        return None if conninfo is None else cls(conninfo, bus, retry_seconds=retry_seconds)

    def start(self) -> Self:
        self.bus.add_listener(self._committed, local_only=True)
        for target, name in ((self._listen, "countersign-listen"), (self._send, "countersign-notify")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def close(self) -> None:
        self.bus.remove_listener(self._committed)
        self._stop.set()
        self._outgoing.put(None)
        for thread in self._threads:
            thread.join(timeout=LISTEN_TICK_SECONDS + CONNECT_TIMEOUT_SECONDS)
        self._threads.clear()
        self.bus.set_remote_live(False)

    # --- out: this process's changes -------------------------------------------------------------------

    def _committed(self, call_id: str, status: str) -> None:
        """A bus listener: queue the notification (never blocks the committing thread)."""
        payload = f"{self.origin} {status} {call_id}"
        if len(payload) <= MAX_PAYLOAD:
            self._outgoing.put(payload)

    def _send(self) -> None:
        conn: psycopg.Connection | None = None
        channel = CHANNEL
        try:
            while not self._stop.is_set():
                first = self._outgoing.get()
                if first is None:
                    return
                batch = [first, *self._drain()]
                try:
                    if conn is None or conn.closed:
                        conn = self._connect("countersign-notify")
                        channel = channel_of(conn)
                    # One statement, one round trip, however many changes queued up meanwhile.
                    conn.execute("SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload", (channel, batch))
                except psycopg.Error as exc:
                    # Dropped, not retried: the waiters' polling delivers these changes anyway.
                    logger.warning("could not announce %d change(s) to other instances: %s", len(batch), _line(exc))
                    if conn is not None:
                        conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()

    def _drain(self) -> list[str]:
        more: list[str] = []
        while True:
            try:
                item = self._outgoing.get_nowait()
            except queue.Empty:
                return more
            if item is None:
                self._outgoing.put(None)  # keep the stop signal for the loop
                return more
            more.append(item)

    # --- in: other processes' changes ------------------------------------------------------------------

    def _listen(self) -> None:
        delay = self.retry_seconds
        while not self._stop.is_set():
            try:
                with self._connect(listener_name()) as conn:
                    channel = channel_of(conn)
                    conn.execute(f"LISTEN {channel}")  # letters, digits and _ only (channel_of)
                    self.bus.set_remote_live(True)
                    logger.info("listening for other instances' decisions (PostgreSQL LISTEN %s)", channel)
                    delay = self.retry_seconds
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=LISTEN_TICK_SECONDS):
                            self._received(note.payload)
                            if self._stop.is_set():
                                break
            except psycopg.Error as exc:
                self.bus.set_remote_live(False)
                if self._stop.is_set():
                    return
                logger.warning(
                    "lost the listener connection (%s); polling the database, reconnecting in %.1f s", _line(exc), delay
                )
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    def _received(self, payload: str) -> None:
        origin, _, rest = payload.partition(" ")
        status, _, call_id = rest.partition(" ")
        if origin == self.origin or not call_id:
            return  # our own (already published here), or not one of ours
        self.bus.publish(call_id, status, remote=True)

    def _connect(self, application_name: str) -> psycopg.Connection:
        return psycopg.connect(
            self.conninfo,
            autocommit=True,
            application_name=application_name,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
