"""An upstream over streamable HTTP whose policy entry says the idempotency key goes in a header: the
approved call carries the key derived from the call id as that header, and only the approved call."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from server.policy.model import IdempotencySpec
from server.runtime import Runtime
from server.upstream.config import HttpUpstream, StdioUpstream
from tests.mcp.support import ADMIN, HeldCalls, free_port, mcp_server
from tests.upstream.support import upstream_runtime

SERVER = Path(__file__).with_name("chatty_server.py")
POLICY = """\
version: 1
tools:
  chat__echo: {action: hold, risk: medium, kind: act, idempotency: {header: X-Idempotency-Key}}
"""
NO_WAIT = {"countersign/inline_wait": 0}


@pytest.fixture
def http_upstream(tmp_path: Path) -> Iterator[int]:
    port = free_port()
    with (tmp_path / "upstream.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, str(SERVER), "http", str(port)], stdout=log, stderr=log)
    yield port
    process.kill()
    process.wait(timeout=10)


@pytest.fixture
def runtime(database_url: str, tmp_path: Path, http_upstream: int) -> Iterator[Runtime]:
    upstream = HttpUpstream(url=f"http://127.0.0.1:{http_upstream}/mcp", call_timeout=5)
    runtime = upstream_runtime(database_url, tmp_path, {"chat": upstream}, POLICY)
    assert runtime.hub is not None and runtime.hub.wait_up("chat", 60), runtime.hub.status()
    yield runtime
    runtime.close()


async def test_the_approved_call_sends_the_idempotency_key_derived_from_the_call_id_as_the_declared_header(
    runtime: Runtime,
) -> None:
    held = HeldCalls(runtime)
    async with Client(mcp_server(runtime)) as client:
        await client.call_tool("chat__echo", {"text": "pay once"}, meta=NO_WAIT)
        with anyio.fail_after(10):
            call_id = await held.next()
        outcome = await anyio.to_thread.run_sync(lambda: runtime.gateway.approve(call_id, ADMIN))

    call = outcome.call
    assert call.status == "succeeded"
    assert runtime.gateway._is_idempotent("chat__echo") is True  # a crash mid-call is retried with the same key
    result = runtime.gateway.get_call(call_id).result  # type: ignore[union-attr]
    structured = result["countersign/upstream_result"]["structuredContent"]
    assert structured == {"text": "pay once", "idempotency_key": call.idempotency_key}
    assert call.idempotency_key  # derived from the call id, stored with the call


async def test_calls_without_a_declared_header_send_none(runtime: Runtime) -> None:
    assert runtime.hub is not None
    direct = await anyio.to_thread.run_sync(lambda: runtime.hub.call("chat__echo", {"text": "x"}))  # type: ignore[union-attr]
    assert direct.structured_content == {"text": "x", "idempotency_key": None}


def test_a_header_key_over_stdio_cannot_be_delivered_so_the_tool_is_not_retried_blindly(
    database_url: str, tmp_path: Path
) -> None:
    upstream = StdioUpstream(command=(sys.executable, str(SERVER), "stdio"), call_timeout=5)
    runtime = upstream_runtime(database_url, tmp_path, {"chat": upstream}, POLICY)
    try:
        assert runtime.gateway._is_idempotent("chat__echo") is False  # a crash becomes unknown_outcome
    finally:
        runtime.close()


def test_the_policy_names_exactly_one_place_for_the_key() -> None:
    assert IdempotencySpec(header="X-Idempotency-Key").header == "X-Idempotency-Key"
    with pytest.raises(ValueError, match="exactly one"):
        IdempotencySpec(argument="key", header="X-Idempotency-Key")
    with pytest.raises(ValueError, match="exactly one"):
        IdempotencySpec()
    with pytest.raises(ValueError):
        IdempotencySpec(header="Bad Header\r\n")
