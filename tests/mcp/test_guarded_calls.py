"""The guarded tools/call through an in-memory MCP client: every outcome an agent can get.

Runs on SQLite and (with COUNTERSIGN_TEST_DATABASE_URL) on PostgreSQL.
"""

from __future__ import annotations

import json

import anyio
import pytest
import sqlalchemy as sa
from mcp import Client
from sqlmodel import select

from server.lifecycle import decisions
from server.lifecycle.errors import Forbidden
from server.lifecycle.states import CallStatus
from server.mcp.catalog import AWAIT_DECISION, JUSTIFICATION, LIST_MY_PENDING
from server.runtime import Runtime
from server.store.db import Store, StoreUnavailable
from server.store.models import AuditEvent
from tests.clock import Clock
from tests.mcp.support import (
    ADMIN,
    EVIDENCE,
    EXPORT,
    FINANCE,
    HeldCalls,
    make_runtime,
    make_settings,
    mcp_server,
    refund,
)
from tools.backoffice import ids
from tools.backoffice import tables as t

NO_WAIT = {"countersign/inline_wait": 0}


def refunds_of(runtime: Runtime, order_id: str) -> list[dict[str, object]]:
    with runtime.office.read() as conn:
        rows = conn.execute(sa.select(t.refunds).where(t.refunds.c.order_id == order_id)).mappings().all()
    return [dict(r) for r in rows]


async def test_tools_list_has_every_business_tool_with_an_optional_justification_and_the_gateway_tools(
    runtime: Runtime,
) -> None:
    async with Client(mcp_server(runtime)) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert {spec.name for spec in runtime.registry} | {AWAIT_DECISION, LIST_MY_PENDING} == set(listed)
    refund_tool = listed["issue_refund"]
    assert JUSTIFICATION in refund_tool.input_schema["properties"]
    assert JUSTIFICATION not in refund_tool.input_schema.get("required", [])
    assert "approval" in (refund_tool.description or "")
    assert refund_tool.annotations is not None and refund_tool.annotations.read_only_hint is False
    assert listed["get_customer"].annotations is not None and listed["get_customer"].annotations.read_only_hint
    assert listed[AWAIT_DECISION].input_schema["required"] == ["call_id"]


async def test_allowed_read_returns_the_tools_own_result_with_the_call_in_meta(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID})

    assert result.is_error is False
    assert result.structured_content is not None
    assert result.structured_content["customer"]["id"] == ids.REFUND_CUSTOMER_ID
    assert json.loads(result.content[0].text) == result.structured_content  # type: ignore[union-attr]
    note = (result.meta or {})["countersign/call"]
    assert note["status"] == "allowed" and note["verdict"]["action"] == "allow"
    stored = runtime.gateway.get_call(note["call_id"])
    assert stored is not None and stored.agent == "agent-a" and stored.status == "allowed"
    assert stored.result is None  # reading tools' output is returned, not kept


