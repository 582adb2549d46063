"""Prometheus metrics: counters kept by this process, gauges read from the database at each scrape.

    metrics.call_classified(tool, verdict)      # hooks in the gateway, review service and executor
    body = metrics.exposition(runtime)          # what /metrics serves (text format 0.0.4)

Label values are bounded: tool names from the catalogue (anything else is ``other``), verdicts, outcomes,
queues from the policy, upstream names from the configuration. Never a call id, an agent or an argument.
Counters are per process (Prometheus sums instances); gauges computed from the database (held calls, SLA
breaches) are the same on every instance, so aggregate them with ``max``, not ``sum``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import col, select

from server.lifecycle.states import CallStatus
from server.store.models import ToolCall

if TYPE_CHECKING:
    from server.runtime import Runtime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OTHER = "other"

_PROCESS = CollectorRegistry(auto_describe=True)
CALLS = Counter(
    "countersign_tool_calls",
    "Tool calls classified, by tool and the policy's verdict (allow, hold, block).",
    ["tool", "verdict"],
    registry=_PROCESS,
)
DECISION_SECONDS = Histogram(
    "countersign_decision_seconds",
    "Seconds from a held call's arrival to a person's final decision.",
    ["decision"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600),
    registry=_PROCESS,
)
EXECUTIONS = Counter(
    "countersign_executions",
    "Tool executions by path (allowed at once, or approved) and outcome.",
    ["path", "outcome"],
    registry=_PROCESS,
)


# Label children by label values: ``labels()`` takes a lock and builds a key on every call; this is one dict read.
_children: dict[tuple[str, str, str], Any] = {}


def _child(metric: Counter, name: str, first: str, second: str) -> Any:
    key = (name, first, second)
    child = _children.get(key)
    if child is None:
        child = _children.setdefault(key, metric.labels(first, second))
    return child


def call_classified(tool: str, verdict: str, *, known: bool) -> None:
    """A call got its verdict; ``known`` says the tool is in the catalogue (else it is counted as ``other``)."""
    _child(CALLS, "calls", tool if known else OTHER, str(verdict)).inc()


def decided(decision: str, created_at: datetime | None, decided_at: datetime | None) -> None:
    """A held call got its final decision (``approved`` or ``rejected``)."""
    if created_at is not None and decided_at is not None:
        DECISION_SECONDS.labels(decision).observe(max(0.0, (decided_at - created_at).total_seconds()))


def executed(path: str, outcome: str) -> None:
    """A tool ran (path ``allowed`` or ``approved``) and ended: succeeded, tool_error, failed, unknown_outcome."""
    _child(EXECUTIONS, "executions", path, str(outcome)).inc()


class _FromDatabase(Collector):
    """Gauges read at scrape time from the database and the running parts; a failed read is reported as a gauge."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        yield from self._held()
        yield from self._journal()
        yield from self._upstreams()

    def _held(self) -> Iterator[Metric]:
        store = self.runtime.store
        now = store.now()
        waiting = GaugeMetricFamily(
            "countersign_held_calls", "Held calls waiting for a person, by queue.", labels=["queue"]
        )
        breached = GaugeMetricFamily(
            "countersign_sla_breaches",
            "Held calls past their queue's SLA and still undecided, by queue.",
            labels=["queue"],
        )
        up = GaugeMetricFamily("countersign_database_up", "1 when the scrape could read the database.")
        try:
            with store.read() as session:
                held = session.exec(
                    select(ToolCall.queue, func.count())
                    .where(ToolCall.status == CallStatus.HELD)
                    .group_by(col(ToolCall.queue))
                ).all()
                late = session.exec(
                    select(ToolCall.queue, func.count())
                    .where(ToolCall.status == CallStatus.HELD, col(ToolCall.sla_due_at) < now)
                    .group_by(col(ToolCall.queue))
                ).all()
        except Exception:  # a scrape must answer; the outage is the gauge below
            up.add_metric([], 0)
            yield up
            return
        # Queues are named by the policy (admins' data), never by an agent: a bounded set.
        for queue, count in held:
            waiting.add_metric([queue or OTHER], count)
        for queue, count in late:
            breached.add_metric([queue or OTHER], count)
        up.add_metric([], 1)
        yield from (waiting, breached, up)

    def _journal(self) -> Iterator[Metric]:
        journal = self.runtime.gateway.journal
        pending, oldest = journal.backlog()
        lag = (self.runtime.store.now() - oldest).total_seconds() if isinstance(oldest, datetime) else 0.0
        queued = GaugeMetricFamily("countersign_journal_queued_rows", "Allowed calls ran but not yet committed.")
        queued.add_metric([], pending)
        age = GaugeMetricFamily(
            "countersign_journal_lag_seconds", "Age of the oldest allowed call not yet committed (0 when none)."
        )
        age.add_metric([], max(0.0, lag))
        healthy = GaugeMetricFamily("countersign_journal_healthy", "1 while the allowed-call journal can write.")
        healthy.add_metric([], 1 if journal.healthy else 0)
        yield from (queued, age, healthy)

    def _upstreams(self) -> Iterator[Metric]:
        hub = self.runtime.hub
        gauge = GaugeMetricFamily(
            "countersign_upstream_up", "1 when the upstream MCP server is connected.", labels=["upstream", "required"]
        )
        if hub is not None:
            for name, state in sorted(hub.status().items()):
                gauge.add_metric([name, "true" if state["required"] else "false"], 1 if state["state"] == "up" else 0)
        yield gauge


class _Process(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from _PROCESS.collect()


def registry_for(runtime: Runtime) -> CollectorRegistry:
    """A registry holding this process's counters and the runtime's scrape-time gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Process())
    registry.register(_FromDatabase(runtime))
    return registry


def exposition(runtime: Runtime) -> bytes:
    """The Prometheus text exposition of every metric. Blocking (database read): call from a worker thread."""
    return generate_latest(registry_for(runtime))


def serve_on_port(runtime: Runtime, host: str, port: int) -> Callable[[], None]:
    """Serve /metrics on its own port (``COUNTERSIGN_METRICS_PORT``), in a thread; returns its stop function."""
    server, thread = start_http_server(port, addr=host, registry=registry_for(runtime))

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
