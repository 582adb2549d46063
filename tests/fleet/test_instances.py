"""Two `countersign serve` processes on one PostgreSQL database: a decision on one reaches the agent on the other.

Both instances poll only every 30 s (``COUNTERSIGN_WAIT_POLL_SECONDS``), longer than the agent waits
inline, so a result that arrives within seconds was carried by LISTEN/NOTIFY; with the listener
connection killed, the waiters fall back to polling with backoff and still get it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx2
import psycopg
import pytest

from server.people import People
from server.store.db import Store
from server.store.notify_pg import listener_name
from tests.conftest import POSTGRES_URL, REPO
from tests.fleet.support import private_schema
from tests.mcp.support import NODE, ServeProcess, http_agent, refund

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(not POSTGRES_URL, reason="COUNTERSIGN_TEST_DATABASE_URL is not set"),
]

POLL = "30"  # seconds: no decision in these tests may be explained by polling while the feed is live
INLINE = "20"  # the agent waits inline this long, less than POLL
FAST = 5.0  # seconds: generous for a loaded machine, far below POLL
AMOUNT = 100.0  # held by the default policy; four of them fit in the demo order
TASK_STATUS_SCRIPT = REPO / "tests" / "fleet" / "ts_task_status.mjs"


@dataclass
class Fleet:
    a: ServeProcess
    b: ServeProcess
    agent: str  # an agent's bearer token
    person: str  # a finance reviewer's API token


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Two instances on one private schema, shared by this module's tests (each takes seconds to start).

    A reopens a dropped listener only after 8 s: long enough to see a decision arrive by polling meanwhile.
    """
    logs = tmp_path_factory.mktemp("fleet")
    with private_schema(POSTGRES_URL) as url:
        agent, person = _people(url)
        a = _instance(url, logs / "a.log", command="demo", COUNTERSIGN_LISTEN_RETRY_SECONDS="8")  # seeds
        try:
            b = _instance(url, logs / "b.log")
            try:
                yield Fleet(a, b, agent, person)
            finally:
                b.stop()
        finally:
            a.stop()


def _instance(url: str, log: Path, command: str = "serve", **env: str) -> ServeProcess:
    settings = {
        "COUNTERSIGN_WAIT_POLL_SECONDS": POLL,
        "COUNTERSIGN_INLINE_WAIT_SECONDS": INLINE,
        "COUNTERSIGN_PROGRESS_INTERVAL_SECONDS": POLL,  # progress ticks re-read the call too
        **env,
    }
    return ServeProcess(url, log, command=command, **settings).start()


def _listener(serve: ServeProcess) -> tuple[int, str] | None:
    """The pid and last query of the instance's listener connection, if it has one."""
    assert serve.process is not None
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT pid, query FROM pg_stat_activity WHERE application_name = %s",
            (listener_name(serve.process.pid),),
        ).fetchone()
    return (int(row[0]), str(row[1])) if row is not None else None


async def _until_listening(serve: ServeProcess, timeout: float = 30.0) -> int:
    with anyio.fail_after(timeout):
        while True:
            found = _listener(serve)
            if found is not None and found[1].startswith("LISTEN"):
                return found[0]
            await anyio.sleep(0.05)


def _people(url: str) -> tuple[str, str]:
    """An agent token and a finance reviewer's API token (the store migrates the fresh schema)."""
    store = Store.open(url)
    try:
        people = People(store)
        people.create_user("fiona", "reviewer", queues=["finance"])
        return people.create_agent_token("fleet-agent"), people.create_person_token("fiona")
    finally:
        store.close()


async def _decided_elsewhere(waiting_on: ServeProcess, deciding: ServeProcess, agent: str, person: str) -> Any:
    """The agent holds a refund on one instance; fiona approves it on the other. (result, seconds after approval)."""
    outcome: dict[str, Any] = {}
    async with http_agent(f"{waiting_on.url}/mcp", agent) as client, anyio.create_task_group() as group:

        async def call() -> None:
            outcome["result"] = await client.call_tool("issue_refund", refund(AMOUNT))
            outcome["arrived"] = time.perf_counter()

        group.start_soon(call)
        await _approve(deciding, person)
        approved = time.perf_counter()
    return outcome["result"], outcome["arrived"] - approved


