"""OpenTelemetry traces: one span per tool call, with children ``classify``, ``hold``, ``decide``, ``execute``.

    tools/call issue_refund            (the MCP SDK's server span, continuing the agent's traceparent)
      execute_tool issue_refund        (gen_ai.operation.name=execute_tool, gen_ai.tool.name, gen_ai.tool.call.id)
        classify                       (the policy's verdict)
        hold                           (the agent's inline wait for a person)
        decide                         (a person's decision, made on this instance: see call_identified)
          execute                      (the tool runs)

Names follow the GenAI and MCP semantic conventions where they define one. A ``traceparent`` (and
``tracestate``) in the request's ``_meta`` continues the agent's trace. Export is off by default: the
OpenTelemetry API's no-op tracer costs next to nothing. :func:`configure_from_environment` switches on OTLP
(HTTP/protobuf) when the standard variables ask for it: ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set, or ``OTEL_TRACES_EXPORTER=otlp``; ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` keep it off. The exporter reads the rest (headers, timeout, ...) itself.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from server.observability import logs

T = TypeVar("T")
TRACER_NAME = "countersign"
_propagator = TraceContextTextMapPropagator()
# Held calls' span contexts, so a decision on this instance joins the agent's trace (bounded; oldest dropped).
_REMEMBERED_MAX = 10_000
_remembered: OrderedDict[str, trace.SpanContext] = OrderedDict()
_remembered_lock = threading.Lock()


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


_on = False
# OTEL_PYTHON_TRACER_PROVIDER names a provider the API builds on first use (auto-instrumentation).
_provider_from_environment = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


def tracing_on() -> bool:
    """Whether a tracer provider is installed; until one is, spans are skipped outright (the allowed path
    pays a check, not a no-op span). Once installed, a provider stays."""
    global _on
    # The API's own global, read first: get_tracer_provider() consults os.environ on every call until a
    # provider is set, and this runs several times per allowed call.
    if not _on and (getattr(trace, "_TRACER_PROVIDER", None) is not None or _provider_from_environment):
        _on = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    return _on


def export_wanted(environ: Mapping[str, str]) -> bool:
    """Whether the standard OTEL_* variables ask for OTLP export of traces."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return exporter == "otlp" or bool(
        environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_from_environment(environ: Mapping[str, str] | None = None) -> bool:
    """Install a tracer provider exporting over OTLP when the environment asks for it; True when it did."""
    environ = os.environ if environ is None else environ
    if not export_wanted(environ):
        return False
    # Imported here: the SDK and exporter are needed only when traces leave the process.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", "countersign")})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


async def traced_call(tool: str, meta: Mapping[str, Any], call: Awaitable[T]) -> T:
    """Await one MCP tools/call inside its ``execute_tool`` span.

    The MCP SDK's own ``tools/call`` server span (which continues the agent's ``traceparent`` from
    ``_meta``) is its parent; where no span is current, the trace context is read from ``_meta`` here.
    """
    if not tracing_on():
        return await call
    parent = None
    if not trace.get_current_span().get_span_context().is_valid:
        carrier = {key: value for key in ("traceparent", "tracestate") if isinstance(value := meta.get(key), str)}
        parent = _propagator.extract(carrier) if carrier else None
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool, "mcp.method.name": "tools/call"}
    with tracer().start_as_current_span(f"execute_tool {tool}", context=parent, attributes=attributes) as span:
        result = await call
        if getattr(result, "is_error", False):  # a CallToolResult (mcp 2's name; isError is its wire alias)
            span.set_status(Status(StatusCode.ERROR))
        return result


def call_identified(call_id: str, *, held: bool = False) -> None:
    """The current tool call now has an id: on its span (and every log line of this context); held calls
    are remembered so that their decision joins this trace."""
    logs.bind_call(call_id)
    if not tracing_on():
        return
    span = trace.get_current_span()
    span.set_attribute("gen_ai.tool.call.id", call_id)
    if held and span.get_span_context().is_valid:
        with _remembered_lock:
            _remembered[call_id] = span.get_span_context()
            while len(_remembered) > _REMEMBERED_MAX:
                _remembered.popitem(last=False)


# What step() gives when tracing is off and no call id is to be logged: the allowed path takes two steps a
# call, and a generator-based context manager costs several times this shared one.
_NO_STEP: AbstractContextManager[Span] = nullcontext(trace.INVALID_SPAN)


def step(name: str, call_id: str | None = None, **attributes: str | int | float | bool) -> AbstractContextManager[Span]:
    """A child span of the current one (``classify``, ``hold``, ``execute``)."""
    if not tracing_on() and call_id is None:
        return _NO_STEP
    return _step(name, call_id, attributes)


@contextmanager
def _step(name: str, call_id: str | None, attributes: Mapping[str, str | int | float | bool]) -> Iterator[Span]:
    if not tracing_on():
        with logs.call_context(call_id) if call_id is not None else nullcontext():
            yield trace.INVALID_SPAN
        return
    with tracer().start_as_current_span(name, attributes=_attrs(call_id, attributes)) as span:
        if call_id is None:
            yield span
            return
        with logs.call_context(call_id):
            yield span


@contextmanager
def decision(call_id: str, **attributes: str | int | float | bool) -> Iterator[Span]:
    """The ``decide`` span: a child of the held call's span when it was held on this instance."""
    if not tracing_on():
        with logs.call_context(call_id):
            yield trace.INVALID_SPAN
        return
    with _remembered_lock:
        remembered = _remembered.get(call_id)
    parent = trace.set_span_in_context(trace.NonRecordingSpan(remembered)) if remembered is not None else None
    token = otel_context.attach(parent) if parent is not None else None
    try:
        with (
            tracer().start_as_current_span("decide", attributes=_attrs(call_id, attributes)) as span,
            logs.call_context(call_id),
        ):
            yield span
    finally:
        if token is not None:
            otel_context.detach(token)


def _attrs(call_id: str | None, extra: Mapping[str, str | int | float | bool]) -> dict[str, str | int | float | bool]:
    attributes = dict(extra)
    if call_id is not None:
        attributes["gen_ai.tool.call.id"] = call_id
    return attributes
