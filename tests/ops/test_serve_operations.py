"""`countersign serve` as operations run it: JSON logs, OTLP traces to a collector, metrics on their own port.

The collector is a local recording HTTP server (this machine runs no OpenTelemetry Collector): it keeps
what the OTLP/HTTP exporter posts to /v1/traces, decoded with the OTLP protobuf definitions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import httpx2
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.mcp.support import ServeProcess, free_port, http_agent, run_cli


class _Collector(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Receive)
        self.span_names: list[str] = []
        self.received = threading.Event()


class _Receive(BaseHTTPRequestHandler):
    server: _Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    self.server.span_names.extend(span.name for span in scope.spans)
            if any(name.startswith("execute_tool") for name in self.server.span_names):
                self.server.received.set()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def collector() -> Iterator[_Collector]:
    server = _Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.slow
async def test_serve_exports_traces_over_otlp_logs_json_and_serves_metrics_on_their_own_port(
    database_url: str, tmp_path: Path, collector: _Collector
) -> None:
    metrics_port = free_port()
    log = tmp_path / "serve.log"
    serve = ServeProcess(
        database_url,
        log,
        command="demo",
        COUNTERSIGN_LOG_FORMAT="json",
        COUNTERSIGN_LOG_LEVEL="INFO",
        COUNTERSIGN_METRICS_PORT=str(metrics_port),
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.server_address[1]}",
        OTEL_BSP_SCHEDULE_DELAY="100",
    )
    serve.start()
    try:
        token = run_cli(database_url, "agent", "add", "ops-agent").strip().splitlines()[-1]
        with anyio.fail_after(30):
            async with http_agent(f"{serve.url}/mcp", token) as agent:
                found = await agent.call_tool("search_customers", {"query": "acme"})
            ready = httpx2.get(f"{serve.url}/readyz", timeout=10)
            scraped = httpx2.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
            exported = await anyio.to_thread.run_sync(collector.received.wait, 20)
    finally:
        serve.stop()

    assert found.is_error is False
    assert ready.status_code == 200, ready.text
    assert scraped.status_code == 200 and 'countersign_tool_calls_total{tool="search_customers",verdict="allow"}' in (
        scraped.text
    )
    assert exported, collector.span_names
    assert {"execute_tool search_customers", "classify", "execute"} <= set(collector.span_names)
    # Every log line is one JSON object; the rest are what `demo` prints once for its operator (not logs).
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    logged = [json.loads(line) for line in lines if line.startswith("{")]
    printed = [line for line in lines if not line.startswith("{")]
    assert len(printed) <= 5 and any(line.startswith("demo agent token") for line in printed)
    assert any(entry["logger"] == "server.policy.holder" for entry in logged)
