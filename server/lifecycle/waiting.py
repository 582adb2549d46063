"""Waiting for a call to be decided and run, across processes.

The database is the channel: a waiter polls the call's status with backoff (fast at first, then
every ``max_interval``), so a decision made by another process reaches the agent within about a
second. Inside one process, :class:`ChangeBus` wakes waiters at once when the lifecycle commits a
change, so a decision reaches a waiting agent in milliseconds.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable

import anyio

from server.lifecycle.states import WAITING, CallStatus
from server.store.models import ToolCall


class ChangeBus:
    """In-process notifications of committed status changes. Thread-safe; listeners are asyncio events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)
        self._listeners: list[Callable[[str, str], None]] = []

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

    def add_listener(self, listener: Callable[[str, str], None]) -> None:
        """Called (from any thread) with (call_id, status) after every published change."""
        with self._lock:
            self._listeners.append(listener)

    def publish(self, call_id: str, status: str) -> None:
        with self._lock:
            waiters = list(self._waiters.get(call_id, ()))
            listeners = list(self._listeners)
        for loop, event in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)
        for listener in listeners:
            listener(call_id, status)


async def wait_for_outcome(
    bus: ChangeBus,
    call_id: str,
    *,
    load: Callable[[str], ToolCall | None],
    timeout: float,
    on_tick: Callable[[float], Awaitable[None]] | None = None,
    tick_every: float = 5.0,
    min_interval: float = 0.05,
    max_interval: float = 0.5,
) -> ToolCall | None:
    """Wait until the call leaves HELD/APPROVED/EXECUTING or ``timeout`` passes; return its latest row.

    ``load`` reads the call (a worker thread runs it); ``on_tick(elapsed)`` runs about every
    ``tick_every`` seconds (progress notifications).
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    next_tick = started + tick_every
    interval = min_interval
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
            pause = min(interval, started + timeout - now, max(next_tick - now, 0.0) if on_tick else interval)
            try:
                await asyncio.wait_for(event.wait(), timeout=max(pause, 0.001))
            except TimeoutError:
                interval = min(interval * 2, max_interval)
    finally:
        bus.unsubscribe(call_id, event)
