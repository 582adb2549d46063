"""The runtime's background sweeper: overdue held calls expire even when nobody looks at them."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from server.lifecycle.records import NewCall
from server.runtime import sweeping
from server.store.db import Store
from server.store.models import ToolCall
from tests.clock import Clock
from tests.mcp.support import make_runtime, make_settings, refund


async def test_the_sweeper_expires_overdue_calls_and_survives_a_failed_sweep(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    settings = make_settings(database_url, expiry_sweep_seconds=0.05)
    runtime = make_runtime(settings, store=Store.open(database_url, clock=clock))
    loop = asyncio.get_running_loop()
    expired = asyncio.Event()
    runtime.gateway.bus.add_listener(lambda _id, status: status == "expired" and loop.call_soon_threadsafe(expired.set))
    real_sweep = runtime.gateway.sweep
    attempts: list[int] = []

    def flaky_sweep() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database blip")
        real_sweep()

    monkeypatch.setattr(runtime.gateway, "sweep", flaky_sweep)
    try:
        call = runtime.gateway.submit(NewCall(tool="issue_refund", arguments=refund(400.0), agent="agent-a")).call
        clock.advance(days=2)
        with anyio.fail_after(10):
            async with sweeping(runtime):
                await expired.wait()
        with runtime.store.read() as session:  # a plain read: get_call would expire it on read itself
            row = session.get(ToolCall, call.id)
        assert row is not None and row.status == "expired"
        assert len(attempts) >= 2
    finally:
        runtime.close()
