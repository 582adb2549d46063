"""Run in a subprocess: claim and execute one approved call, then die with SIGKILL at a chosen point.

Usage: python -m tests.core.crash_worker DATABASE_URL CALL_ID POINT [INSTANCE_ID LEASE_SECONDS]
POINT: after_claim | mid_tool | after_effect | after_finish
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import timedelta

from server.lifecycle.execution import Executor
from server.lifecycle.lease import Leases
from server.store.db import Store
from tests.core import ledger


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(url: str, call_id: str, point: str, instance: str | None = None, lease: float = 15.0) -> None:
    store = Store.open(url, migrate_schema=False)
    run = ledger.runner(
        store.engine,
        before_effect=die if point == "mid_tool" else None,
        after_effect=die if point == "after_effect" else None,
    )
    leases = Leases(lease=timedelta(seconds=lease), heartbeat=lease / 4, instance_id=instance or "crash-worker")
    executor = Executor(store, run, lambda tool: tool == ledger.IDEMPOTENT, leases=leases)
    claim = executor.claim(call_id)
    assert claim is not None
    if point == "after_claim":
        die()
    executor.run(claim)
    if point == "after_finish":
        die()


if __name__ == "__main__":
    extra = sys.argv[4:6]
    main(*sys.argv[1:4], *(extra[:1]), *(float(x) for x in extra[1:2]))
