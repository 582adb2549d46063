"""MCP Tasks on 2026-07-28 (the io.modelcontextprotocol/tasks extension, SEP-2663) over real HTTP, with raw
JSON-RPC bodies in the envelope the official conformance suite sends (the Python SDK 2.3 has no tasks client)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from sqlmodel import select

from server.lifecycle.states import CallStatus
from server.runtime import Runtime
from server.store.models import AuditEvent
from tests.mcp.support import FINANCE, make_runtime, make_settings, refund, serving
from tools.backoffice import ids
from web.app import create_app

VERSION = "2026-07-28"
EXTENSION = "io.modelcontextprotocol/tasks"


class Agent:
    """One agent's raw 2026-07-28 requests; ``tasks`` says whether it declares the tasks extension."""

    def __init__(self, url: str, token: str, *, tasks: bool = True) -> None:
        self.url = f"{url}/mcp"
        self.token = token
        self.tasks = tasks
        self.next_id = 0

    def request(self, method: str, params: dict[str, Any], *, name: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        capabilities: dict[str, Any] = {"extensions": {EXTENSION: {}}} if self.tasks else {}
        meta = {
            "io.modelcontextprotocol/protocolVersion": VERSION,
            "io.modelcontextprotocol/clientInfo": {"name": "raw-tasks-test", "version": "1.0.0"},
            "io.modelcontextprotocol/clientCapabilities": capabilities,
        }
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": VERSION,
            "Mcp-Method": method,
        }
        if name is not None:
            headers["Mcp-Name"] = name
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": {**params, "_meta": meta}}
        answer = httpx2.post(self.url, json=body, headers=headers, timeout=30)
        return _message(answer)

    def call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return self.request("tools/call", {"name": tool, "arguments": arguments}, name=tool)

    def task(self, method: str, task_id: str) -> dict[str, Any]:
        return self.request(method, {"taskId": task_id}, name=task_id)


def _message(answer: httpx2.Response) -> dict[str, Any]:
    """The JSON-RPC response, from a JSON body or the last message of an SSE stream."""
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        datas = [line[5:].strip() for line in answer.text.splitlines() if line.startswith("data:")]
        messages = [json.loads(d) for d in datas if d]
        return next(m for m in reversed(messages) if "id" in m)
    message: dict[str, Any] = answer.json()
    return message


def _setup(database_url: str) -> tuple[Runtime, str, str]:
    runtime = make_runtime(make_settings(database_url, inline_wait_seconds=0.3))
    return runtime, runtime.people.create_agent_token("agent-a"), runtime.people.create_agent_token("agent-b")


def test_a_held_call_answers_with_a_task_that_completes_once_a_person_approves(database_url: str) -> None:
    runtime, token, _ = _setup(database_url)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            agent = Agent(url, token)
            created = agent.call("issue_refund", refund(400.0))["result"]
            working = agent.task("tasks/get", created["taskId"])["result"]
            runtime.gateway.approve(created["taskId"], FINANCE, override_reason="checked the warnings")
            done = agent.task("tasks/get", created["taskId"])["result"]
    finally:
        runtime.close()
    assert created["resultType"] == "task" and created["status"] == "working"
    assert created["ttlMs"] == 24 * 3600 * 1000 and created["pollIntervalMs"] == 2000
    assert "ttl" not in created and "pollInterval" not in created and "content" not in created
    assert working["status"] == "working" and "result" not in working
    assert done["status"] == "completed"
    assert done["result"]["structuredContent"]["amount"] == "400.00" and not done["result"].get("isError")


def test_without_the_extension_nothing_changes_and_tasks_methods_are_refused(database_url: str) -> None:
    runtime, token, _ = _setup(database_url)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            plain = Agent(url, token, tasks=False)
            pending = plain.call("issue_refund", refund(400.0))["result"]
            refused = plain.task("tasks/get", pending["structuredContent"]["call_id"])["error"]
    finally:
        runtime.close()
    assert pending["resultType"] == "complete" and pending["structuredContent"]["status"] == "pending_approval"
    assert refused["code"] == -32021 and refused["data"]["requiredCapabilities"]["extensions"] == {EXTENSION: {}}


