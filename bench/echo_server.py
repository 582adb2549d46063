"""The upstream of the upstream benchmark: an `echo` tool written with the Python SDK's low-level server.

python bench/echo_server.py stdio          # what Countersign and mcp-proxy start as their upstream
python bench/echo_server.py http PORT      # the same server, called directly over streamable HTTP
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server
from mcp.server.stdio import stdio_server

TOOL = types.Tool(
    name="echo",
    description="Echo the text back.",
    input_schema={"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)


async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=[TOOL])


async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=str((params.arguments or {}).get("text")))]
    )


server: Server[Any] = Server("echo", on_list_tools=list_tools, on_call_tool=call_tool)


async def _stdio() -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def _http(port: int) -> None:
    import uvicorn
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette

    mcp_app = server.streamable_http_app(
        transport_security=TransportSecuritySettings(
            allowed_hosts=["127.0.0.1:*"], allowed_origins=["http://127.0.0.1:*"]
        )
    )
    app = Starlette(routes=mcp_app.routes, lifespan=lambda _app: server.session_manager.run())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    if sys.argv[1] == "http":
        _http(int(sys.argv[2]))
    else:
        anyio.run(_stdio)
