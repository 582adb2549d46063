"""When the database fails after a commit, every answer says what was committed, and no SQL leaks.

The failure is real (tests/faults.py): from the commit of the decision, of the held call or of the
refund on, every statement gets the driver's own OperationalError, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

from fastapi import FastAPI
from mcp import Client

from server.lifecycle.records import NewCall
from server.lifecycle.states import CallStatus
from server.mcp.catalog import AWAIT_DECISION
from server.runtime import Runtime
from tests.api.conftest import Tokens, api, held, seen
from tests.faults import DatabaseDiesAfter
from tests.mcp.support import mcp_server, refund

SQL_WORDS = ("SELECT", "UPDATE", "INSERT", "[SQL", "parameters", "Traceback", "injected")


def _no_sql(text: str) -> None:
    assert not [word for word in SQL_WORDS if word in text], text


async def test_an_approval_whose_call_cannot_start_says_the_approval_is_stored(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    async with api(app, tokens.fiona) as http:
        fault = DatabaseDiesAfter(runtime.store.engine, "INSERT INTO decision")
        try:
            response = await http.post(f"/api/calls/{call.id}/approve", json=seen(call))
        finally:
            fault.heal()
    assert fault.dead.is_set()
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "approval" in detail and "is stored" in detail and "nothing was changed" not in detail
    _no_sql(response.text)

    assert runtime.gateway.get_call(call.id).status == CallStatus.APPROVED  # type: ignore[union-attr]
    runtime.gateway.sweep()  # the database is back: the stored approval runs, once
    assert runtime.gateway.get_call(call.id).status == CallStatus.SUCCEEDED  # type: ignore[union-attr]


async def test_a_held_call_whose_answer_fails_gives_its_call_id_and_says_await_decision(runtime: Runtime) -> None:
    fault = DatabaseDiesAfter(runtime.store.engine, "INSERT INTO tool_call")
    try:
        async with Client(mcp_server(runtime)) as client:
            result = await client.call_tool("issue_refund", refund(400.0), meta={"countersign/inline_wait": 1})
    finally:
        fault.heal()
    assert fault.dead.is_set()
    data = result.structured_content or {}
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and data["status"] == "held" and data["do_not_retry"] is True
    assert data["call_id"] in text and AWAIT_DECISION in text
    assert "nothing was done" not in text.lower() and "try again" not in text.lower()
    _no_sql(json.dumps(data) + text)
    assert runtime.gateway.get_call(data["call_id"]).status == CallStatus.HELD  # type: ignore[union-attr]


async def test_an_allowed_refund_whose_outcome_cannot_be_recorded_says_it_ran(runtime: Runtime) -> None:
    from tests.core.kill_worker import SURE  # a justification the policy lets small refunds through with

    fault = DatabaseDiesAfter(runtime.store.engine, "INSERT INTO bo_refund")
    try:
        async with Client(mcp_server(runtime)) as client:
            arguments = {**refund(20.0), "justification": SURE.model_dump(mode="json", exclude_none=True)}
            result = await client.call_tool("issue_refund", arguments)
    finally:
        fault.heal()
    assert fault.dead.is_set(), result
    data = result.structured_content or {}
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.is_error and data["status"] == "executing" and data["do_not_retry"] is True
    assert "ran" in text and AWAIT_DECISION in text and data["call_id"] in text
    _no_sql(json.dumps(data) + text)
    # The record of the refund was committed before it ran; recovery settles it (a keyed tool re-runs with its key).
    stored = runtime.gateway.get_call(data["call_id"])
    assert stored is not None and stored.status == CallStatus.EXECUTING


def test_a_tool_whose_database_fails_answers_without_sql(runtime: Runtime) -> None:
    fault = DatabaseDiesAfter(runtime.store.engine, "INSERT INTO tool_call")
    fault.dead.set()  # the tool's own queries fail (the journal writes through the driver, below the events)
    try:
        submission = runtime.gateway.submit(NewCall(tool="search_customers", arguments={"query": "acme"}, agent="r"))
    finally:
        fault.heal()
    assert submission.ran is not None and submission.ran["is_error"]
    assert "database" in submission.ran["error"]
    _no_sql(json.dumps(submission.ran["result"]) + submission.ran["error"])
