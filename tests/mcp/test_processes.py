"""Real processes sharing one database: `countersign stdio`, `countersign demo|serve`, the CLI, a restart.

SQLite only (each test starts subprocesses; the PostgreSQL runs cover the same flows in-process).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from sqlmodel import select

from server.mcp.catalog import AWAIT_DECISION
from server.people import AGENT_TOKEN_PREFIX, PERSON_TOKEN_PREFIX, People
from server.runtime import build_runtime
from server.store.db import Store
from server.store.models import ApiToken
from tests.conftest import REPO
from tests.mcp.support import (
    COUNTERSIGN,
    FINANCE,
    NODE,
    ServeProcess,
    demo_registry,
    http_agent,
    make_settings,
    process_env,
    refund,
    run_cli,
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'countersign.db'}"


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def add_fiona(db: str) -> str:
    """A finance reviewer with a password, through the CLI; its output."""
    return run_cli(
        db,
        "user",
        "add",
        "fiona",
        "--role",
        "reviewer",
        "--queue",
        "finance",
        "--password-stdin",
        stdin="correct horse battery\n",
    )


def test_cli_prints_secrets_once_on_the_last_line_and_stores_only_their_hash(db: str) -> None:
    added = add_fiona(db)
    agent_token = last_line(run_cli(db, "agent", "add", "desk-agent"))
    person_token = last_line(run_cli(db, "token", "create", "--user", "fiona"))

    assert "fiona" in added
    assert agent_token.startswith(AGENT_TOKEN_PREFIX) and person_token.startswith(PERSON_TOKEN_PREFIX)
    store = Store.open(db)
    try:
        people = People(store)
        fiona = people.verify_password("fiona", "correct horse battery")
        assert fiona is not None and fiona.queues == frozenset({"finance"})
        agent = people.authenticate_token(agent_token)
        assert agent is not None and agent.kind == "agent" and agent.name == "desk-agent"
        with store.read() as session:
            stored = set(session.exec(select(ApiToken.token_hash)).all())
        assert agent_token not in stored and person_token not in stored
        assert len(stored) == 2
    finally:
        store.close()


def test_cli_refuses_a_user_that_already_exists(db: str) -> None:
    run_cli(db, "user", "add", "ada", "--role", "admin", "--password-stdin", stdin="long enough password\n")
    again = subprocess.run(
        [COUNTERSIGN, "user", "add", "ada", "--role", "admin", "--password-stdin"],
        env=process_env(db),
        input="long enough password\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1 and "already exists" in again.stderr


async def test_a_call_held_over_stdio_is_decided_through_the_api_of_a_serve_process(db: str, tmp_path: Path) -> None:
    add_fiona(db)
    person = last_line(run_cli(db, "token", "create", "--user", "fiona"))
    serve = ServeProcess(db, tmp_path / "serve.log", command="demo").start()  # demo seeds the back office
    stdio = StdioServerParameters(command=COUNTERSIGN, args=["stdio", "--agent", "desk-agent"], env=process_env(db))
    try:
        with anyio.fail_after(60):
            async with Client(stdio) as agent:
                pending = await agent.call_tool("issue_refund", refund(400.0))
                call_id = (pending.structured_content or {})["call_id"]
                async with httpx2.AsyncClient(base_url=serve.url) as api:
                    bearer = {"Authorization": f"Bearer {person}"}
                    seen = (await api.get(f"/api/calls/{call_id}", headers=bearer)).json()
                    decided = await api.post(
                        f"/api/calls/{call_id}/approve",
                        json={
                            "reason": "photos check out",
                            "args_hash": seen["args_hash"],
                            "override_reason": " ; ".join(seen["override_grounds"]) or None,
                        },
                        headers=bearer,
                    )
                final = await agent.call_tool(AWAIT_DECISION, {"call_id": call_id, "wait_seconds": 5})
    finally:
        serve.stop()

    assert (pending.structured_content or {})["status"] == "pending_approval"
    assert decided.status_code == 200 and decided.json()["call"]["agent"] == "desk-agent"
    assert final.is_error is False
    assert (final.structured_content or {})["amount"] == "400.00"
    assert (final.meta or {})["countersign/call"]["approvers"] == ["fiona"]


async def test_a_held_call_approved_while_the_server_is_down_is_returned_after_a_restart(
    db: str, tmp_path: Path
) -> None:
    token = last_line(run_cli(db, "agent", "add", "desk-agent"))
    serve = ServeProcess(db, tmp_path / "serve.log", command="demo").start()
    try:
        with anyio.fail_after(30):
            async with http_agent(f"{serve.url}/mcp", token) as agent:
                pending = await agent.call_tool("issue_refund", refund(400.0))
    finally:
        serve.stop()
    call_id = (pending.structured_content or {})["call_id"]

    # Nobody serves agents now; a person decides through another process on the same database.
    runtime = build_runtime(make_settings(db), registry=demo_registry())
    try:
        decided = runtime.gateway.approve(call_id, FINANCE, override_reason="checked the warnings")
        assert decided.call.status == "succeeded"
    finally:
        runtime.close()

    serve.start()
    try:
        with anyio.fail_after(30):
            async with http_agent(f"{serve.url}/mcp", token) as agent:
                final = await agent.call_tool(AWAIT_DECISION, {"call_id": call_id})
    finally:
        serve.stop()
    assert final.is_error is False
    assert (final.structured_content or {})["amount"] == "400.00"


def test_the_typescript_sdk_lists_tools_and_reads_the_pending_approval_result(db: str, tmp_path: Path) -> None:
    token = last_line(run_cli(db, "agent", "add", "ts-agent"))
    serve = ServeProcess(db, tmp_path / "serve.log", command="demo").start()
    try:
        done = subprocess.run(
            [NODE, str(REPO / "tests" / "mcp" / "ts_client.mjs"), f"{serve.url}/mcp", token],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        serve.stop()
    assert done.returncode == 0, done.stderr
    report = json.loads(last_line(done.stdout))
    assert report["protocol"] == "2025-11-25"
    assert {"issue_refund", "await_decision", "list_my_pending_calls"} <= set(report["tools"])
    assert report["justification_in_schema"] is True
    assert report["is_error"] is False
    assert report["structured"]["status"] == "pending_approval"
    assert report["structured"]["review_url"].startswith(serve.url)
    assert "await_decision" in report["text"]
    assert report["progress"] >= 1
