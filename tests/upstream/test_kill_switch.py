"""The admin kill switch stops upstream tools that act, as it stops the built-in act tools: allowed calls
are refused, and a held call approved while it is on does not run until it is turned off."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.lifecycle.records import NewCall
from server.lifecycle.states import CallStatus
from server.runtime import Runtime
from tests.mcp.support import ADMIN
from tests.upstream.support import chatty_runtime

POLICY = """\
version: 1
tools:
  chat__echo: {action: allow, risk: low, kind: act}
  chat__work: {action: allow, risk: low, kind: read}
rules:
  - id: hold-marked
    tools: [chat__echo]
    when: args.text.startsWith("hold")
    action: hold
"""


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    with chatty_runtime(database_url, tmp_path, POLICY) as runtime:
        yield runtime


def _echo(text: str) -> NewCall:
    return NewCall(tool="chat__echo", arguments={"text": text}, agent="agent-a")


def test_the_kill_switch_refuses_upstream_act_tools_and_spares_their_reads(runtime: Runtime) -> None:
    gateway = runtime.gateway
    gateway.overrides.set_kill_switch(True, reason="incident 7", actor="root")

    refused = gateway.submit(_echo("pay"))
    assert refused.call.status == CallStatus.BLOCKED and refused.ran is None
    assert "kill switch" in json.dumps(refused.call.verdict)
    read = gateway.submit(NewCall(tool="chat__work", arguments={"steps": 1}, agent="agent-a"))
    assert read.call.status == CallStatus.ALLOWED

    gateway.overrides.set_kill_switch(False, reason="incident closed", actor="root")
    assert gateway.submit(_echo("pay")).call.status == CallStatus.ALLOWED


def test_a_held_upstream_call_approved_while_the_switch_is_on_waits_and_runs_once_it_is_off(
    runtime: Runtime,
) -> None:
    gateway = runtime.gateway
    held = gateway.submit(_echo("hold me")).call
    assert held.status == CallStatus.HELD

    gateway.overrides.set_kill_switch(True, reason="incident 8", actor="root")
    assert gateway.review.kill_switch(held) is not None  # the review page and API show why it will not run
    approved = gateway.approve(held.id, ADMIN).call
    assert approved.status == CallStatus.APPROVED  # decided, but not run: nothing reached the upstream
    gateway.sweep()
    assert gateway.get_call(held.id).status == CallStatus.APPROVED  # type: ignore[union-attr]

    gateway.overrides.set_kill_switch(False, reason="incident closed", actor="root")
    gateway.sweep()
    done = gateway.get_call(held.id)
    assert done is not None and done.status == CallStatus.SUCCEEDED
    assert done.result["countersign/upstream_result"]["content"][0]["text"] == "hold me"  # type: ignore[index]


def test_a_per_tool_block_override_refuses_an_upstream_tool(runtime: Runtime) -> None:
    from server.policy.types import Action, Risk

    runtime.gateway.overrides.set("chat__work", risk=Risk.HIGH, action=Action.BLOCK, reason="off", actor="root")
    blocked = runtime.gateway.submit(NewCall(tool="chat__work", arguments={"steps": 1}, agent="agent-a"))
    assert blocked.call.status == CallStatus.BLOCKED
