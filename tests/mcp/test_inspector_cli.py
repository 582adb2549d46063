"""The MCP Inspector's CLI (`@modelcontextprotocol/inspector` 2.12, `--cli`, on Node 22) over streamable HTTP.

Its requests wait for the TypeScript SDK's default 60 s, longer than the gateway's 40 s inline wait: a
held call answers "pending approval" in time, and `await_decision` brings the result once approved.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from server.agent_profiles import AgentProfiles
from tests.conftest import REPO
from tests.mcp.support import EXPORT, FINANCE, NODE, make_runtime, make_settings, serving
from tools.backoffice import ids
from web.app import create_app

INSPECTOR = (
    REPO / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
)
AGENT = "inspector-bot"


def _inspect(url: str, token: str, catalog: Path, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [NODE, str(INSPECTOR), "--cli", f"{url}/mcp", "--header", f"Authorization: Bearer {token}", *args],
        env={"PATH": "/usr/bin:/bin", "HOME": str(catalog.parent), "MCP_CATALOG_PATH": str(catalog)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip(), done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_the_inspector_cli_lists_the_guarded_tools_runs_an_allowed_call_and_shows_a_blocked_one_as_an_error(
    database_url: str, tmp_path: Path
) -> None:
    runtime = make_runtime(make_settings(database_url))
    token = runtime.people.create_agent_token(AGENT)
    catalog = tmp_path / "mcp.json"
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            listed = _inspect(url, token, catalog, "--method", "tools/list")
            allowed = _inspect(
                url, token, catalog, "--method", "tools/call", "--tool-name", "get_customer",
                "--tool-arg", f"customer_id={ids.REFUND_CUSTOMER_ID}",
            )  # fmt: skip
            blocked = _inspect(
                url, token, catalog, "--method", "tools/call", "--tool-name", "bulk_export_customer_data",
                "--tool-arg", *(f"{key}={value}" for key, value in EXPORT.items()),
            )  # fmt: skip
    finally:
        runtime.close()
    assert {"get_customer", "issue_refund", "await_decision"} <= {tool["name"] for tool in listed["tools"]}
    assert not allowed.get("isError") and allowed["structuredContent"]["customer"]["id"] == ids.REFUND_CUSTOMER_ID
    assert blocked["isError"] is True and blocked["structuredContent"]["rule"] == "no-bulk-destruction"


def test_the_inspector_cli_gets_a_held_calls_pending_answer_then_the_result_from_await_decision(
    database_url: str, tmp_path: Path
) -> None:
    runtime = make_runtime(make_settings(database_url))
    token = runtime.people.create_agent_token(AGENT)
    AgentProfiles(runtime.store).set_inline_wait(AGENT, 1)  # keeps the test short; 40 s would do as well
    catalog = tmp_path / "mcp.json"
    refund = {"customer_id": ids.REFUND_CUSTOMER_ID, "order_id": ids.REFUND_ORDER_ID, "amount": 400, "currency": "EUR"}
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            pending = _inspect(
                url, token, catalog, "--method", "tools/call", "--tool-name", "issue_refund",
                "--tool-arg", *(f"{key}={value}" for key, value in refund.items()), "reason=damaged in transit",
            )  # fmt: skip
            call_id = pending["structuredContent"]["call_id"]
            runtime.gateway.approve(call_id, FINANCE, override_reason="checked the warnings")
            final = _inspect(
                url, token, catalog, "--method", "tools/call", "--tool-name", "await_decision",
                "--tool-arg", f"call_id={call_id}",
            )  # fmt: skip
    finally:
        runtime.close()
    assert pending["structuredContent"]["status"] == "pending_approval" and not pending.get("isError")
    assert final["structuredContent"]["amount"] == "400.00"
