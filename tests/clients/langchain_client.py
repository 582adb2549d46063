"""Run by tests/clients/test_clients.py with .clients-venv/bin/python: langchain-mcp-adapters' tools.

Usage: langchain_client.py URL TOKEN TIMEOUT_SECONDS calls|await ARGS_JSON|CALL_ID. Prints one JSON object:
each call's text content, or the ToolException message the adapter raises for a tool error.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from typing import Any

from langchain_core.tools import BaseTool, ToolException
from langchain_mcp_adapters.client import MultiServerMCPClient


async def _invoke(tool: BaseTool, args: dict[str, Any]) -> dict[str, Any]:
    try:
        content = await tool.ainvoke(args)
    except ToolException as error:
        return {"error": str(error)}
    if isinstance(content, str):
        return {"text": content}
    return {"text": "".join(block["text"] for block in content if block.get("type") == "text")}


async def main(url: str, token: str, timeout: float, mode: str, extra: str) -> dict[str, Any]:
    client = MultiServerMCPClient(
        {
            "countersign": {
                "transport": "streamable_http",
                "url": url,
                "headers": {"Authorization": f"Bearer {token}"},
                "timeout": timedelta(seconds=timeout),
            }
        }
    )
    tools = {tool.name: tool for tool in await client.get_tools()}
    if mode == "await":
        return {"final": await _invoke(tools["await_decision"], {"call_id": extra})}
    args = json.loads(extra)
    return {
        "tools": sorted(tools),
        "allowed": await _invoke(tools["get_customer"], {"customer_id": args["customer_id"]}),
        "blocked": await _invoke(tools["bulk_export_customer_data"], args["export"]),
        "held": await _invoke(tools["issue_refund"], args["refund"]),
    }


if __name__ == "__main__":
    url, token, timeout, mode, extra = sys.argv[1:6]
    print(json.dumps(asyncio.run(main(url, token, float(timeout), mode, extra))))
