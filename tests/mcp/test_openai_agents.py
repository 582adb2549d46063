"""The OpenAI Agents SDK's MCP client (openai-agents, no API key needed to list and call tools) over HTTP.

Its client gives up after 5 s by default and, with retries on, sends the same call again: one agent
action must still make exactly one held call, and the agent must get a usable answer.
"""

from __future__ import annotations

import threading
from typing import Any

import anyio
import httpx2
import sqlalchemy as sa
from agents.mcp import MCPServerStreamableHttp

from server.agent_profiles import AgentProfiles
from server.lifecycle.states import CallStatus
from server.runtime import Runtime
from server.store.models import ToolCall
from tests.mcp.support import FINANCE, make_runtime, make_settings, refund, serving
from web.app import create_app


def _held_calls(runtime: Runtime) -> list[ToolCall]:
    return [c for c in runtime.gateway.list_calls(agent="openai-bot") if c.tool == "issue_refund"]


def _issued(runtime: Runtime) -> int:
    with runtime.store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM bo_refund WHERE status = 'issued'")).scalar_one())


async def test_with_its_defaults_and_the_recommended_inline_wait_the_agent_gets_pending_then_the_result(
    database_url: str,
) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=40))  # the server's default wait
    token = runtime.people.create_agent_token("openai-bot")
    AgentProfiles(runtime.store).set_inline_wait("openai-bot", 4)  # `countersign agent add NAME --inline-wait 4`
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            server = MCPServerStreamableHttp({"url": f"{url}/mcp", "headers": {"Authorization": f"Bearer {token}"}})
            async with server:
                with anyio.fail_after(9):
                    tools = {tool.name for tool in await server.list_tools()}
                    first = await server.call_tool("issue_refund", refund(400.0))
                    # The model repeats itself (told not to wait again, to keep the test short).
                    again = await server.call_tool("issue_refund", refund(400.0), meta={"countersign/inline_wait": 0})
                call_id = (first.structured_content or {})["call_id"]
                await anyio.to_thread.run_sync(
                    lambda: runtime.gateway.approve(call_id, FINANCE, override_reason="checked the warnings")
                )
                final = await server.call_tool("await_decision", {"call_id": call_id})
        held = _held_calls(runtime)
    finally:
        runtime.close()
    assert {"issue_refund", "await_decision"} <= tools
    assert (first.structured_content or {})["status"] == "pending_approval" and not first.is_error
    assert (again.structured_content or {})["call_id"] == call_id
    assert len(held) == 1
    assert (final.structured_content or {})["amount"] == "400.00"


async def test_with_retries_on_a_timed_out_call_is_retried_into_the_same_held_call_and_gets_the_result(
    database_url: str,
) -> None:
    # The server waits 6 s inline, longer than the SDK's 5 s: the first attempt times out and is retried.
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=6))
    token = runtime.people.create_agent_token("openai-bot")
    attempts: list[bytes] = []
    retried = threading.Event()

    async def count_calls(request: httpx2.Request) -> None:
        if b'"tools/call"' in request.content:
            attempts.append(request.content)
            if len(attempts) == 2:
                retried.set()

    def client_factory(headers: dict[str, str] | None = None, timeout: Any = None, auth: Any = None) -> Any:
        return httpx2.AsyncClient(
            headers=headers, timeout=timeout, auth=auth, follow_redirects=False, event_hooks={"request": [count_calls]}
        )

    before = _issued(runtime)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            server = MCPServerStreamableHttp(
                {
                    "url": f"{url}/mcp",
                    "headers": {"Authorization": f"Bearer {token}"},
                    "httpx_client_factory": client_factory,
                },
                max_retry_attempts=3,
                retry_backoff_seconds_base=0.1,
            )
            results = []
            async with server, anyio.create_task_group() as group:

                async def act() -> None:
                    results.append(await server.call_tool("issue_refund", refund(400.0)))

                group.start_soon(act)
                with anyio.fail_after(9):
                    await anyio.to_thread.run_sync(retried.wait, 9)
                    held = _held_calls(runtime)
                    assert len(held) == 1 and held[0].status == CallStatus.HELD
                    await anyio.to_thread.run_sync(
                        lambda: runtime.gateway.approve(held[0].id, FINANCE, override_reason="checked the warnings")
                    )
        held = _held_calls(runtime)
        issued = _issued(runtime) - before
    finally:
        runtime.close()
    assert len(attempts) >= 2  # the SDK did retry
    assert len(held) == 1 and issued == 1  # ...into the same held call, which ran once
    assert (results[0].structured_content or {})["amount"] == "400.00" and not results[0].is_error
