"""A small MCP server for the tests, written with the Python SDK, that talks back during calls.

Tools:
- ``echo(text)``: the text, and in ``structuredContent`` the ``X-Idempotency-Key`` header its HTTP request
  carried (None over stdio or without one): a recording upstream for the idempotency header.
- ``work(steps)``: sends one log message (notifications/message) and one progress notification per step.
- ``grow()``: adds a tool ``extra`` and sends notifications/tools/list_changed.
- ``route(region, text)``: the region, which its schema asks clients to mirror in an ``Mcp-Param-Region``
  header (``x-mcp-header``, MCP 2026-07-28).

    python chatty_server.py stdio
    python chatty_server.py http PORT
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.stdio import stdio_server

TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
TOOLS = [
    types.Tool(name="echo", description="Echo the text back.", input_schema=TEXT),
    types.Tool(
        name="work",
        description="Work in steps, logging and reporting progress.",
        input_schema={"type": "object", "properties": {"steps": {"type": "integer"}}, "required": ["steps"]},
    ),
    types.Tool(name="grow", description="Add a tool.", input_schema={"type": "object", "properties": {}}),
    types.Tool(
        name="route",
        description="Answer with the region the call was routed by.",
        input_schema={
            "type": "object",
            "properties": {"region": {"type": "string", "x-mcp-header": "Region"}, "text": {"type": "string"}},
            "required": ["region"],
        },
    ),
]


async def list_tools(ctx: ServerRequestContext[Any, Any], params: Any) -> types.ListToolsResult:
    return types.ListToolsResult(tools=list(TOOLS))


async def call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    args = params.arguments or {}
    if params.name in ("echo", "extra"):
        request = ctx.request
        key = request.headers.get("x-idempotency-key") if request is not None else None
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=str(args.get("text")))],
            structured_content={"text": args.get("text"), "idempotency_key": key},
        )
    if params.name == "work":
        steps = int(args.get("steps", 1))
        for step in range(1, steps + 1):
            await ctx.session.send_log_message(
                "info", {"step": step}, logger="chatty", related_request_id=ctx.request_id
            )
            await ctx.session.report_progress(step, steps, f"step {step}")
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"worked {steps} steps")])
    if params.name == "route":
        return types.CallToolResult(content=[types.TextContent(type="text", text=f"routed to {args.get('region')}")])
    if params.name == "grow":
        if not any(tool.name == "extra" for tool in TOOLS):
            TOOLS.append(types.Tool(name="extra", description="Added later.", input_schema=TEXT))
        await ctx.session.send_tool_list_changed()
        return types.CallToolResult(content=[types.TextContent(type="text", text="grown")])
    return types.CallToolResult(content=[types.TextContent(type="text", text="no such tool")], is_error=True)


server: Server[Any] = Server("chatty", on_list_tools=list_tools, on_call_tool=call_tool)


async def main_stdio() -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def main_http(port: int) -> None:
    import uvicorn

    uvicorn.run(
        server.streamable_http_app(streamable_http_path="/mcp"), host="127.0.0.1", port=port, log_level="warning"
    )


if __name__ == "__main__":
    if sys.argv[1] == "http":
        main_http(int(sys.argv[2]))
    else:
        anyio.run(main_stdio)