async def _approve(deciding: ServeProcess, person: str) -> None:
    """The finance reviewer approves the call held first, through the instance ``deciding``'s JSON API."""
    async with httpx2.AsyncClient(base_url=deciding.url, headers={"Authorization": f"Bearer {person}"}) as api:
        seen = await _held(api)
        decided = await api.post(
            f"/api/calls/{seen['id']}/approve",
            json={
                "reason": "checked",
                "args_hash": seen["args_hash"],
                "override_reason": " ; ".join(seen["override_grounds"]) or None,
            },
        )
        assert decided.status_code == 200, decided.text


async def _held(api: httpx2.AsyncClient) -> dict[str, Any]:
    with anyio.fail_after(15):
        while True:
            held = (await api.get("/api/calls", params={"status": "held"})).json()
            if held:
                detail: dict[str, Any] = (await api.get(f"/api/calls/{held[0]['id']}")).json()
                return detail
            await anyio.sleep(0.02)


def _executed(result: Any) -> bool:
    return result.is_error is False and (result.structured_content or {}).get("amount") == f"{AMOUNT:.2f}"


async def test_a_decision_on_one_instance_wakes_the_agent_waiting_on_the_other_at_once(fleet: Fleet) -> None:
    a, b, agent, person = fleet.a, fleet.b, fleet.agent, fleet.person
    await _until_listening(a)
    await _until_listening(b)
    first, first_latency = await _decided_elsewhere(a, b, agent, person)
    second, second_latency = await _decided_elsewhere(b, a, agent, person)

    assert _executed(first) and _executed(second)
    assert first_latency < FAST and second_latency < FAST


async def test_a_killed_listener_falls_back_to_polling_then_reconnects_and_is_notified_again(fleet: Fleet) -> None:
    a, b, agent, person = fleet.a, fleet.b, fleet.agent, fleet.person
    killed = await _until_listening(a)
    await _until_listening(b)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (killed,)).fetchone() == (True,)

    by_polling, polled_latency = await _decided_elsewhere(a, b, agent, person)
    still_down = _listener(a) is None

    reopened = await _until_listening(a)
    by_notification, notified_latency = await _decided_elsewhere(a, b, agent, person)

    assert _executed(by_polling) and still_down and polled_latency < FAST
    assert reopened != killed
    assert _executed(by_notification) and notified_latency < FAST
    assert "lost the listener connection" in a.log.read_text()


async def test_a_task_client_on_one_instance_is_told_of_a_decision_taken_on_the_other(fleet: Fleet) -> None:
    """2025-11-25 Tasks: ``notifications/tasks/status`` crosses instances with the change feed (polling is 30 s)."""
    a, b, agent, person = fleet.a, fleet.b, fleet.agent, fleet.person
    await _until_listening(a)
    await _until_listening(b)
    process = await asyncio.create_subprocess_exec(
        NODE,
        str(TASK_STATUS_SCRIPT),
        f"{a.url}/mcp",
        agent,
        cwd=str(REPO),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        created = await _script_line(process, "created")
        assert created["task"]["status"] == "working"
        await _approve(b, person)
        assert process.stdin is not None
        process.stdin.write(b"go\n")
        await process.stdin.drain()
        notified = await _script_line(process, "notified")
        with anyio.fail_after(FAST):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert notified["statuses"][-1] == "completed", notified


async def _script_line(process: asyncio.subprocess.Process, step: str) -> dict[str, Any]:
    assert process.stdout is not None and process.stderr is not None
    with anyio.fail_after(30):
        line = await process.stdout.readline()
    if not line:
        raise AssertionError(f"script ended before {step}: {(await process.stderr.read()).decode()[-3000:]}")
    data: dict[str, Any] = json.loads(line)
    assert data["step"] == step, data
    return data
