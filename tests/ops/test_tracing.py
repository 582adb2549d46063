"""Spans through a real MCP client call, captured with the SDK's in-memory exporter.

The SDK's provider is installed once for the test process (OpenTelemetry allows one global provider); a
gate lets spans reach the exporter only during these tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp import Client
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from server.observability.tracing import export_wanted
from server.runtime import Runtime
from tests.mcp.support import FINANCE, HeldCalls, make_runtime, make_settings, mcp_server, refund

AGENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
AGENT_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{AGENT_TRACE}-{AGENT_SPAN}-01"


class _Gate(SpanProcessor):
    def __init__(self, inner: SpanProcessor) -> None:
        self.inner = inner
        self.open = False

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.open:
            self.inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.open:
            self.inner.on_end(span)


_EXPORTER = InMemorySpanExporter()
_GATE = _Gate(SimpleSpanProcessor(_EXPORTER))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    if not getattr(provider, "_countersign_gate", False):
        provider.add_span_processor(_GATE)
        provider._countersign_gate = True  # type: ignore[attr-defined]
    _EXPORTER.clear()
    _GATE.open = True
    yield _EXPORTER
    _GATE.open = False
    _EXPORTER.clear()


def _by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def _parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_an_allowed_call_is_one_execute_tool_span_continuing_the_agents_trace(
    runtime: Runtime, spans: InMemorySpanExporter
) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("search_customers", {"query": "acme"}, meta={"traceparent": TRACEPARENT})

    call_id = (result.meta or {})["countersign/call"]["call_id"]
    named = _by_name(spans)
    tool = named["execute_tool search_customers"]
    assert tool.context is not None and format(tool.context.trace_id, "032x") == AGENT_TRACE
    server = named["tools/call search_customers"]  # the MCP SDK's span, continuing the agent's traceparent
    assert _parent_of(server) == int(AGENT_SPAN, 16)
    assert server.context is not None and _parent_of(tool) == server.context.span_id
    assert dict(tool.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search_customers",
        "gen_ai.tool.call.id": call_id,
        "mcp.method.name": "tools/call",
    }
    for child in ("classify", "execute"):
        assert _parent_of(named[child]) == tool.context.span_id
        assert named[child].context is not None and named[child].context.trace_id == tool.context.trace_id


async def test_a_held_call_has_classify_hold_decide_and_execute_in_one_trace(
    database_url: str, spans: InMemorySpanExporter
) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=20, journal_writer="thread"))
    try:
        held = HeldCalls(runtime)
        results: list[Any] = []
        with anyio.fail_after(20):
            async with Client(mcp_server(runtime)) as client, anyio.create_task_group() as group:

                async def agent() -> None:
                    results.append(
                        await client.call_tool("issue_refund", refund(400.0), meta={"traceparent": TRACEPARENT})
                    )

                group.start_soon(agent)
                call_id = await held.next()
                await anyio.to_thread.run_sync(
                    lambda: runtime.gateway.approve(call_id, FINANCE, override_reason="checked the warnings")
                )
    finally:
        runtime.close()

    assert results[0].is_error is False
    named = _by_name(spans)
    tool = named["execute_tool issue_refund"]
    assert tool.context is not None
    assert (tool.attributes or {})["gen_ai.tool.call.id"] == call_id
    for child in ("classify", "hold", "decide"):
        assert _parent_of(named[child]) == tool.context.span_id, child
    assert _parent_of(named["execute"]) == named["decide"].context.span_id  # type: ignore[union-attr]
    ours = ("execute_tool issue_refund", "classify", "hold", "decide", "execute")
    assert {named[name].context.trace_id for name in ours} == {int(AGENT_TRACE, 16)}  # type: ignore[union-attr]
    for child in ("hold", "decide", "execute"):
        assert (named[child].attributes or {})["gen_ai.tool.call.id"] == call_id


async def test_a_call_without_a_traceparent_starts_its_own_trace(runtime: Runtime, spans: InMemorySpanExporter) -> None:
    async with Client(mcp_server(runtime)) as client:
        await client.call_tool("search_customers", {"query": "acme"})

    named = _by_name(spans)
    server, tool = named["tools/call search_customers"], named["execute_tool search_customers"]
    assert server.parent is None and server.context is not None
    assert _parent_of(tool) == server.context.span_id


def test_otlp_export_is_off_unless_the_standard_variables_ask_for_it() -> None:
    assert not export_wanted({})
    assert export_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert export_wanted({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert export_wanted({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not export_wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"})
    assert not export_wanted({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"})
