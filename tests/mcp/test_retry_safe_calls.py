"""Retry-safe submission as an agent sees it through MCP: the same call id, and clear refusals for misused keys."""

from __future__ import annotations

from mcp import Client

from server.runtime import Runtime
from tests.mcp.support import mcp_server, refund

NO_WAIT = {"countersign/inline_wait": 0}


async def test_a_repeated_held_call_answers_with_the_same_call_id(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        first = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
        again = await client.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
    assert (first.structured_content or {})["status"] == "pending_approval"
    assert (again.structured_content or {})["call_id"] == (first.structured_content or {})["call_id"]
    assert len(runtime.gateway.list_calls(agent="agent-a")) == 1


async def test_an_idempotency_key_reused_with_other_arguments_is_refused_and_nothing_is_made(runtime: Runtime) -> None:
    keyed = {**NO_WAIT, "countersign/idempotency_key": "refund-order-1001"}
    async with Client(mcp_server(runtime)) as client:
        first = await client.call_tool("issue_refund", refund(400.0), meta=keyed)
        same = await client.call_tool("issue_refund", refund(400.0), meta=keyed)
        other = await client.call_tool("issue_refund", refund(500.0), meta=keyed)
        bad = await client.call_tool("issue_refund", refund(600.0), meta={**NO_WAIT, "countersign/idempotency_key": 42})
    call_id = (first.structured_content or {})["call_id"]
    assert (same.structured_content or {})["call_id"] == call_id
    assert other.is_error and call_id in (other.structured_content or {})["error"]
    assert "different call" in (other.structured_content or {})["error"]
    assert bad.is_error and "countersign/idempotency_key" in (bad.structured_content or {})["error"]
    assert len(runtime.gateway.list_calls(agent="agent-a")) == 1