def test_the_server_decides_allowed_calls_answer_at_once_even_for_declaring_clients(database_url: str) -> None:
    runtime, token, _ = _setup(database_url)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            answer = Agent(url, token).call("get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID})["result"]
    finally:
        runtime.close()
    assert answer["resultType"] == "complete" and "taskId" not in answer and not answer.get("isError")


def test_tasks_cancel_withdraws_a_held_call_and_is_audited_as_the_agents(database_url: str) -> None:
    runtime, token, _ = _setup(database_url)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            agent = Agent(url, token)
            task_id = agent.call("issue_refund", refund(400.0))["result"]["taskId"]
            ack = agent.task("tasks/cancel", task_id)["result"]
            after = agent.task("tasks/get", task_id)["result"]
        with runtime.store.read() as session:
            event = session.exec(
                select(AuditEvent).where(AuditEvent.call_id == task_id, AuditEvent.event_type == "cancelled")
            ).one()
    finally:
        runtime.close()
    assert {k: v for k, v in ack.items() if k not in ("resultType", "_meta")} == {}
    assert after["status"] == "cancelled"
    assert after["result"]["structuredContent"]["status"] == "cancelled" and after["result"]["isError"] is True
    assert event.actor == "agent-a" and event.actor_kind == "agent"


def test_tasks_cancel_after_approval_is_acknowledged_but_changes_nothing(database_url: str) -> None:
    runtime, token, _ = _setup(database_url)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            agent = Agent(url, token)
            task_id = agent.call("issue_refund", refund(400.0))["result"]["taskId"]
            runtime.gateway.approve(task_id, FINANCE, override_reason="checked the warnings")
            ack = agent.task("tasks/cancel", task_id)
            after = agent.task("tasks/get", task_id)["result"]
    finally:
        runtime.close()
    assert "result" in ack  # SEP-2663: cancel is always acknowledged
    assert after["status"] == "completed" and after["result"]["structuredContent"]["amount"] == "400.00"


def test_another_agents_task_does_not_exist_for_it(database_url: str) -> None:
    runtime, token_a, token_b = _setup(database_url)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            task_id = Agent(url, token_a).call("issue_refund", refund(400.0))["result"]["taskId"]
            other = Agent(url, token_b)
            seen = other.task("tasks/get", task_id)["error"]
            other.task("tasks/cancel", task_id)
            still = runtime.gateway.get_call(task_id)
    finally:
        runtime.close()
    assert seen["code"] == -32602 and "No task" in seen["message"]
    assert still is not None and still.status == CallStatus.HELD


def test_removed_methods_answer_method_not_found(database_url: str) -> None:
    runtime, token, _ = _setup(database_url)
    try:
        with serving(create_app(runtime.settings, runtime)) as url:
            agent = Agent(url, token)
            task_id = agent.call("issue_refund", refund(400.0))["result"]["taskId"]
            result = agent.task("tasks/result", task_id)["error"]
            listed = agent.request("tasks/list", {})["error"]
    finally:
        runtime.close()
    assert result["code"] == -32601 and listed["code"] == -32601


def test_a_task_survives_a_restart_of_the_server(database_url: str) -> None:
    first, token, _ = _setup(database_url)
    try:
        with serving(create_app(first.settings, first)) as url:
            task_id = Agent(url, token).call("issue_refund", refund(400.0))["result"]["taskId"]
    finally:
        first.close()
    second = make_runtime(make_settings(database_url, inline_wait_seconds=0.3))
    try:
        second.gateway.approve(task_id, FINANCE, override_reason="checked the warnings")
        with serving(create_app(second.settings, second)) as url:
            done = Agent(url, token).task("tasks/get", task_id)["result"]
    finally:
        second.close()
    assert done["status"] == "completed" and done["result"]["structuredContent"]["amount"] == "400.00"
