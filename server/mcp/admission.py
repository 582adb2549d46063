"""Admission: how many agents' calls do their work (guard and tool) in worker threads at once.

Python runs one thread at a time (the GIL). Sixteen worker threads each classifying a call and reading
the database hand that lock back and forth at every read, and the handing over costs: on a 2-core
machine the server spent ~10-15% more CPU per call with 16 concurrent agents than with two calls at a time
(bench/README.md, "Session 7"). So a call starts its work only while fewer than ``slots`` calls are
running; the rest wait their turn on the event loop, which costs nothing.

A slow call (a tool waiting on the network or a long commit) must not hold the others up: a call that
has been running longer than ``patience`` stops counting, so nobody waits longer than that behind it.
Calls to upstream MCP servers are not admitted here at all (they wait on the network, not the GIL).
"""

from __future__ import annotations

import time
from collections import deque

import anyio

DEFAULT_PATIENCE_SECONDS = 0.02


def default_slots(reads_never_wait: bool) -> int:
    """Two where the store's reads are local and short (``Store.reads_never_wait``, SQLite): the work is
    Python, and the GIL runs one thread at a time. Where reads wait on the network with the GIL released
    (PostgreSQL), calls overlap freely (anyio's own limit of 40 threads)."""
    return 2 if reads_never_wait else 40


class Admission:
    """Lets at most ``slots`` calls younger than ``patience`` seconds run at once; the rest wait in order.

    Used from one event loop (not thread-safe, and needs none: it never blocks a thread).
    """

    def __init__(self, slots: int, *, patience: float = DEFAULT_PATIENCE_SECONDS) -> None:
        if slots < 1:
            raise ValueError("admission needs at least one slot")
        self.slots = slots
        self.patience = patience
        self._started: dict[object, float] = {}  # running calls -> when each started (monotonic)
        self._waiting: deque[anyio.Event] = deque()

    @property
    def running(self) -> int:
        return len(self._started)

    def slot(self) -> Slot:
        """Wait for a turn (at most ``patience`` behind any one call), then hold it until the block ends."""
        return Slot(self)

    async def _enter(self, token: object) -> None:
        if not self._waiting and len(self._started) < self.slots:  # the common case: a free slot, nobody queued
            self._started[token] = time.monotonic()
            return
        turn = anyio.Event()
        self._waiting.append(turn)
        try:
            while True:
                if self._waiting[0] is turn:
                    now = time.monotonic()
                    young = sorted(start for start in self._started.values() if now - start < self.patience)
                    if len(young) < self.slots:
                        break
                    # Woken when a call ends, or look again when enough young calls stop counting.
                    with anyio.move_on_after(young[len(young) - self.slots] + self.patience - now):
                        await turn.wait()
                else:
                    await turn.wait()  # woken when the one ahead takes its turn or leaves the line
                if turn.is_set():
                    turn = self._renewed(turn)
        except BaseException:
            self._waiting.remove(turn)
            self._wake_next()  # a cancelled waiter may have been given the turn: pass it on
            raise
        self._waiting.popleft()
        self._started[token] = time.monotonic()
        self._wake_next()  # several slots may be free: let the next waiter look too

    def _renewed(self, turn: anyio.Event) -> anyio.Event:
        """A fresh event in ``turn``'s place in the line (an anyio event cannot be cleared)."""
        fresh = anyio.Event()
        self._waiting[self._waiting.index(turn)] = fresh
        return fresh

    def _wake_next(self) -> None:
        if self._waiting:
            self._waiting[0].set()


class Slot:
    """One call's turn (``async with admission.slot():``). A class rather than an ``asynccontextmanager``:
    every allowed call takes one, and the generator machinery cost several times this."""

    __slots__ = ("_admission",)

    def __init__(self, admission: Admission) -> None:
        self._admission = admission

    async def __aenter__(self) -> None:
        await self._admission._enter(self)

    async def __aexit__(self, *_exc: object) -> None:
        del self._admission._started[self]
        self._admission._wake_next()
