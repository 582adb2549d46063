"""SIGKILL under a stream of allowed act calls: every effect in the back office has its call record.

A server core (tests/core/kill_worker.py) takes small refunds the policy allows, from several
threads; the test kills it with SIGKILL again and again, mid-stream. Then each refund in the back
office (its idempotency key names the call) must have a call row, and so must every call that
answered success: an allowed act call is committed before it runs (server/lifecycle/durable.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import sqlalchemy as sa

from server.config import Settings
from server.runtime import build_runtime, seed_demo
from server.store.db import Store
from server.store.models import ToolCall
from tests.conftest import REPO
from tools.backoffice.tables import refunds

TIMEOUT = 60.0


def _kill_mid_stream(url: str, kind: str, *, kills: int, calls_per_run: int) -> list[str]:
    """Run the worker ``kills`` times, SIGKILL it after ``calls_per_run`` successes; the ids that answered."""
    answered: list[str] = []
    for _ in range(kills):
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.core.kill_worker", url, kind, "4"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert worker.stdout is not None
        seen = 0
        try:
            for line in worker.stdout:  # bounded: the worker answers a call every few ms, or dies
                if line.startswith("ok "):
                    answered.append(line.split()[1])
                    seen += 1
                    if seen >= calls_per_run:
                        os.kill(worker.pid, signal.SIGKILL)
                        break
            answered.extend(line.split()[1] for line in worker.stdout if line.startswith("ok "))
        finally:
            if worker.poll() is None:
                worker.kill()
            assert worker.wait(timeout=TIMEOUT) == -signal.SIGKILL
            worker.stdout.close()
    return answered


def _seeded(url: str) -> None:
    runtime = build_runtime(Settings(database_url=url, policies=REPO / "policies", journal_writer="thread"))
    seed_demo(runtime)
    runtime.close()


def _check_every_effect_is_recorded(url: str, answered: list[str]) -> int:
    store = Store.open(url, migrate_schema=False)
    try:
        with store.engine.connect() as conn:
            keys = (
                conn.execute(sa.select(refunds.c.idempotency_key).where(refunds.c.idempotency_key.like("cs-%")))
                .scalars()
                .all()
            )
            recorded = set(conn.execute(sa.select(ToolCall.id)).scalars())  # type: ignore[call-overload]
    finally:
        store.close()
    effects = {key.removeprefix("cs-") for key in keys}
    assert len(keys) == len(effects)  # one effect per call
    assert effects - recorded == set()  # no refund without its call record
    assert set(answered) - recorded == set()  # no success answered without its record
    assert set(answered) <= effects
    return len(effects)


def test_sigkill_under_allowed_refunds_leaves_no_refund_without_its_record(database_url: str) -> None:
    _seeded(database_url)
    answered = _kill_mid_stream(database_url, "act", kills=3, calls_per_run=34)
    assert _check_every_effect_is_recorded(database_url, answered) >= 100


@pytest.mark.slow
def test_twenty_sigkills_under_a_thousand_allowed_refunds_lose_no_record(database_url: str) -> None:
    _seeded(database_url)
    answered = _kill_mid_stream(database_url, "act", kills=20, calls_per_run=52)
    assert _check_every_effect_is_recorded(database_url, answered) >= 1000
