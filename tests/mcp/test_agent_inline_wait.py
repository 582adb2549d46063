"""A per-agent default inline wait, set with the CLI, and the call's `_meta` that still overrides it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import anyio
from mcp import Client

from server.agent_profiles import AgentProfiles
from server.store.db import Store
from tests.conftest import REPO
from tests.mcp.support import make_runtime, make_settings, mcp_server, refund

COUNTERSIGN = REPO / ".venv" / "bin" / "countersign"


def _cli(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("COUNTERSIGN_")}
    env.update(COUNTERSIGN_DATABASE_URL=database_url, COUNTERSIGN_POLICIES=str(REPO / "policies"))
    return subprocess.run(
        [str(COUNTERSIGN), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


async def test_an_agents_default_inline_wait_replaces_the_servers(database_url: str) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=30))
    AgentProfiles(runtime.store).set_inline_wait("agent-a", 0)
    try:
        async with Client(mcp_server(runtime)) as client:
            with anyio.fail_after(5):  # would take 30 s with the server's wait
                result = await client.call_tool("issue_refund", refund(400.0))
    finally:
        runtime.close()
    assert (result.structured_content or {})["status"] == "pending_approval"


async def test_the_calls_meta_wait_overrides_the_agents_default(database_url: str) -> None:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=0))
    AgentProfiles(runtime.store).set_inline_wait("agent-a", 30)
    try:
        async with Client(mcp_server(runtime)) as client:
            with anyio.fail_after(5):
                result = await client.call_tool("issue_refund", refund(400.0), meta={"countersign/inline_wait": 0})
    finally:
        runtime.close()
    assert (result.structured_content or {})["status"] == "pending_approval"


def test_agent_add_and_set_inline_wait_store_the_agents_default(database_url: str, tmp_path: Path) -> None:
    added = _cli(database_url, tmp_path, "agent", "add", "openai-bot", "--inline-wait", "4")
    assert added.returncode == 0, added.stderr
    assert "wait 4 s inline" in added.stdout and added.stdout.strip().splitlines()[-1].startswith("csa_")
    store = Store.open(database_url)
    try:
        assert AgentProfiles(store).inline_wait("openai-bot") == 4.0
        changed = _cli(database_url, tmp_path, "agent", "set-inline-wait", "openai-bot", "2.5")
        assert changed.returncode == 0, changed.stderr
        assert AgentProfiles(store).inline_wait("openai-bot") == 2.5
        reset = _cli(database_url, tmp_path, "agent", "set-inline-wait", "openai-bot", "default")
        assert reset.returncode == 0 and AgentProfiles(store).inline_wait("openai-bot") is None
    finally:
        store.close()


def test_an_inline_wait_out_of_range_is_one_line_of_error_and_nothing_is_made(
    database_url: str, tmp_path: Path
) -> None:
    refused = _cli(database_url, tmp_path, "agent", "add", "bot", "--inline-wait", "90")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: an inline wait is 0 to 55 seconds, not 90"
    assert "csa_" not in refused.stdout
    bad = _cli(database_url, tmp_path, "agent", "set-inline-wait", "bot", "soon")
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error: 'soon' is not a number")
