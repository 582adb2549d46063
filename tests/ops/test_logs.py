"""Structured logs: one JSON object per line, the call id on lines about a call, never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import NoReturn

import httpx2
import pytest

from server.config import Settings
from server.lifecycle.records import NewCall
from server.observability import logs, tracing
from server.runtime import Runtime
from tests.mcp.support import FINANCE, SECRET, refund, serving
from web.app import create_app

TOKEN_SEEN = "csk_live_abcdefghijklmnop0123456789"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logs.configure(level="INFO", json_lines=True, secrets=[SECRET], stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_every_line_is_one_json_object_and_lines_about_a_decided_call_carry_its_id(
    runtime: Runtime, json_lines: io.StringIO
) -> None:
    held = runtime.gateway.submit(NewCall(tool="issue_refund", arguments=refund(400.0), agent="agent-a"))
    runtime.gateway.approve(held.call.id, FINANCE, override_reason="checked the warnings")

    lines = _lines(json_lines)  # json.loads on each line: every line is exactly one object
    about = [line for line in lines if line.get("call_id") == held.call.id]
    messages = [line["message"] for line in about]
    assert "approve: the call is now succeeded" in messages
    assert "executed issue_refund: succeeded" in messages
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)


def test_a_secret_or_a_bearer_token_in_a_message_or_a_traceback_is_redacted(json_lines: io.StringIO) -> None:
    log = logging.getLogger("countersign.test")
    log.warning("connecting with key %s and Authorization: Bearer %s", SECRET, TOKEN_SEEN)
    try:
        raise RuntimeError(f"refused: {SECRET}")
    except RuntimeError:
        log.exception("failed", extra={"call_id": "call-123"})

    text = json_lines.getvalue()
    assert SECRET not in text and TOKEN_SEEN not in text
    first, second = _lines(json_lines)
    assert first["message"] == "connecting with key [redacted] and Authorization: Bearer [redacted]"
    assert second["call_id"] == "call-123" and "refused: [redacted]" in str(second["exception"])


def test_the_text_format_names_the_call_and_redacts_too() -> None:
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logs.configure(json_lines=False, secrets=[SECRET], stream=stream)
    try:
        with logs.call_context("call-9"):
            logging.getLogger("countersign.test").warning("key %s", SECRET)
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)

    assert stream.getvalue().rstrip().endswith("countersign.test: key [redacted] [call call-9]")


def test_lines_inside_a_step_about_a_call_carry_its_id_and_lines_after_it_do_not(json_lines: io.StringIO) -> None:
    log = logging.getLogger("countersign.test")
    before = logs.current_call()  # whatever an earlier call in this context bound
    with tracing.step("classify"):
        log.info("no call yet")
    with tracing.step("execute", "call-7"):
        log.info("running")
    log.info("done")
    assert [line.get("call_id") for line in _lines(json_lines)] == [before, "call-7", before]


def test_an_unexpected_error_leaves_one_traceback_naming_its_request_on_pages_and_on_mcp(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvicorn reports every error an app re-raises ("Exception in ASGI application"): without the filter
    # `countersign serve` logged each page error twice, and agents' errors only without their request.
    def bug() -> NoReturn:
        raise RuntimeError("a bug")

    monkeypatch.setattr(runtime.people, "authenticate_token", lambda _token: bug())
    app = create_app(runtime.settings, runtime)
    app.router.add_api_route("/boom", bug, response_model=None)
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logs.configure(level="INFO", stream=stream)
    try:
        with serving(app, log_config=None) as url:  # uvicorn's loggers left to ours, as `countersign serve` does
            page = httpx2.get(f"{url}/boom", timeout=10)
            mcp = httpx2.post(
                f"{url}/mcp",
                headers={"Authorization": f"Bearer {TOKEN_SEEN}", "Accept": "application/json, text/event-stream"},
                json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                timeout=10,
            )
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)

    assert (page.status_code, mcp.status_code) == (500, 500)
    assert "a bug" not in page.text + mcp.text
    text = stream.getvalue()
    assert text.count("Traceback") == 2
    assert "unhandled error on GET /boom" in text and "unhandled error on POST /mcp" in text
    assert "Exception in ASGI application" not in text


def test_the_sso_client_secret_and_database_passwords_are_redacted_like_the_other_secrets() -> None:
    settings = Settings(
        database_url="postgresql://countersign:db-password-4711@db.internal/countersign",
        backoffice_url="postgresql://office:office-password-0815@db.internal/office",
        oidc_issuer="https://idp.example.com",
        oidc_client_id="countersign",
        oidc_client_secret="oidc-client-secret-2342",
    )
    stream = io.StringIO()
    level = logging.getLogger().level
    handler = logs.configure(secrets=settings.secret_values(), stream=stream)
    try:
        logging.getLogger("countersign.test").warning(
            "connecting to %s and %s as %s",
            settings.database_url,
            settings.backoffice_url,
            settings.oidc_client_secret,
        )
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(level)
    text = stream.getvalue()
    assert "db.internal/countersign" in text  # the rest of the URL stays readable
    for secret in ("db-password-4711", "office-password-0815", "oidc-client-secret-2342"):
        assert secret not in text
