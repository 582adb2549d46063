"""`/metrics`: scraped over HTTP and parsed with prometheus_client's own parser, as Prometheus would."""

from __future__ import annotations

from pathlib import Path

import httpx2
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from server.config import Settings
from server.lifecycle.records import NewCall
from server.observability import metrics
from server.runtime import Runtime, build_runtime
from server.store.db import Store
from server.upstream.config import StdioUpstream, UpstreamsConfig
from tests.clock import Clock
from tests.mcp.support import FINANCE, demo_registry, free_port, refund
from tests.ops.support import client
from tools.backoffice import seed
from web.app import create_app

TOKEN = "metrics-scrape-token-0123456789abcdef"


def _samples(text: str) -> dict[str, list[Sample]]:
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


def _scrape(runtime: Runtime) -> dict[str, list[Sample]]:
    return _samples(metrics.exposition(runtime).decode())


async def test_metrics_need_the_token_and_are_absent_without_one(settings: Settings, runtime: Runtime) -> None:
    guarded = settings.model_copy(update={"metrics_token": TOKEN})
    runtime.settings = guarded
    async with client(create_app(guarded, runtime)) as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        right = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    runtime.settings = settings
    async with client(create_app(settings, runtime)) as http:
        unset = await http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})

    assert anonymous.status_code == 401 and wrong.status_code == 401
    assert right.status_code == 200 and right.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "countersign_held_calls" in _samples(right.text)
    assert unset.status_code == 404  # no token configured: not served on the public port at all


def test_calls_held_waiting_decided_and_executed_show_in_the_scrape(runtime: Runtime) -> None:
    before = _scrape(runtime)
    gateway = runtime.gateway
    gateway.submit(NewCall(tool="search_customers", arguments={"query": "acme"}, agent="agent-a"))
    held = gateway.submit(NewCall(tool="issue_refund", arguments=refund(400.0), agent="agent-a"))
    second = gateway.submit(NewCall(tool="issue_refund", arguments=refund(401.0), agent="agent-a"))
    waiting = _scrape(runtime)
    gateway.approve(held.call.id, FINANCE, override_reason="checked the warnings")
    gateway.reject(second.call.id, FINANCE, reason="duplicate")
    after = _scrape(runtime)

    calls = "countersign_tool_calls"
    assert _value(waiting[calls], calls + "_total", tool="search_customers", verdict="allow") == (
        _value(before[calls], calls + "_total", tool="search_customers", verdict="allow") + 1
    )
    assert _value(waiting[calls], calls + "_total", tool="issue_refund", verdict="hold") == (
        _value(before[calls], calls + "_total", tool="issue_refund", verdict="hold") + 2
    )
    assert _value(waiting["countersign_held_calls"], "countersign_held_calls", queue="finance") == 2
    assert _value(after["countersign_held_calls"], "countersign_held_calls", queue="finance") == 0
    decided = "countersign_decision_seconds"
    for decision in ("approved", "rejected"):
        grown = _value(after[decided], decided + "_count", decision=decision) - _value(
            before[decided], decided + "_count", decision=decision
        )
        assert grown == 1
    runs = "countersign_executions"
    assert _value(after[runs], runs + "_total", path="approved", outcome="succeeded") == (
        _value(before[runs], runs + "_total", path="approved", outcome="succeeded") + 1
    )
    assert _value(after[runs], runs + "_total", path="allowed", outcome="succeeded") >= 1


def test_label_values_are_bounded_no_call_id_agent_or_argument_in_any_label(runtime: Runtime) -> None:
    secret_ish = "customer-C-1001-unique-argument"
    invented = "tool_nobody_has_" + "x" * 20
    call = runtime.gateway.submit(NewCall(tool="search_customers", arguments={"query": secret_ish}, agent="agent-zz"))
    runtime.gateway.submit(NewCall(tool=invented, arguments={}, agent="agent-zz"))
    text = metrics.exposition(runtime).decode()

    assert secret_ish not in text and "agent-zz" not in text and invented not in text
    assert call.call.id not in text
    samples = _scrape(runtime)["countersign_tool_calls"]
    assert _value(samples, "countersign_tool_calls_total", tool="other", verdict="block") >= 1


def test_sla_breaches_journal_and_upstream_health_are_reported(settings: Settings, tmp_path: Path) -> None:
    clock = Clock()
    missing = (str(tmp_path / "no-such-server"),)
    upstreams = UpstreamsConfig(None, {"billing": StdioUpstream(command=missing, required=True, connect_timeout=2)})
    store = Store.open(settings.database_url, clock=clock)
    runtime = build_runtime(settings, registry=demo_registry(), store=store, upstreams=upstreams)
    seed(runtime.office)
    try:
        runtime.gateway.submit(NewCall(tool="issue_refund", arguments=refund(400.0), agent="agent-a"))
        on_time = _scrape(runtime)
        clock.advance(hours=5)  # past the finance queue's SLA (policies/: 4h)
        late = _scrape(runtime)
    finally:
        runtime.close()

    breaches = "countersign_sla_breaches"
    assert _value(on_time[breaches], breaches, queue="finance") == 0
    assert _value(late[breaches], breaches, queue="finance") == 1
    assert _value(late["countersign_upstream_up"], "countersign_upstream_up", upstream="billing", required="true") == 0
    assert _value(late["countersign_journal_healthy"], "countersign_journal_healthy") == 1
    assert _value(late["countersign_journal_lag_seconds"], "countersign_journal_lag_seconds") >= 0
    assert _value(late["countersign_database_up"], "countersign_database_up") == 1


def test_metrics_on_their_own_port_answer_without_a_token(runtime: Runtime) -> None:
    port = free_port()
    stop = metrics.serve_on_port(runtime, "127.0.0.1", port)
    try:
        scraped = httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    finally:
        stop()

    assert scraped.status_code == 200
    assert "countersign_held_calls" in _samples(scraped.text)
