"""Run by tests/clients/test_clients.py with .clients-venv/bin/python: fastmcp's Client against the gateway.

Usage: fastmcp_client.py URL TOKEN TIMEOUT_SECONDS calls|await CALL_ID. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport


def _result(result: Any) -> dict[str, Any]:
    return {"is_error": result.is_error, "structured": result.structured_content}


async def main(url: str, token: str, timeout: float, mode: str, extra: str) -> dict[str, Any]:
    transport = StreamableHttpTransport(url, headers={"Authorization": f"Bearer {token}"})
    async with Client(transport, timeout=timeout) as client:
        if mode == "await":
            return {"final": _result(await client.call_tool("await_decision", {"call_id": extra}))}
        args = json.loads(extra)
        tools = [tool.name for tool in await client.list_tools()]
        allowed = await client.call_tool("get_customer", {"customer_id": args["customer_id"]}, raise_on_error=False)
        blocked = await client.call_tool("bulk_export_customer_data", args["export"], raise_on_error=False)
        held = await client.call_tool("issue_refund", args["refund"], raise_on_error=False)
        return {"tools": tools, "allowed": _result(allowed), "blocked": _result(blocked), "held": _result(held)}


if __name__ == "__main__":
    url, token, timeout, mode, extra = sys.argv[1:6]
    print(json.dumps(asyncio.run(main(url, token, float(timeout), mode, extra))))
