"""Upstreams that do not exist, answer garbage, never answer, or hang on a call: clear errors, nothing else breaks."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import anyio
import pytest
from mcp import Client

from server.upstream.config import StdioUpstream, UpstreamsConfig
from server.upstream.hub import UpstreamHub
from tests.mcp.support import COUNTERSIGN, mcp_server, process_env
from tests.upstream.support import upstream_runtime
from tests.upstream.test_pinning import POLICY, SERVER

SLEEPER = (sys.executable, "-c", "import time; time.sleep(120)")
STDIN_READER = (sys.executable, "-c", "import sys; sys.stdin.read()")  # starts at once, never answers
GARBAGE = (sys.executable, "-c", "import time; print('this is not JSON-RPC', flush=True); time.sleep(120)")


def test_a_missing_command_a_garbage_answer_and_silence_each_leave_their_upstream_down_with_a_reason() -> None:
    config = UpstreamsConfig(
        None,
        {
            "missing": StdioUpstream(command=("/nonexistent/mcp-server",), connect_timeout=2),
            "garbage": StdioUpstream(command=GARBAGE, connect_timeout=2),
            "silent": StdioUpstream(command=SLEEPER, connect_timeout=2),
            "echo": StdioUpstream(command=(sys.executable, str(SERVER), "stdio"), connect_timeout=30),
        },
    )
    hub = UpstreamHub(config, None).start()
    try:
        hub.wait_settled(40)
        status = hub.status()
    finally:
        hub.close()

    assert status["missing"]["state"] == "down"
    assert "command not found: /nonexistent/mcp-server" in status["missing"]["error"]
    assert status["garbage"]["state"] == "down" and "2 s" in status["garbage"]["error"]
    assert status["silent"]["state"] == "down" and "no MCP handshake" in status["silent"]["error"]
    assert status["echo"]["state"] == "up" and status["echo"]["tools"] == 1  # the others broke nothing


def test_closing_the_hub_while_its_upstreams_start_leaves_no_process_unreaped(caplog: pytest.LogCaptureFixture) -> None:
    # A cancellation that lands while asyncio spawns an upstream kills the child but cancels its reaping
    # too; the hub's loop then closed before the child was reaped, and its ResourceWarnings surfaced
    # later, in whatever test ran next. The hub now lets an attempt under way run a moment before
    # cancelling it, so a cancellation never lands in the spawn.
    config = UpstreamsConfig(None, {"silent": StdioUpstream(command=STDIN_READER, connect_timeout=30)})
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for _ in range(6):
            UpstreamHub(config, None).start().close()
        _wait_for_reaping()
        gc.collect()

    assert [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] == []
    assert "that handles pid" not in caplog.text


def _wait_for_reaping(timeout: float = 10) -> None:
    """CPython's child watcher reaps each child in a thread of its own: wait (bounded) until they are done."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.startswith("waitpid-"):
            thread.join(max(0.0, deadline - time.monotonic()))


async def test_an_upstream_call_that_never_answers_becomes_a_clear_tool_error_at_its_timeout(
    database_url: str, tmp_path: Path
) -> None:
    upstream = StdioUpstream(command=(sys.executable, str(SERVER), "stdio"), call_timeout=1)
    runtime = upstream_runtime(database_url, tmp_path, {"echo": upstream}, POLICY.replace("hold", "allow"))
    try:
        async with Client(mcp_server(runtime)) as client:
            with anyio.fail_after(20):
                result = await client.call_tool("echo__echo", {"text": "hang"})
                fine = await client.call_tool("echo__echo", {"text": "still here"})
    finally:
        runtime.close()

    assert result.is_error is True
    assert "did not answer echo within 1 s" in result.content[0].text  # type: ignore[union-attr]
    assert fine.is_error is False and fine.content[0].text == "still here"  # type: ignore[union-attr]


def test_upstream_check_reports_a_required_upstream_that_is_down_and_exits_1(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "countersign.yaml"
    config.write_text("upstreams:\n  crm:\n    command: [/nonexistent/crm-mcp]\n    required: true\n")
    done = subprocess.run(
        [COUNTERSIGN, "upstream", "check"],
        env=process_env(database_url, COUNTERSIGN_CONFIG=str(config)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "FAIL  crm: command not found: /nonexistent/crm-mcp" in done.stdout


def test_a_malformed_config_stops_serve_with_one_line_naming_each_problem_before_it_opens_a_database(
    tmp_path: Path,
) -> None:
    config = tmp_path / "countersign.yaml"
    config.write_text("upstreams:\n  crm:\n    comand: [x]\n")
    database = tmp_path / "never-created.db"
    done = subprocess.run(
        [COUNTERSIGN, "serve", "--port", "1"],
        env=process_env(f"sqlite:///{database}", COUNTERSIGN_CONFIG=str(config)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    [line] = [text for text in done.stderr.splitlines() if text.startswith("error: ")]
    assert f"{config}:3: upstreams.crm.comand: unknown key" in line
    assert f"{config}:2: upstreams.crm.command: an upstream needs `command` (stdio) or `url`" in line
    assert "Traceback" not in done.stderr
    assert not database.exists()  # refused before a database was set up
