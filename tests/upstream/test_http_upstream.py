"""A streamable-HTTP upstream written with the Python SDK, behind a bearer token from the environment,
killed mid-run: clear errors while it is gone, reconnection when it is back, no held call lost."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from server.runtime import Runtime
from server.upstream.config import load_config
from tests.mcp.support import ADMIN, HeldCalls, free_port, make_settings, mcp_server
from tests.upstream.support import policies_with
from tests.upstream.test_pinning import SERVER

POLICY = """\
version: 1
tools:
  echo__echo: {action: allow, risk: low, kind: act}
rules:
  - id: hold-marked
    tools: [echo__echo]
    when: args.text.startsWith("hold")
    action: hold
"""
TOKEN = "upstream-secret-token"


class Upstream:
    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(SERVER), "http", str(self.port)],
                env={"UPSTREAM_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"},
                stdout=out,
                stderr=out,
            )

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    server = Upstream(free_port(), tmp_path / "upstream.log")
    server.start()
    yield server
    server.kill()


@pytest.fixture
def runtime(database_url: str, tmp_path: Path, upstream: Upstream) -> Iterator[Runtime]:
    from server.runtime import build_runtime
    from tests.mcp.support import demo_registry

    config = tmp_path / "countersign.yaml"
    config.write_text(
        "upstreams:\n  echo:\n"
        f"    url: http://127.0.0.1:{upstream.port}/mcp\n"
        "    headers: {Authorization: 'Bearer ${UPSTREAM_TOKEN}'}\n"
        "    call_timeout: 5\n"
    )
    upstreams = load_config(config, {"UPSTREAM_TOKEN": TOKEN})
    settings = make_settings(database_url, policies=policies_with(tmp_path, POLICY))
    runtime = build_runtime(settings, registry=demo_registry(), upstreams=upstreams)
    assert runtime.hub is not None and runtime.hub.wait_up("echo", 90), runtime.hub.status()
    yield runtime
    runtime.close()


async def test_killing_the_upstream_gives_clear_errors_then_reconnects_and_the_held_call_runs(
    runtime: Runtime, upstream: Upstream
) -> None:
    hub = runtime.hub
    assert hub is not None
    held = HeldCalls(runtime)
    async with Client(mcp_server(runtime)) as client:
        first = await client.call_tool("echo__echo", {"text": "before"})
        assert first.content[0].text == "before"  # type: ignore[union-attr]
        await client.call_tool("echo__echo", {"text": "hold this"}, meta={"countersign/inline_wait": 0})
        with anyio.fail_after(10):
            call_id = await held.next()

        upstream.kill()
        with anyio.fail_after(20):
            gone = await client.call_tool("echo__echo", {"text": "while down"})
        assert gone.is_error is True
        assert "upstream 'echo'" in gone.content[0].text  # type: ignore[union-attr]
        assert runtime.gateway.get_call(call_id).status == "held"  # type: ignore[union-attr]

        upstream.start()
        assert await anyio.to_thread.run_sync(hub.wait_up, "echo", 90)
        outcome = await anyio.to_thread.run_sync(lambda: runtime.gateway.approve(call_id, ADMIN))
        assert outcome.call.status == "succeeded"
        result = await client.call_tool("await_decision", {"call_id": call_id})
        after = await client.call_tool("echo__echo", {"text": "after"})

    assert result.content[0].text == "hold this"  # type: ignore[union-attr]
    assert after.is_error is False and after.content[0].text == "after"  # type: ignore[union-attr]
