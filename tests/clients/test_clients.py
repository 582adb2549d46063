"""Third-party MCP clients (fastmcp, langchain-mcp-adapters, MCP Inspector's CLI) against a real gateway over HTTP.

fastmcp and langchain-mcp-adapters need mcp<2, so they run from .clients-venv (built by `make test`) as
subprocesses running the scripts beside this file; the Inspector runs on the repository's Node 22. Each
agent's inline wait (2 s) is set below the client's timeout (10 s), as the README tells operators to do.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from server.agent_profiles import AgentProfiles
from server.runtime import Runtime
from tests.conftest import REPO
from tests.mcp.support import EXPORT, NODE, make_runtime, make_settings, refund, serving
from tools.backoffice import ids
from web.app import create_app

CLIENTS_PYTHON = REPO / ".clients-venv" / "bin" / "python"
INSPECTOR = (
    REPO / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
)
HERE = Path(__file__).parent
CLIENT_TIMEOUT = 10
INLINE_WAIT = 2
ARGS = json.dumps({"customer_id": ids.REFUND_CUSTOMER_ID, "export": EXPORT, "refund": refund(400.0)})

needs_venv = pytest.mark.skipif(not CLIENTS_PYTHON.exists(), reason="run `make .clients-venv/.installed` first")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[Runtime, str, str, str]]:
    """A served gateway (SQLite: these tests do not depend on the database), an agent token and a reviewer's."""
    runtime = make_runtime(make_settings(f"sqlite:///{tmp_path / 'countersign.db'}", inline_wait_seconds=40))
    token = runtime.people.create_agent_token("client-bot")
    AgentProfiles(runtime.store).set_inline_wait("client-bot", INLINE_WAIT)  # `agent add client-bot --inline-wait 2`
    runtime.people.create_user("fiona", "reviewer", queues=["finance"])
    person = runtime.people.create_person_token("fiona")
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            yield runtime, url, token, person
    finally:
        runtime.close()


def _client(script: str, url: str, token: str, mode: str, extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(CLIENTS_PYTHON), str(HERE / script), f"{url}/mcp", token, str(CLIENT_TIMEOUT), mode, extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _approve(runtime: Runtime, url: str, person: str, call_id: str) -> None:
    seen = runtime.gateway.get_call(call_id)
    assert seen is not None
    approved = httpx2.post(
        f"{url}/api/calls/{call_id}/approve",
        json={"args_hash": seen.args_hash, "override_reason": "checked the preview's warning"},
        headers={"Authorization": f"Bearer {person}"},
        timeout=10,
    )
    assert approved.status_code == 200, approved.text


@needs_venv
def test_fastmcp_client_gets_results_a_blocked_error_and_a_held_answer_then_the_approved_result(
    gateway: tuple[Runtime, str, str, str],
) -> None:
    runtime, url, token, person = gateway
    out = _client("fastmcp_client.py", url, token, "calls", ARGS)
    held = out["held"]["structured"]
    _approve(runtime, url, person, held["call_id"])
    final = _client("fastmcp_client.py", url, token, "await", held["call_id"])["final"]

    assert {"get_customer", "issue_refund", "bulk_export_customer_data", "await_decision"} <= set(out["tools"])
    assert out["allowed"]["is_error"] is False
    assert ids.REFUND_CUSTOMER_ID in json.dumps(out["allowed"]["structured"])
    assert out["blocked"]["is_error"] is True and out["blocked"]["structured"]["status"] == "blocked"
    assert out["held"]["is_error"] is False and held["status"] == "pending_approval"
    assert final["is_error"] is False and final["structured"]["amount"] == "400.00"


@needs_venv
def test_langchain_mcp_adapters_tools_get_results_a_tool_error_and_a_held_answer_then_the_approved_result(
    gateway: tuple[Runtime, str, str, str],
) -> None:
    runtime, url, token, person = gateway
    out = _client("langchain_client.py", url, token, "calls", ARGS)
    found = re.search(r"/calls/([0-9a-f]{32})", out["held"].get("text", ""))
    assert found, out["held"]
    _approve(runtime, url, person, found[1])
    final = _client("langchain_client.py", url, token, "await", found[1])["final"]

    assert {"get_customer", "issue_refund", "bulk_export_customer_data", "await_decision"} <= set(out["tools"])
    assert ids.REFUND_CUSTOMER_ID in out["allowed"]["text"]
    # The adapter hands a tool error to the model as the tool's text (its handle_tool_error), not an exception.
    assert "Refused by policy" in out["blocked"]["text"] and "Do not retry" in out["blocked"]["text"]
    assert "waiting for a person's approval" in out["held"]["text"]
    assert json.loads(final["text"])["amount"] == "400.00"


def _inspector(url: str, token: str, *args: str) -> dict[str, Any]:
    """`npx @modelcontextprotocol/inspector --cli URL --header ... --method ...`: one JSON answer on stdout."""
    done = subprocess.run(
        [NODE, str(INSPECTOR), "--cli", f"{url}/mcp", "--header", f"Authorization: Bearer {token}", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    return dict(json.loads(done.stdout))


@pytest.mark.skipif(not (Path(NODE).exists() and INSPECTOR.exists()), reason="run `make node-deps` first")
def test_mcp_inspector_cli_lists_tools_gets_a_result_and_a_held_answer_then_the_approved_result(
    gateway: tuple[Runtime, str, str, str],
) -> None:
    runtime, url, token, person = gateway
    listed = _inspector(url, token, "--method", "tools/list")
    allowed = _inspector(
        url,
        token,
        "--method",
        "tools/call",
        "--tool-name",
        "get_customer",
        "--tool-arg",
        f"customer_id={ids.REFUND_CUSTOMER_ID}",
    )
    pairs = [f"{key}={value}" for key, value in refund(400.0).items()]
    held = _inspector(url, token, "--method", "tools/call", "--tool-name", "issue_refund", "--tool-arg", *pairs)
    call_id = held["structuredContent"]["call_id"]
    _approve(runtime, url, person, call_id)
    final = _inspector(
        url, token, "--method", "tools/call", "--tool-name", "await_decision", "--tool-arg", f"call_id={call_id}"
    )

    assert {"get_customer", "issue_refund", "await_decision"} <= {tool["name"] for tool in listed["tools"]}
    assert not allowed.get("isError") and ids.REFUND_CUSTOMER_ID in json.dumps(allowed["structuredContent"])
    assert not held.get("isError") and held["structuredContent"]["status"] == "pending_approval"
    assert not final.get("isError") and final["structuredContent"]["amount"] == "400.00"
