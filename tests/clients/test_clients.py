"""Third-party MCP clients on mcp 1.x (fastmcp 2.14, langchain-mcp-adapters) against a real gateway over HTTP.

They need mcp<2, so they run from .clients-venv (built by `make test`) as subprocesses running the
scripts beside this file (fastmcp 4 on mcp 2.3 is tests/mcp/test_fastmcp_client.py; the Inspector's
CLI is tests/mcp/test_inspector_cli.py). Each
agent's inline wait (2 s) is set below the client's timeout (10 s), as the README tells operators to do.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.agent_profiles import AgentProfiles
from server.runtime import Runtime
from tests.conftest import REPO
from tests.mcp.support import EXPORT, approve_over_api, make_runtime, make_settings, refund, serving
from tools.backoffice import ids
from web.app import create_app

CLIENTS_PYTHON = REPO / ".clients-venv" / "bin" / "python"
HERE = Path(__file__).parent
CLIENT_TIMEOUT = 10
INLINE_WAIT = 2
ARGS = json.dumps({"customer_id": ids.REFUND_CUSTOMER_ID, "export": EXPORT, "refund": refund(400.0)})


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
    assert CLIENTS_PYTHON.exists(), "run `make .clients-venv/.installed` first (`make test` builds it)"
    done = subprocess.run(
        [str(CLIENTS_PYTHON), str(HERE / script), f"{url}/mcp", token, str(CLIENT_TIMEOUT), mode, extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_fastmcp_client_gets_results_a_blocked_error_and_a_held_answer_then_the_approved_result(
    gateway: tuple[Runtime, str, str, str],
) -> None:
    runtime, url, token, person = gateway
    out = _client("fastmcp_client.py", url, token, "calls", ARGS)
    held = out["held"]["structured"]
    approve_over_api(runtime, url, person, held["call_id"])
    final = _client("fastmcp_client.py", url, token, "await", held["call_id"])["final"]

    assert {"get_customer", "issue_refund", "bulk_export_customer_data", "await_decision"} <= set(out["tools"])
    assert out["allowed"]["is_error"] is False
    assert ids.REFUND_CUSTOMER_ID in json.dumps(out["allowed"]["structured"])
    assert out["blocked"]["is_error"] is True and out["blocked"]["structured"]["status"] == "blocked"
    assert out["held"]["is_error"] is False and held["status"] == "pending_approval"
    assert final["is_error"] is False and final["structured"]["amount"] == "400.00"


def test_langchain_mcp_adapters_tools_get_results_a_tool_error_and_a_held_answer_then_the_approved_result(
    gateway: tuple[Runtime, str, str, str],
) -> None:
    runtime, url, token, person = gateway
    out = _client("langchain_client.py", url, token, "calls", ARGS)
    found = re.search(r"/calls/([0-9a-f]{32})", out["held"].get("text", ""))
    assert found, out["held"]
    approve_over_api(runtime, url, person, found[1])
    final = _client("langchain_client.py", url, token, "await", found[1])["final"]

    assert {"get_customer", "issue_refund", "bulk_export_customer_data", "await_decision"} <= set(out["tools"])
    assert ids.REFUND_CUSTOMER_ID in out["allowed"]["text"]
    # The adapter hands a tool error to the model as the tool's text (its handle_tool_error), not an exception.
    assert "Refused by policy" in out["blocked"]["text"] and "Do not retry" in out["blocked"]["text"]
    assert "waiting for a person's approval" in out["held"]["text"]
    assert json.loads(final["text"])["amount"] == "400.00"
