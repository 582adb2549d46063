"""Durable allowed calls: what recording an act call before it runs costs, and the read-call loss window.

1. **Cost.** In one process, on a SQLite file (``BENCH_DURABLE_DATABASE_URL`` for another database):
   sequential allowed calls through ``Gateway.submit``: `search_customers` (read, group-commit
   journal) and a small `issue_refund` (act: committed before it runs, outcome after). Per call p50/p95.
   Also the refund tool by itself (no gateway), which is what an allowed act call cost beyond the
   guard before it was recorded first. ``BENCH_DURABLE_KILLS=0`` measures only this.
2. **Loss window.** A server core (tests/core/kill_worker.py) takes allowed read calls from 4 threads
   and is SIGKILLed after a random number of answers, KILLS times. For each call that answered success
   but has no record, the time from its answer to the kill; the window is the largest. Act calls are
   checked the same way (they must lose nothing).
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from server.config import Settings
from server.runtime import build_runtime, seed_demo
from server.store.db import Store
from server.store.models import ToolCall
from tests.conftest import REPO
from tests.core.kill_worker import call

CALLS = 300
KILLS = int(os.environ.get("BENCH_DURABLE_KILLS", "20"))


def _seeded(url: str) -> None:
    runtime = build_runtime(Settings(database_url=url, policies=REPO / "policies", journal_writer="thread"))
    seed_demo(runtime)
    runtime.close()


def _cost(url: str) -> dict[str, list[float]]:
    runtime = build_runtime(Settings(database_url=url, policies=REPO / "policies", journal_writer="process"))
    timings: dict[str, list[float]] = {"read": [], "act": [], "act tool alone": []}
    run_tool = runtime.gateway.executor.run_tool
    try:
        for n in range(CALLS):
            for kind in ("read", "act"):
                start = time.perf_counter()
                runtime.gateway.submit(call(kind, n))
                timings[kind].append((time.perf_counter() - start) * 1000)
            refund = call("act", CALLS + n)  # the refund by itself: what an act call cost before it was recorded first
            start = time.perf_counter()
            run_tool(refund.tool, refund.arguments, f"bench-{n}")
            timings["act tool alone"].append((time.perf_counter() - start) * 1000)
    finally:
        runtime.close()
    return timings


def _loss(url: str, kind: str) -> tuple[int, int, float]:
    """(answered, lost, window in seconds) over KILLS kills."""
    answered: dict[str, float] = {}
    lost_ages: list[float] = []
    for _ in range(KILLS):
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.core.kill_worker", url, kind, "4"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        mine: dict[str, float] = {}
        target = random.randint(20, 200)
        for line in worker.stdout:
            if line.startswith("ok "):
                mine[line.split()[1]] = time.monotonic()
                if len(mine) >= target:
                    break
        os.kill(worker.pid, signal.SIGKILL)
        killed = time.monotonic()
        for line in worker.stdout:
            if line.startswith("ok "):
                mine[line.split()[1]] = killed
        worker.wait()
        worker.stdout.close()
        time.sleep(0.5)  # the orphaned writer process finishes the batch it holds, then ends
        store = Store.open(url, migrate_schema=False)
        with store.engine.connect() as conn:
            ids = list(mine)
            found = set(conn.execute(sa.select(ToolCall.id).where(ToolCall.id.in_(ids))).scalars())  # type: ignore[attr-defined]
        store.close()
        lost_ages += [killed - at for call_id, at in mine.items() if call_id not in found]
        answered.update(mine)
    return len(answered), len(lost_ages), max(lost_ages, default=0.0)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DURABLE_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.db'}"
        _seeded(url)
        timings = _cost(url)
        for kind, values in timings.items():
            cuts = statistics.quantiles(values, n=20)
            print(f"{kind:5} allowed call, in process: p50 {statistics.median(values):.2f} ms, p95 {cuts[18]:.2f} ms")
        for kind in ("read", "act") if KILLS else ():
            total, lost, window = _loss(url, kind)
            print(
                f"{kind:5} SIGKILL x{KILLS}: {total} answered, {lost} without a record, "
                f"oldest lost {window * 1000:.0f} ms before the kill"
            )


if __name__ == "__main__":
    main()
