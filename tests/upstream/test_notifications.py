"""Fidelity beyond the result: an upstream's log messages and progress reach the agent during an allowed
call, and its notifications/tools/list_changed refreshes our list, re-checks the pins and tells agents:
on their connection (up to 2025-11-25) or on the subscriptions/listen stream they opened (2026-07-28)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import mcp_types as types
import pytest
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.shared.subscriptions import ToolsListChanged

from server.runtime import Runtime
from server.upstream.pins import Pins
from tests.mcp.support import http_agent, make_runtime, make_settings, mcp_server, serving
from tests.upstream.support import chatty_runtime
from web.app import create_app

POLICY = """\
version: 1
tools:
  chat__work: {action: allow, risk: low, kind: read}
  chat__grow: {action: allow, risk: low, kind: act}
  chat__extra: {action: allow, risk: low, kind: read}
"""


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    with chatty_runtime(database_url, tmp_path, POLICY) as runtime:
        yield runtime


async def test_log_messages_and_progress_from_the_upstream_reach_the_agent_during_an_allowed_call(
    runtime: Runtime,
) -> None:
    logs: list[types.LoggingMessageNotificationParams] = []
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        logs.append(params)

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with Client(mcp_server(runtime), mode="legacy", logging_callback=on_log) as client:
        with anyio.fail_after(20):
            result = await client.call_tool("chat__work", {"steps": 3}, progress_callback=on_progress)
            while len(logs) < 3:  # notifications may trail the result by a turn of the loop
                await anyio.sleep(0)

    assert result.is_error is False and result.content[0].text == "worked 3 steps"  # type: ignore[union-attr]
    assert [(p.level, p.logger, p.data) for p in logs] == [("info", "chatty", {"step": n}) for n in (1, 2, 3)]
    assert progress == [(1, 3, "step 1"), (2, 3, "step 2"), (3, 3, "step 3")]


async def test_an_upstream_list_changed_refreshes_our_list_checks_pins_and_tells_connected_agents(
    runtime: Runtime,
) -> None:
    told = anyio.Event()

    async def on_message(message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            told.set()

    async with Client(mcp_server(runtime), mode="legacy", message_handler=on_message) as client:
        tools_capability = client.server_capabilities.tools
        assert tools_capability is not None and tools_capability.list_changed is True  # declared in the handshake
        before = {tool.name for tool in (await client.list_tools()).tools}
        assert "chat__grow" in before and "chat__extra" not in before

        await client.call_tool("chat__grow", {})
        with anyio.fail_after(20):
            await told.wait()
        after = {tool.name for tool in (await client.list_tools()).tools}
        extra = await client.call_tool("chat__extra", {"text": "new"})

    assert "chat__extra" in after
    assert "chat__extra" in {pin.tool for pin in Pins(runtime.store).all("chat")}  # pinned on first sight
    assert extra.is_error is False and extra.content[0].text == "new"  # type: ignore[union-attr]


async def test_a_2026_agent_listening_for_tool_changes_over_http_is_told_when_an_upstream_list_changes(
    runtime: Runtime,
) -> None:
    token = runtime.people.create_agent_token("agent-listening")
    with serving(create_app(runtime.settings, runtime)) as url:
        async with http_agent(f"{url}/mcp", token) as client:
            assert client.protocol_version == "2026-07-28"
            tools_capability = client.server_capabilities.tools
            assert tools_capability is not None and tools_capability.list_changed is True
            assert "chat__extra" not in {tool.name for tool in (await client.list_tools()).tools}
            async with client.listen(tools_list_changed=True) as changes:
                await client.call_tool("chat__grow", {})
                with anyio.fail_after(20):
                    event = await anext(changes)
            after = {tool.name for tool in (await client.list_tools()).tools}

    assert isinstance(event, ToolsListChanged)
    assert "chat__extra" in after


async def test_without_upstreams_the_tool_list_never_changes_so_no_listen_stream_is_offered(
    database_url: str,
) -> None:
    runtime = make_runtime(make_settings(database_url))
    try:
        async with Client(mcp_server(runtime)) as client:
            tools_capability = client.server_capabilities.tools
            assert tools_capability is not None and not tools_capability.list_changed
    finally:
        runtime.close()
