"""Waiting for a call to be decided and run, across processes.

The database is the channel: a waiter polls the call's status with backoff (fast at first, then
every ``poll_interval``), so a decision made by another process reaches the agent within about a
second. Inside one process, :class:`ChangeBus` wakes waiters at once when the lifecycle commits a
change, so a decision reaches a waiting agent in milliseconds.

Across instances on PostgreSQL, a change feed (server/store/notify_pg.py) carries each change to the
other processes with ``LISTEN/NOTIFY`` and publishes it there as ``remote``. The row stays the truth:
a notification only wakes a waiter to read it. While the feed is live, waiters poll only every
``poll_interval`` (the safety net); when it drops, every waiter is woken and polls with backoff again.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable

import anyio

from server.lifecycle.states import WAITING, CallStatus
from server.store.models import ToolCall

# How often a waiter reads the call when nothing wakes it (the cross-process safety net), by default.
POLL_INTERVAL = 0.5
# The first pause of a waiter that polls with backoff.
FIRST_POLL = 0.05


class ChangeBus:
    """In-process notifications of committed status changes. Thread-safe; listeners are asyncio events.

    ``poll_interval`` is how often waiters read the database when nothing wakes them;
    ``remote_live`` says whether a cross-process feed is delivering other processes' changes now.
    """

    def __init__(self, *, poll_interval: float = POLL_INTERVAL) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)
        self._listeners: list[tuple[Callable[[str, str], None], bool]] = []
        self.poll_interval = poll_interval
        self.remote_live = False

    def subscribe(self, call_id: str) -> asyncio.Event:
        event = asyncio.Event()
        with self._lock:
            self._waiters[call_id].add((asyncio.get_running_loop(), event))
        return event

    def unsubscribe(self, call_id: str, event: asyncio.Event) -> None:
        with self._lock:
            waiters = self._waiters.get(call_id)
            if waiters is None:
                return
            waiters.difference_update({w for w in waiters if w[1] is event})
            if not waiters:
                del self._waiters[call_id]

    def add_listener(self, listener: Callable[[str, str], None], *, local_only: bool = False) -> None:
        """Called (from any thread) with (call_id, status) after every published change.

        ``local_only``: only for changes committed by this process (a feed that forwards them elsewhere).
        """
        with self._lock:
            self._listeners.append((listener, local_only))

    def remove_listener(self, listener: Callable[[str, str], None]) -> None:
        with self._lock:
            self._listeners = [entry for entry in self._listeners if entry[0] is not listener]

    def publish(self, call_id: str, status: str, *, remote: bool = False, forward: bool = True) -> None:
        """A change was committed: by this process, or (``remote``) by another one, as its feed reports.

        ``forward=False``: no other process waits for this change (an allowed call, answered inline), so
        ``local_only`` listeners (the feed to other instances) are not told.
        """
        with self._lock:
            waiters = list(self._waiters.get(call_id, ()))
            listeners = [
                listener for listener, local_only in self._listeners if not (local_only and (remote or not forward))
            ]
        _wake(waiters)
        for listener in listeners:
            listener(call_id, status)

    def set_remote_live(self, live: bool) -> None:
        """The cross-process feed came up or went down: every waiter reads its call again.

        Up: changes made while it was down were never announced. Down: waiters go back to fast polling.
        """
        self.remote_live = live
        with self._lock:
            waiters = [waiter for group in self._waiters.values() for waiter in group]
        _wake(waiters)


def _wake(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]) -> None:
    for loop, event in waiters:
        if not loop.is_closed():
            loop.call_soon_threadsafe(event.set)


async def wait_for_outcome(
    bus: ChangeBus,
    call_id: str,
    *,
    load: Callable[[str], ToolCall | None],
    timeout: float,
    on_tick: Callable[[float], Awaitable[None]] | None = None,
    tick_every: float = 5.0,
    min_interval: float = FIRST_POLL,
    max_interval: float | None = None,
) -> ToolCall | None:
    """Wait until the call leaves HELD/APPROVED/EXECUTING or ``timeout`` passes; return its latest row.

    ``load`` reads the call (a worker thread runs it); ``on_tick(elapsed)`` runs about every
    ``tick_every`` seconds (progress notifications). Polls with backoff up to ``max_interval``
    (default: the bus's ``poll_interval``), or every ``max_interval`` while the bus's cross-process
    feed is live.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    next_tick = started + tick_every
    ceiling = bus.poll_interval if max_interval is None else max_interval
    interval = min(min_interval, ceiling)
    event = bus.subscribe(call_id)
    try:
        while True:
            event.clear()  # before reading, so a change committed after the read still wakes us
            call = await anyio.to_thread.run_sync(load, call_id)
            if call is None or CallStatus(call.status) not in WAITING:
                return call
            now = loop.time()
            if now - started >= timeout:
                return call
            if on_tick is not None and now >= next_tick:
                await on_tick(now - started)
                next_tick = now + tick_every
            poll = ceiling if bus.remote_live else interval
            pause = min(poll, started + timeout - now, max(next_tick - now, 0.0) if on_tick else poll)
            try:
                await asyncio.wait_for(event.wait(), timeout=max(pause, 0.001))
            except TimeoutError:
                interval = min(interval * 2, ceiling)
    finally:
        bus.unsubscribe(call_id, event)
