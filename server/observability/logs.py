"""Logging set-up: readable lines by default, or one JSON object per line (``COUNTERSIGN_LOG_FORMAT=json``).

Every line logged while a call is being handled carries its ``call_id`` (bound by :func:`bind_call` and
:func:`call_context`, which the tracing hooks call), and the trace and span ids when a trace is recorded.
Secrets never reach a line: the configured secret values and anything after ``Bearer `` are replaced by
``[redacted]`` in the message and the traceback alike.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace

REDACTED = "[redacted]"
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
_call_id: ContextVar[str | None] = ContextVar("countersign_call_id", default=None)


def bind_call(call_id: str) -> None:
    """From now on in this context, log lines are about ``call_id``."""
    _call_id.set(call_id)


@contextmanager
def call_context(call_id: str) -> Iterator[None]:
    """Log lines inside the block are about ``call_id``."""
    token = _call_id.set(call_id)
    try:
        yield
    finally:
        _call_id.reset(token)


def current_call() -> str | None:
    return _call_id.get()


# --- one traceback per error ---------------------------------------------------------------------------

_LOGGED = "__countersign_logged__"
# Where the HTTP server reports an error the app raised ("Exception in ASGI application").
SERVER_ERROR_LOGGER = "uvicorn.error"


def log_unhandled(log: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """Log an unhandled error with its traceback, once: the app re-raises it (so the server closes the
    connection, and tests see it), and the server's own report of it is then dropped (``OncePerError``)."""
    log.error(message, *args, exc_info=exc)
    with suppress(AttributeError):  # an exception type with __slots__ cannot be marked; it is logged twice
        setattr(exc, _LOGGED, True)


class OncePerError(logging.Filter):
    """Drops a record about an error whose traceback ``log_unhandled`` already logged with its request."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not getattr(error, _LOGGED, False)


class Redactor:
    """Replaces known secret values and bearer tokens in text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        # Short values would redact ordinary words; secrets worth the name are long.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _BEARER.sub(rf"\1{REDACTED}", text)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, call_id, trace ids, exception."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        call_id = getattr(record, "call_id", None) or _call_id.get()
        if call_id:
            line["call_id"] = call_id
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = format(span.trace_id, "032x")
            line["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            line["exception"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The readable format, with ``[call_id]`` on lines about a call and secrets redacted."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        text = self.redact(super().format(record))
        call_id = getattr(record, "call_id", None) or _call_id.get()
        return f"{text} [call {call_id}]" if call_id else text


def configure(
    *, level: str = "INFO", json_lines: bool = False, secrets: Iterable[str | None] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send every log line to ``stream`` (stderr) in the chosen format; returns the handler installed."""
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if json_lines else TextFormatter(redact))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "countersign", False)]:
        root.removeHandler(old)
    handler.countersign = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    server_errors = logging.getLogger(SERVER_ERROR_LOGGER)
    if not any(isinstance(each, OncePerError) for each in server_errors.filters):
        server_errors.addFilter(OncePerError())
    return handler
