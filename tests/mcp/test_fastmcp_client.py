"""fastmcp's `Client` (fastmcp 4.2, on the same `mcp` 2.3 as the gateway) over streamable HTTP.

Its per-request `timeout` is the one to respect: an agent whose inline wait is shorter gets a held
call's pending answer in time; one whose wait is longer times out, and calling again attaches to the
same held call instead of making a second one.
"""

from __future__ import annotations

from typing import Any

import anyio
import fastmcp
import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from fastmcp.exceptions import ToolError

from server.agent_profiles import AgentProfiles
from server.runtime import Runtime
from tests.mcp.support import EXPORT, FINANCE, make_runtime, make_settings, refund, serving
from tools.backoffice import ids
from web.app import create_app

AGENT = "fastmcp-bot"
# Importing fastmcp puts camelCase shims on the MCP SDK's own classes (process-wide): off, so the other
# tests in this process see the SDK as it is.
fastmcp.settings.mcp_camelcase_compat = False


def _client(url: str, token: str, *, timeout: float) -> Client[Any]:
    transport = StreamableHttpTransport(f"{url}/mcp", headers={"Authorization": f"Bearer {token}"})
    return Client(transport, timeout=timeout)


def _held(runtime: Runtime) -> list[str]:
    return [c.id for c in runtime.gateway.list_calls(agent=AGENT) if c.tool == "issue_refund"]


async def test_fastmcp_lists_the_guarded_tools_runs_an_allowed_call_and_raises_a_blocked_one_as_a_tool_error(
    database_url: str,
) -> None:
    runtime = make_runtime(make_settings(database_url))
    token = runtime.people.create_agent_token(AGENT)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            async with _client(url, token, timeout=10) as client:
                with anyio.fail_after(20):
                    tools = {tool.name for tool in await client.list_tools()}
                    allowed = await client.call_tool("get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID})
                    with pytest.raises(ToolError) as blocked:
                        await client.call_tool("bulk_export_customer_data", EXPORT)
    finally:
        runtime.close()
    assert {"get_customer", "issue_refund", "await_decision", "list_my_pending_calls"} <= tools
    assert not allowed.is_error and (allowed.structured_content or {})["customer"]["id"] == ids.REFUND_CUSTOMER_ID
    assert "no-bulk-destruction" in str(blocked.value)


async def test_with_an_inline_wait_below_its_timeout_fastmcp_gets_pending_then_the_result_from_await_decision(
    database_url: str,
) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=40))
    token = runtime.people.create_agent_token(AGENT)
    AgentProfiles(runtime.store).set_inline_wait(AGENT, 2)  # `countersign agent add NAME --inline-wait 2`
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            async with _client(url, token, timeout=5) as client:
                with anyio.fail_after(20):
                    pending = await client.call_tool("issue_refund", refund(400.0))
                    call_id = (pending.structured_content or {})["call_id"]
                    await anyio.to_thread.run_sync(
                        lambda: runtime.gateway.approve(call_id, FINANCE, override_reason="checked the warnings")
                    )
                    final = await client.call_tool("await_decision", {"call_id": call_id})
    finally:
        runtime.close()
    assert not pending.is_error and (pending.structured_content or {})["status"] == "pending_approval"
    assert (final.structured_content or {})["amount"] == "400.00"


async def test_with_an_inline_wait_above_its_timeout_fastmcp_times_out_and_calling_again_attaches_to_the_held_call(
    database_url: str,
) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=30))  # longer than the client's 2 s
    token = runtime.people.create_agent_token(AGENT)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            async with _client(url, token, timeout=2) as client:
                with anyio.fail_after(20):
                    with pytest.raises(Exception, match="(?i)timed out|timeout"):
                        await client.call_tool("issue_refund", refund(400.0))
                    again = await client.call_tool("issue_refund", refund(400.0), meta={"countersign/inline_wait": 0})
            held = _held(runtime)
    finally:
        runtime.close()
    assert held == [(again.structured_content or {})["call_id"]]  # one held call, the one the retry names
