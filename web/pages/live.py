"""Live updates for the review queue: server-sent events that say "the queue changed, N waiting".

Two sources wake a stream: the gateway's in-process :class:`ChangeBus` (instant, for decisions and
calls made by this process), and a cheap poll of the calls table's fingerprint (count and newest
``updated_at``) every ``poll`` seconds, for calls held or decided by other processes (``countersign
stdio``, other instances on PostgreSQL). A comment line every ``keepalive`` seconds keeps proxies
from closing an idle stream, and each stream ends after ``lifetime`` seconds (the browser's
EventSource reconnects, which re-checks the session), so no connection lives forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncGenerator, Callable

import anyio

from server.lifecycle.actors import Person
from server.lifecycle.waiting import ChangeBus
from server.store.db import Store
from web.pages import queries


class LiveFeed:
    """Fans the bus's change notifications out to every open stream. One per app; thread-safe."""

    def __init__(self, bus: ChangeBus) -> None:
        self._lock = threading.Lock()
        self._streams: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        bus.add_listener(self._changed)

    def _changed(self, _call_id: str, _status: str) -> None:
        with self._lock:
            streams = list(self._streams)
        for loop, event in streams:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        with self._lock:
            self._streams.add((asyncio.get_running_loop(), event))
        return event

    def unsubscribe(self, event: asyncio.Event) -> None:
        with self._lock:
            self._streams = {s for s in self._streams if s[1] is not event}

    @property
    def open_streams(self) -> int:
        with self._lock:
            return len(self._streams)


def sse(event: str, data: object) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def queue_events(
    feed: LiveFeed,
    store: Store,
    person: Person,
    *,
    poll: float = 2.0,
    keepalive: float = 15.0,
    lifetime: float = 300.0,
    clock: Callable[[], float] | None = None,
) -> AsyncGenerator[str, None]:
    """The event stream of one open queue page: a ``queue`` event with the count on every change."""
    loop = asyncio.get_running_loop()
    now = clock or loop.time
    started = last_sent = now()
    seen: tuple[int, str] | None = None
    event = feed.subscribe()
    try:
        yield "retry: 3000\n\n"
        while now() - started < lifetime:
            event.clear()  # before reading, so a change committed after the read still wakes us
            fingerprint = await anyio.to_thread.run_sync(queries.latest_change, store)
            if fingerprint != seen:
                count = await anyio.to_thread.run_sync(queries.held_count, store, person)
                yield sse("queue", {"count": count})
                seen, last_sent = fingerprint, now()
            elif now() - last_sent >= keepalive:
                yield ": keep-alive\n\n"
                last_sent = now()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=poll)
        yield sse("bye", {"reconnect": True})
    finally:
        feed.unsubscribe(event)
