"""MCP Tasks (2025-11-25) with the official TypeScript SDK's task client over HTTP: held call -> task ->
approval through the JSON API -> result; withdrawal while held; refusal after approval; isolation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import anyio
import sqlalchemy as sa
from sqlmodel import select

from server.store.models import AuditEvent
from tests.conftest import REPO
from tests.mcp.support import NODE, approve_over_api, make_runtime, make_settings, serving
from web.app import create_app

SCRIPT = REPO / "tests" / "mcp" / "ts_tasks.mjs"


class Script:
    """The node script as a subprocess: JSON lines out, "go" lines in."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def read(self, step: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        with anyio.fail_after(30):
            line = await self.process.stdout.readline()
        if not line:
            assert self.process.stderr is not None
            raise AssertionError(f"script ended before {step}: {(await self.process.stderr.read()).decode()[-3000:]}")
        data: dict[str, Any] = json.loads(line)
        assert data["step"] == step, data
        return data

    async def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()


async def test_the_typescript_task_client_gets_tasks_for_held_calls_and_only_its_own(database_url: str) -> None:
    settings = make_settings(database_url, inline_wait_seconds=0.3)
    runtime = make_runtime(settings)
    token_a = runtime.people.create_agent_token("agent-a")
    token_b = runtime.people.create_agent_token("agent-b")
    runtime.people.create_user("fiona", "reviewer", queues=["finance"])
    person = runtime.people.create_person_token("fiona")
    try:
        with serving(create_app(settings, runtime)) as url:
            process = await asyncio.create_subprocess_exec(
                NODE,
                str(SCRIPT),
                f"{url}/mcp",
                token_a,
                token_b,
                cwd=str(REPO),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            script = Script(process)
            try:
                listed = await script.read("listed")
                created = await script.read("created")
                await anyio.to_thread.run_sync(approve_over_api, runtime, url, person, created["task"]["taskId"])
                await script.go()
                approved = await script.read("approved")
                cancelled = await script.read("cancelled")
                for_approval = await script.read("created-for-approval")
                await anyio.to_thread.run_sync(approve_over_api, runtime, url, person, for_approval["task"]["taskId"])
                await script.go()
                after_approval = await script.read("cancel-after-approval")
                isolation = await script.read("isolation")
                plain = await script.read("plain")
                with anyio.fail_after(30):
                    assert await process.wait() == 0
            finally:
                if process.returncode is None:
                    process.kill()
                    await process.wait()

        # Advertised: the capability, and taskSupport on acting tools only.
        assert listed["capabilities"]["tasks"]["requests"]["tools"]["call"] == {}
        assert listed["refund_execution"] == {"taskSupport": "optional"} and listed["read_execution"] is None

        # Held -> task (working, TTL = the hold's expiry, 24 h in the finance queue) -> approved -> the real result.
        task = created["task"]
        assert task["status"] == "working" and task["ttl"] == 24 * 3600 * 1000 and task["pollInterval"] == 2000
        kinds = [event["type"] for event in approved["events"]]
        assert kinds[0] == "taskCreated" and kinds[-1] == "result", approved
        assert {"type": "taskStatus", "status": "completed"} in approved["events"]
        # The session that made the task was told of its status changes (decided in this process).
        assert {"taskId": task["taskId"], "status": "completed"} in approved["notified"]
        result = approved["events"][-1]["result"]
        assert result["structuredContent"]["amount"] == "400.00" and not result.get("isError")
        assert result["_meta"]["io.modelcontextprotocol/related-task"] == {"taskId": task["taskId"]}
        assert result["_meta"]["countersign/call"]["approvers"] == ["fiona"]

        # Withdrawn while held: cancelled, and audited as cancelled by the agent.
        assert cancelled["cancelled"]["status"] == "cancelled" and cancelled["after"]["status"] == "cancelled"
        withdrawn_id = cancelled["created"]["taskId"]
        with runtime.store.read() as session:
            events = session.exec(select(AuditEvent).where(AuditEvent.call_id == withdrawn_id)).all()
        cancel_event = next(e for e in events if e.event_type == "cancelled")
        assert cancel_event.actor == "agent-a" and cancel_event.actor_kind == "agent"

        # Approved: withdrawing is refused, and the result is the approved call's.
        assert after_approval["refused"] is not None and after_approval["refused"]["code"] == -32602
        assert "can no longer be withdrawn" in after_approval["refused"]["message"]
        assert after_approval["result"]["structuredContent"]["amount"] == "402.00"

        # Agent B sees none of agent A's tasks; A sees its own.
        assert {task["taskId"], withdrawn_id, for_approval["task"]["taskId"]} <= set(isolation["a_ids"])
        assert isolation["b_ids"] == []
        for refused in (isolation["get_by_b"], isolation["result_by_b"], isolation["cancel_by_b"]):
            assert refused is not None and refused["code"] == -32602 and "No task" in refused["message"]

        # A call that does not ask for a task behaves as before.
        assert plain["structured"]["status"] == "pending_approval" and plain["is_error"] is False
        with runtime.store.engine.connect() as conn:
            count = conn.execute(sa.text("SELECT count(*) FROM tool_call WHERE agent = 'agent-a'")).scalar_one()
        assert count == 4
    finally:
        runtime.close()
