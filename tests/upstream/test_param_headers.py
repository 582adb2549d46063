"""Mcp-Param-* headers (MCP 2026-07-28): a tool whose schema asks clients to mirror an argument in a header
keeps the SDK's check of that header against the body; a tool that asks for none is not handed to the
check (it would walk the schema twice per call to compare nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from server.runtime import Runtime
from tests.mcp.support import mcp_server, serving
from tests.upstream.support import chatty_runtime
from web.app import create_app

POLICY = """\
version: 1
tools:
  chat__route: {action: allow, risk: low, kind: read}
  chat__echo: {action: allow, risk: low, kind: read}
"""


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    with chatty_runtime(database_url, tmp_path, POLICY) as runtime:
        yield runtime


def test_only_a_schema_that_declares_a_header_is_handed_to_the_sdks_header_check(runtime: Runtime) -> None:
    lookup = mcp_server(runtime).get_tool_input_schema
    assert lookup is not None
    schema = lookup("chat__route")
    assert schema is not None
    assert schema["properties"]["region"]["x-mcp-header"] == "Region"
    assert "justification" in schema["properties"]  # the schema clients saw in tools/list
    assert lookup("chat__echo") is None
    assert lookup("get_customer") is None  # no built-in tool declares a header
    assert lookup("no_such_tool") is None


def _forging_region(region: str) -> httpx2.AsyncClient:
    """An agent's HTTP client that swaps the Mcp-Param-Region header its SDK mirrored for ``region``."""

    async def forge(request: httpx2.Request) -> None:
        if "mcp-param-region" in request.headers:
            request.headers["Mcp-Param-Region"] = region

    return httpx2.AsyncClient(timeout=30.0, event_hooks={"request": [forge]})


async def test_a_header_that_disagrees_with_the_body_is_refused_before_the_call_is_recorded(runtime: Runtime) -> None:
    token = runtime.people.create_agent_token("agent-h")
    with serving(create_app(runtime.settings, runtime)) as url:
        async with _forging_region("us") as http:
            http.headers["Authorization"] = f"Bearer {token}"
            async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
                await client.list_tools()  # the SDK learns which argument it mirrors in a header
                with pytest.raises(MCPError, match="Mcp-Param-Region"):
                    await client.call_tool("chat__route", {"region": "eu"})
                echoed = await client.call_tool("chat__echo", {"text": "no header declared"})
        async with (
            httpx2.AsyncClient(timeout=30.0, headers={"Authorization": f"Bearer {token}"}) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
        ):
            await client.list_tools()
            routed = await client.call_tool("chat__route", {"region": "eu"})

    assert not echoed.is_error
    assert not routed.is_error and routed.content[0].text == "routed to eu"  # type: ignore[union-attr]
    recorded = runtime.gateway.list_calls(agent="agent-h")
    assert sorted(call.tool for call in recorded) == ["chat__echo", "chat__route"]  # the forged call left no record
