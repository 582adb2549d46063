"""The queue's live event stream: a count on every change, keep-alives, a bounded lifetime."""

from __future__ import annotations

import asyncio
import json

import anyio

from server.config import Settings
from server.lifecycle.actors import Person
from server.runtime import Runtime, build_runtime
from tests.web.support import hold_refund
from web.pages.live import LiveFeed, queue_events

ALICE = Person("alice", "reviewer", frozenset({"finance", "finance-senior"}))
SAM = Person("sam", "reviewer", frozenset({"support"}))


def _count(chunk: str) -> int:
    assert chunk.startswith("event: queue\n"), chunk
    data: dict[str, int] = json.loads(chunk.split("data: ", 1)[1])
    return data["count"]


async def test_a_held_call_reaches_an_open_stream_at_once(runtime: Runtime) -> None:
    feed = LiveFeed(runtime.gateway.bus)
    stream = queue_events(feed, runtime.store, ALICE, poll=30.0)
    with anyio.fail_after(10):
        assert await anext(stream) == "retry: 3000\n\n"
        assert _count(await anext(stream)) == 0
        await anyio.to_thread.run_sync(hold_refund, runtime)  # the bus wakes the stream, no 30 s poll
        assert _count(await anext(stream)) == 1
    await stream.aclose()
    assert feed.open_streams == 0


async def test_changes_made_by_another_process_arrive_by_polling(runtime: Runtime, settings: Settings) -> None:
    other = build_runtime(settings)  # its own store and bus, as `countersign stdio` would have
    feed = LiveFeed(runtime.gateway.bus)
    stream = queue_events(feed, runtime.store, ALICE, poll=0.05)
    try:
        with anyio.fail_after(10):
            await anext(stream)
            assert _count(await anext(stream)) == 0
            await anyio.to_thread.run_sync(hold_refund, other)
            assert _count(await anext(stream)) == 1
    finally:
        await stream.aclose()
        other.close()


async def test_the_count_is_of_the_viewers_queues(runtime: Runtime) -> None:
    await anyio.to_thread.run_sync(hold_refund, runtime)
    feed = LiveFeed(runtime.gateway.bus)
    stream = queue_events(feed, runtime.store, SAM, poll=30.0)
    with anyio.fail_after(10):
        await anext(stream)
        assert _count(await anext(stream)) == 0
    await stream.aclose()


async def test_a_quiet_stream_sends_keep_alives_and_ends(runtime: Runtime) -> None:
    feed = LiveFeed(runtime.gateway.bus)
    chunks = []
    with anyio.fail_after(10):
        async for chunk in queue_events(feed, runtime.store, ALICE, poll=0.02, keepalive=0.05, lifetime=0.3):
            chunks.append(chunk)
    assert chunks[0].startswith("retry:") and chunks[1].startswith("event: queue")
    assert ": keep-alive\n\n" in chunks
    assert chunks[-1].startswith("event: bye")
    assert feed.open_streams == 0


def test_a_stream_whose_loop_is_gone_does_not_break_publishing(runtime: Runtime) -> None:
    feed = LiveFeed(runtime.gateway.bus)

    async def subscribe() -> None:
        feed.subscribe()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(subscribe())
    loop.close()
    hold_refund(runtime)  # publishes; must not raise
    assert feed.open_streams == 1
