"""The review queue page and `GET /api/calls` on a busy database (100,000 calls, 2,800 of them held).

Targets: the queue page under 100 ms and unfiltered `GET /api/calls` under 50 ms at 100,000 calls.
The baseline is the same requests on a database of 1,000 calls, measured in the same run, so the
ratio shows how the pages scale on whatever machine runs this; `GET /healthz` (no database) shows
what any request costs on it at the time.

Also checked, since a fast page that hides the urgent work is no use: the five most urgent held calls
(900 EUR refunds, overdue) are on the queue's first page, and the page states the true count.

`python -m bench queue`; `BENCH_QUEUE_DATABASE_URL=postgresql://...` measures PostgreSQL as well
(in a private schema, dropped afterwards); `BENCH_QUEUE_CALLS` changes the size.
"""

from __future__ import annotations

import os
import random
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from server.config import Settings
from server.lifecycle.records import NewCall, idempotency_key_for, new_row
from server.lifecycle.states import CallStatus
from server.people import People
from server.policy.types import Evidence, Justification
from server.runtime import Runtime, build_runtime, seed_demo
from server.store.models import ToolCall
from web.app import create_app

REPO = Path(__file__).resolve().parent.parent
CALLS = int(os.environ.get("BENCH_QUEUE_CALLS", "100000"))
BASELINE_CALLS = 1_000
HELD_SHARE = 0.028
URGENT = 5
RUNS = 40
TARGETS_MS = {"queue page": 100.0, "GET /api/calls": 50.0}
PASSWORD = "bench-correct-horse-battery"
# The rest of the calls, by status (shares of what is not held).
OTHERS = (
    (CallStatus.ALLOWED, 0.82),
    (CallStatus.SUCCEEDED, 0.08),
    (CallStatus.BLOCKED, 0.05),
    (CallStatus.REJECTED, 0.04),
    (CallStatus.EXPIRED, 0.01),
)


@dataclass(frozen=True)
class Timing:
    median_ms: float
    p95_ms: float


@dataclass(frozen=True)
class Run:
    calls: int
    held: int
    timings: dict[str, Timing]
    urgent_on_first_page: int
    count_shown: str


def main() -> None:
    kinds = ["SQLite"] + (["PostgreSQL"] if os.environ.get("BENCH_QUEUE_DATABASE_URL") else [])
    for kind in kinds:
        with _database(kind) as small, _database(kind) as big:
            baseline = _run(small, BASELINE_CALLS)
            busy = _run(big, CALLS)
        _report(kind, baseline, busy)


@contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "SQLite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'bench.db'}"
        return
    base = os.environ["BENCH_QUEUE_DATABASE_URL"]
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _run(database_url: str, calls: int) -> Run:
    settings = Settings(
        database_url=database_url,
        policies=REPO / "policies",
        environment="test",
        secret_key="bench-secret-key-that-is-long-enough-0123456789",
        base_url="http://testserver",
        journal_writer="thread",
    )
    runtime = build_runtime(settings)
    runtime.people = People(runtime.store, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    seed_demo(runtime)
    runtime.people.create_user("ada", "admin", password=PASSWORD)
    token = runtime.people.create_person_token("ada")
    held, urgent_ids = _seed_calls(runtime, calls)
    try:
        with TestClient(create_app(settings, runtime), base_url="http://testserver") as client:
            _sign_in(client)
            api = {"Authorization": f"Bearer {token}"}
            first_page = client.get("/queue").text
            found = sum(1 for call_id in urgent_ids if f'data-call-id="{call_id}"' in first_page)
            shown = re.search(r'id="queue-total"[^>]*>([^<]*)<', first_page)
            timings = {
                "GET /healthz": _time(lambda: client.get("/healthz")),
                "queue page": _time(lambda: client.get("/queue")),
                "GET /api/calls": _time(lambda: client.get("/api/calls", headers=api)),
            }
    finally:
        runtime.close()
    return Run(calls, held, timings, found, shown.group(1).strip() if shown else "?")


def _seed_calls(runtime: Runtime, calls: int) -> tuple[int, list[str]]:
    """Insert ``calls`` rows (Core, in batches) built from real verdicts; the urgent ones last."""
    rng = random.Random(7)
    now = runtime.store.now()
    templates = [
        _template(runtime, amount, confidence) for amount in (20, 45, 60, 120, 250, 480) for confidence in (0.4, 0.9)
    ]
    urgent_template = _template(runtime, 900, 0.3)
    held = max(int(calls * HELD_SHARE), URGENT)
    statuses = [CallStatus.HELD] * (held - URGENT)
    for status, share in OTHERS:
        statuses += [status] * int((calls - held) * share)
    statuses += [CallStatus.ALLOWED] * (calls - URGENT - len(statuses))
    rng.shuffle(statuses)
    rows: list[dict[str, Any]] = []
    urgent_ids: list[str] = []
    for status in statuses:
        age = (
            timedelta(minutes=rng.uniform(1, 2 * 24 * 60))
            if status == CallStatus.HELD
            else timedelta(days=rng.uniform(0, 60))
        )
        rows.append(_row(rng.choice(templates), status, now - age, sla_hours=rng.uniform(2, 48)))
    for n in range(URGENT):
        row = _row(urgent_template, CallStatus.HELD, now - timedelta(days=3, minutes=n), sla_hours=2)
        urgent_ids.append(row["id"])
        rows.append(row)
    table = ToolCall.__table__  # type: ignore[attr-defined]
    with runtime.store.write() as session:
        for start in range(0, len(rows), 5000):
            session.execute(sa.insert(table), rows[start : start + 5000])
    if runtime.store.engine.dialect.name == "postgresql":
        # What autovacuum does for a table in steady use: statistics, and a visibility map for index-only scans.
        with runtime.store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE tool_call"))
    return held, urgent_ids


def _template(runtime: Runtime, amount: float, confidence: float) -> dict[str, Any]:
    arguments = {
        "customer_id": "C-1001",
        "order_id": "O-1001",
        "amount": float(amount),
        "currency": "EUR",
        "reason": "parcel arrived damaged",
    }
    justification = Justification(
        reason="the customer asked", confidence=confidence, evidence=(Evidence(source="ticket"),)
    )
    new = NewCall(tool="issue_refund", arguments=arguments, agent="support-agent", justification=justification)
    spec = runtime.registry["issue_refund"]
    new = NewCall(**{**new.__dict__, "summary": spec.summarize(arguments)})
    verdict = runtime.gateway.classify(new.tool, arguments, agent=new.agent, justification=justification)
    return new_row(new, verdict, CallStatus.HELD, runtime.store)


def _row(template: dict[str, Any], status: CallStatus, created: Any, *, sla_hours: float) -> dict[str, Any]:
    call_id = uuid.uuid4().hex
    held = status == CallStatus.HELD
    return {
        **template,
        "id": call_id,
        "idempotency_key": idempotency_key_for(call_id),
        "status": status.value,
        "created_at": created,
        "updated_at": created,
        "sla_due_at": created + timedelta(hours=sla_hours) if held else None,
        "expires_at": created + timedelta(days=7) if held else None,
        "finished_at": None if held else created,
    }


def _sign_in(client: TestClient) -> None:
    form = client.get("/signin").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    data = {"name": "ada", "password": PASSWORD, "csrf_token": token.group(1), "next": "/queue"}
    response = client.post("/signin", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text


def _time(request: Callable[[], Any]) -> Timing:
    for _ in range(3):
        assert request().status_code == 200  # warm up: templates, statement caches
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        response = request()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    samples.sort()
    return Timing(statistics.median(samples), samples[int(len(samples) * 0.95) - 1])


def _report(name: str, baseline: Run, busy: Run) -> None:
    print(f"{name}: {busy.calls:,} calls ({busy.held:,} held), baseline {baseline.calls:,} ({baseline.held:,} held)")
    print(f"  {'':<16} {'baseline p50':>13} {'busy p50':>10} {'busy p95':>10} {'ratio':>7} {'target':>8}")
    for what in baseline.timings:
        small, big, target = baseline.timings[what], busy.timings[what], TARGETS_MS.get(what)
        verdict = "" if target is None else "met" if big.median_ms < target else "MISSED"
        print(
            f"  {what:<16} {small.median_ms:>10.1f} ms {big.median_ms:>7.1f} ms {big.p95_ms:>7.1f} ms"
            f" {big.median_ms / small.median_ms:>6.1f}x {f'{target:.0f} ms' if target else '':>8} {verdict}"
        )
    print(f"  queue title at {busy.calls:,}: {busy.count_shown!r}")
    print(f"  most urgent held calls on the first page: {busy.urgent_on_first_page} of {URGENT}")
