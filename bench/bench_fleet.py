"""Many instances on PostgreSQL: how fast a decision made on instance B reaches the agent waiting on A.

Two `countersign serve` processes share one PostgreSQL schema. An agent connected to A makes a held
`issue_refund` and waits inline; a reviewer approves it through B's JSON API. Measured: from B's
approve call returning to the agent's result arriving on A (p50, p99, max), with the LISTEN/NOTIFY
change feed on, and, as the baseline in the same run, with it off (A learns by polling every
``COUNTERSIGN_WAIT_POLL_SECONDS``, 0.5 s by default). Target: p99 under 100 ms with the feed on.

Run: `python -m bench fleet` (PostgreSQL at ``BENCH_DATABASE_URL``, default the test database
postgresql://postgres@127.0.0.1:5432/test). Not part of `make test`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
import uuid
from contextlib import AsyncExitStack
from pathlib import Path

import httpx2
import psycopg

from bench.bench_mcp import COUNTERSIGN, Process, _agent_result_time, _client, _free_port, _held_call, _tokens

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SAMPLES = int(os.environ.get("BENCH_FLEET_SAMPLES", "100"))
WARM_UP = 5
TARGET_P99_MS = 100.0


def _env(database_url: str, port: int, *, listen: bool) -> dict[str, str]:
    from bench.bench_mcp import _env as mcp_env

    env = mcp_env(database_url, port)
    env.update(
        COUNTERSIGN_PG_LISTEN="true" if listen else "false",
        COUNTERSIGN_PROGRESS_INTERVAL_SECONDS="30",  # no progress ticks (they re-read the call) in the measure
    )
    return env


def _start(database_url: str, log: Path, command: str, *, listen: bool) -> Process:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    return Process([COUNTERSIGN, command, "--port", str(port)], _env(database_url, port, listen=listen), url, log)


async def measure(agent_url: str, api_url: str, agent_token: str, person_token: str) -> list[float]:
    """Seconds from B's approve call returning to A's agent receiving the result."""
    samples: list[float] = []
    async with AsyncExitStack() as stack:
        agent = await _client(stack, agent_url, agent_token)
        api = await stack.enter_async_context(
            httpx2.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {person_token}"}, timeout=60.0)
        )
        for number in range(WARM_UP + SAMPLES):
            waiting = asyncio.create_task(_agent_result_time(agent))
            call_id = await _held_call(api)
            seen = (await api.get(f"/api/calls/{call_id}")).json()
            decision = {
                "reason": "bench",
                "args_hash": seen["args_hash"],
                "override_reason": " ; ".join(seen["override_grounds"]) or None,
            }
            response = await api.post(f"/api/calls/{call_id}/approve", json=decision)
            returned = time.perf_counter()
            response.raise_for_status()
            arrived = await waiting
            if number >= WARM_UP:
                samples.append(arrived - returned)
    return samples


def run_pair(database_url: str, log: Path, *, listen: bool) -> list[float]:
    agent_token, person_token = _tokens(database_url)
    a = _start(database_url, log, "demo", listen=listen)  # seeds the back office
    try:
        b = _start(database_url, log, "serve", listen=listen)
        try:
            return asyncio.run(measure(a.url, b.url, agent_token, person_token))
        finally:
            b.stop()
    finally:
        a.stop()


def _schema_url(schema: str) -> str:
    sep = "&" if "?" in DATABASE_URL else "?"
    return f"{DATABASE_URL}{sep}options=-csearch_path%3D{schema}"


def _figures(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=100)
    return (
        f"p50 {cuts[49] * 1000:7.1f} ms   p99 {cuts[98] * 1000:7.1f} ms   "
        f"max {max(values) * 1000:7.1f} ms   (n={len(values)})"
    )


def main() -> None:
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="countersign-bench-fleet-") as tmp:
        log = Path(tmp) / "servers.log"
        for name, listen in (("LISTEN/NOTIFY", True), ("polling only", False)):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                results[name] = run_pair(_schema_url(schema), log, listen=listen)
            finally:
                with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    print("decision on instance B -> agent waiting inline on instance A (two `serve` processes, one PostgreSQL)")
    for name, values in results.items():
        print(f"  {name:14} {_figures(values)}")
    notified = statistics.quantiles(results["LISTEN/NOTIFY"], n=100)
    polled = statistics.quantiles(results["polling only"], n=100)
    verdict = "met" if notified[98] * 1000 < TARGET_P99_MS else "MISSED"
    print(f"  target: p99 < {TARGET_P99_MS:.0f} ms with LISTEN/NOTIFY: {verdict} ({notified[98] * 1000:.1f} ms)")
    print(f"  polling / LISTEN/NOTIFY: p50 {polled[49] / notified[49]:.1f}x, p99 {polled[98] / notified[98]:.1f}x")


if __name__ == "__main__":
    main()