async def test_awaiting_an_allowed_read_says_its_output_was_not_kept(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        first = await client.call_tool("get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID})
        call_id = (first.meta or {})["countersign/call"]["call_id"]
        later = await client.call_tool("await_decision", {"call_id": call_id})

    assert later.is_error is False
    assert later.structured_content == {"status": "allowed", "call_id": call_id}
    assert "call the tool again" in later.content[0].text  # type: ignore[union-attr]


async def test_small_refund_with_evidence_and_confidence_runs_at_once_and_the_justification_is_stored(
    runtime: Runtime,
) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("issue_refund", refund(40.0, justification=EVIDENCE))

    assert result.is_error is False
    assert result.structured_content is not None and result.structured_content["status"] == "issued"
    note = (result.meta or {})["countersign/call"]
    assert note["verdict"]["rules"] == ["small-confident-refund"]
    stored = runtime.gateway.get_call(note["call_id"])
    assert stored is not None and stored.justification is not None
    assert stored.justification["evidence"] == [{"source": "ticket:T-1042"}]
    assert JUSTIFICATION not in json.loads(stored.arguments)  # stripped before the tool ran
    assert [r["amount_cents"] for r in refunds_of(runtime, ids.REFUND_ORDER_ID)] == [4000]


async def test_blocked_call_is_a_do_not_retry_error_naming_the_rule(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("bulk_export_customer_data", EXPORT)

    assert result.is_error is True
    data = result.structured_content or {}
    assert data["status"] == "blocked" and data["do_not_retry"] is True
    assert data["rule"] == "no-bulk-destruction" and data["reason"]
    assert runtime.gateway.get_call(data["call_id"]) is not None


async def test_held_call_approved_during_the_inline_wait_returns_the_real_result(database_url: str) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=20))
    try:
        held = HeldCalls(runtime)
        results = []
        with anyio.fail_after(20):
            async with Client(mcp_server(runtime)) as client, anyio.create_task_group() as group:

                async def agent() -> None:
                    results.append(await client.call_tool("issue_refund", refund(400.0)))

                group.start_soon(agent)
                call_id = await held.next()
                await anyio.to_thread.run_sync(
                    lambda: runtime.gateway.approve(call_id, FINANCE, override_reason="checked the warnings")
                )
        (result,) = results
        assert result.is_error is False
        assert result.structured_content is not None and result.structured_content["amount"] == "400.00"
        assert (result.meta or {})["countersign/call"]["approvers"] == ["fiona"]
        assert [r["amount_cents"] for r in refunds_of(runtime, ids.REFUND_ORDER_ID)] == [40000]
    finally:
        runtime.close()


async def test_held_call_answers_pending_approval_then_await_decision_returns_the_result(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        with anyio.fail_after(10):
            pending = await client.call_tool("issue_refund", refund(400.0))
        assert pending.is_error is False
        data = pending.structured_content or {}
        assert data["status"] == "pending_approval" and data["queue"] == "finance"
        assert data["review_url"] == f"{runtime.settings.base_url}/calls/{data['call_id']}"
        assert data["expires_at"]
        assert "await_decision" in pending.content[0].text  # type: ignore[union-attr]
        assert refunds_of(runtime, ids.REFUND_ORDER_ID) == []  # nothing ran yet

        # Approval runs the call server-side, whether or not the agent is listening.
        runtime.gateway.approve(
            data["call_id"], FINANCE, reason="photos check out", override_reason="checked the warnings"
        )
        assert len(refunds_of(runtime, ids.REFUND_ORDER_ID)) == 1
        with anyio.fail_after(10):
            final = await client.call_tool(AWAIT_DECISION, {"call_id": data["call_id"], "wait_seconds": 1})

    assert final.is_error is False
    assert final.structured_content is not None and final.structured_content["status"] == "issued"
    assert len(refunds_of(runtime, ids.REFUND_ORDER_ID)) == 1  # awaiting does not run it again


async def test_await_decision_on_an_undecided_call_answers_pending_approval_again(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        pending = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
        call_id = (pending.structured_content or {})["call_id"]
        with anyio.fail_after(10):
            again = await client.call_tool(AWAIT_DECISION, {"call_id": call_id, "wait_seconds": 0.2})

    assert again.is_error is False
    assert again.structured_content == pending.structured_content


async def test_rejected_call_tells_the_agent_who_rejected_it_and_why(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        pending = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
        call_id = (pending.structured_content or {})["call_id"]
        runtime.gateway.reject(call_id, FINANCE, reason="the parcel was returned undamaged")
        with anyio.fail_after(10):
            result = await client.call_tool(AWAIT_DECISION, {"call_id": call_id})

    assert result.is_error is True
    assert result.structured_content == {
        "status": "rejected",
        "call_id": call_id,
        "reason": "the parcel was returned undamaged",
        "reviewer": "fiona",
        "do_not_retry": True,
    }
    assert refunds_of(runtime, ids.REFUND_ORDER_ID) == []


async def test_call_nobody_decided_in_time_is_reported_expired(database_url: str) -> None:
    clock = Clock()
    settings = make_settings(database_url)
    runtime = make_runtime(settings, store=Store.open(settings.database_url, clock=clock))
    try:
        async with Client(mcp_server(runtime)) as client:
            pending = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
            call_id = (pending.structured_content or {})["call_id"]
            clock.advance(days=2)  # the default policy expires held calls after 24 h
            with anyio.fail_after(10):
                result = await client.call_tool(AWAIT_DECISION, {"call_id": call_id})
        data = result.structured_content or {}
        assert result.is_error is True
        assert data["status"] == "expired" and data["do_not_retry"] is True and data["expired_at"]
        assert refunds_of(runtime, ids.REFUND_ORDER_ID) == []
    finally:
        runtime.close()


async def test_edited_and_approved_call_runs_with_the_edited_arguments_and_says_what_changed(
    runtime: Runtime,
) -> None:
    async with Client(mcp_server(runtime)) as client:
        pending = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
        call_id = (pending.structured_content or {})["call_id"]
        runtime.gateway.approve(
            call_id, FINANCE, reason="half is fair", arguments=refund(200.0), override_reason="checked the warnings"
        )
        runtime.gateway.approve(call_id, ADMIN, override_reason="checked the warnings")  # someone besides the editor
        with anyio.fail_after(10):
            result = await client.call_tool(AWAIT_DECISION, {"call_id": call_id})

    assert result.is_error is False
    assert result.structured_content is not None and result.structured_content["amount"] == "200.00"
    note = (result.meta or {})["countersign/call"]
    assert note["diff"] == [{"field": "amount", "before": 400.0, "after": 200.0}]
    assert "amount: 400.0 -> 200.0" in result.content[1].text  # type: ignore[union-attr]
    assert [r["amount_cents"] for r in refunds_of(runtime, ids.REFUND_ORDER_ID)] == [20000]


async def test_approved_call_that_fails_when_run_is_a_failed_do_not_retry_error(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        pending = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
        call_id = (pending.structured_content or {})["call_id"]
        # Between the hold and the approval someone else refunded most of the order.
        with runtime.office.write() as conn:
            conn.execute(t.orders.update().where(t.orders.c.id == ids.REFUND_ORDER_ID).values(status="cancelled"))
        runtime.gateway.approve(call_id, FINANCE, override_reason="checked the warnings")
        with anyio.fail_after(10):
            result = await client.call_tool(AWAIT_DECISION, {"call_id": call_id})

    data = result.structured_content or {}
    assert result.is_error is True
    assert data["status"] == CallStatus.FAILED and data["do_not_retry"] is True and "cancelled" in data["error"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (refund(-5.0), "amount"),
        ({k: v for k, v in refund().items() if k != "order_id"}, "order_id"),
        (refund(currency=12), "currency"),
        (refund(surprise=True), "surprise"),
        (refund(justification={"confidence": 3}), "justification.confidence"),
        (refund(justification={"evidence": [{"excerpt": "no source"}]}), "justification.evidence.0.source"),
    ],
    ids=["negative-amount", "missing-order", "wrong-type", "unknown-argument", "confidence-above-1", "evidence-source"],
)
async def test_invalid_arguments_are_a_tool_error_naming_the_field_and_are_recorded(
    runtime: Runtime, arguments: dict[str, object], field: str
) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("issue_refund", arguments)

    data = result.structured_content or {}
    assert result.is_error is True
    assert data["status"] == "invalid_arguments" and data["field"] == field and data["do_not_retry"] is False
    stored = runtime.gateway.get_call(data["call_id"])
    assert stored is not None and stored.status == CallStatus.BLOCKED and stored.category == "invalid-arguments"
    assert refunds_of(runtime, ids.REFUND_ORDER_ID) == []


async def test_unknown_tool_is_a_clear_tool_error(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("transfer_everything", {})

    assert result.is_error is True
    assert "transfer_everything" in (result.structured_content or {})["error"]


async def test_a_call_to_an_unknown_tool_is_refused_and_recorded_in_the_audit(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("transfer_everything", {"to": "attacker"})

    assert result.is_error is True
    [recorded] = runtime.gateway.list_calls(tool="transfer_everything")
    assert recorded.status == CallStatus.BLOCKED and recorded.category == "unknown-tool"
    stored = runtime.gateway.get_call(recorded.id)  # a listing leaves the arguments out; one call has them
    assert stored is not None and json.loads(stored.arguments) == {"to": "attacker"}
    with runtime.store.read() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.call_id == recorded.id)).all()
    assert [e.event_type for e in events] == ["unknown_tool"]


async def test_an_agent_cannot_await_another_agents_call_and_learns_nothing_about_it(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime, "agent-a")) as owner, Client(mcp_server(runtime, "agent-b")) as other:
        pending = await owner.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
        call_id = (pending.structured_content or {})["call_id"]
        with anyio.fail_after(10):
            foreign = await other.call_tool(AWAIT_DECISION, {"call_id": call_id})
            unknown = await other.call_tool(AWAIT_DECISION, {"call_id": "0" * 32})
            theirs = await other.call_tool(LIST_MY_PENDING, {})

    assert foreign.is_error is True and unknown.is_error is True
    assert foreign.structured_content == {"status": "error", "error": f"No call {call_id!r} among this agent's calls."}
    assert unknown.content[0].text.replace("0" * 32, call_id) == foreign.content[0].text  # type: ignore[union-attr]
    assert theirs.structured_content == {"calls": [], "count": 0}


async def test_list_my_pending_calls_lists_the_agents_held_calls(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        first = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
        await client.call_tool("get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID})
        listed = await client.call_tool(LIST_MY_PENDING, {})

    data = listed.structured_content or {}
    assert data["count"] == 1
    (item,) = data["calls"]
    assert item["call_id"] == (first.structured_content or {})["call_id"]
    assert item["tool"] == "issue_refund" and item["status"] == "held" and item["summary"]


async def test_progress_notifications_arrive_while_a_held_call_waits(database_url: str) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=0.4, progress_interval_seconds=0.05))
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    try:
        async with Client(mcp_server(runtime)) as client:
            with anyio.fail_after(10):
                result = await client.call_tool("issue_refund", refund(400.0), progress_callback=on_progress)
    finally:
        runtime.close()

    assert (result.structured_content or {})["status"] == "pending_approval"
    assert len(progress) >= 3
    values = [value for value, _, _ in progress]
    assert values == sorted(values) and all(total == 0.4 for _, total, _ in progress)
    assert "approval" in (progress[0][2] or "")


async def test_the_inline_wait_can_be_shortened_per_call_through_meta(database_url: str) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=30))
    try:
        async with Client(mcp_server(runtime)) as client:
            with anyio.fail_after(5):  # would take 30 s without the per-call wait
                result = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
    finally:
        runtime.close()
    assert (result.structured_content or {})["status"] == "pending_approval"


async def test_on_behalf_of_is_recorded_and_that_person_may_not_approve_their_own_request(
    runtime: Runtime,
) -> None:
    async with Client(mcp_server(runtime)) as client:
        pending = await client.call_tool(
            "issue_refund", refund(400.0), meta={**NO_WAIT, "countersign/on_behalf_of": "fiona"}
        )
    call_id = (pending.structured_content or {})["call_id"]
    stored = runtime.gateway.get_call(call_id)
    assert stored is not None and stored.on_behalf_of == "fiona"
    with pytest.raises(Forbidden):
        runtime.gateway.approve(call_id, FINANCE, override_reason="checked the warnings")


async def test_a_database_outage_is_a_clear_tool_error_and_nothing_runs(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(_new: object) -> None:
        raise StoreUnavailable("database unavailable: disk I/O error")

    monkeypatch.setattr(runtime.gateway, "submit", down)
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("issue_refund", refund(40.0, justification=EVIDENCE))

    assert result.is_error is True
    assert (result.structured_content or {})["status"] == "error"
    error = (result.structured_content or {})["error"]
    assert "was not run" in error and "attaches to that call" in error
    assert "nothing was done" not in error  # a lost commit answer cannot tell: never claim it
    assert "disk I/O" not in result.content[0].text  # type: ignore[union-attr]
    assert refunds_of(runtime, ids.REFUND_ORDER_ID) == []


async def test_await_decision_without_a_call_id_names_the_missing_argument(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool(AWAIT_DECISION, {"wait_seconds": 1})

    assert result.is_error is True
    assert (result.structured_content or {})["field"] == "call_id"


async def test_a_withdrawn_call_is_reported_cancelled(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        pending = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
        call_id = (pending.structured_content or {})["call_id"]
        decisions.cancel(runtime.store, call_id, actor="ada", actor_kind="person", reason="duplicate of another call")
        with anyio.fail_after(10):
            result = await client.call_tool(AWAIT_DECISION, {"call_id": call_id})

    assert result.is_error is True
    assert result.structured_content == {
        "status": "cancelled",
        "call_id": call_id,
        "reason": "duplicate of another call",
        "do_not_retry": True,
    }


async def test_a_call_whose_executor_died_mid_run_is_reported_unknown_outcome(database_url: str) -> None:
    clock = Clock()
    settings = make_settings(database_url)
    runtime = make_runtime(settings, store=Store.open(database_url, clock=clock))
    deletion = {"record_type": "note", "record_id": ids.DELETABLE_NOTE_ID, "reason": "customer asked to be forgotten"}
    try:
        async with Client(mcp_server(runtime)) as client:
            pending = await client.call_tool("delete_record", deletion, meta=NO_WAIT)
            call_id = (pending.structured_content or {})["call_id"]
            # Approved and claimed by an executor that then died: the lease runs out, nobody finishes it.
            decisions.approve(runtime.store, call_id, ADMIN)
            assert runtime.gateway.executor.claim(call_id) is not None
            clock.advance(hours=1)
            runtime.gateway.sweep()  # delete_record cannot be retried safely: a person must check
            with anyio.fail_after(10):
                result = await client.call_tool(AWAIT_DECISION, {"call_id": call_id})
        data = result.structured_content or {}
        assert result.is_error is True
        assert data["status"] == "unknown_outcome" and data["do_not_retry"] is True and data["error"]
    finally:
        runtime.close()
