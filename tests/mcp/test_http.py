"""MCP over streamable HTTP against a real uvicorn server (in a thread): identity, outcomes, hygiene."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPDeprecationWarning

from server.config import Settings
from server.mcp.catalog import AWAIT_DECISION
from server.runtime import Runtime, build_runtime
from tests.mcp.rawmcp import RawMcp
from tests.mcp.support import (
    FINANCE,
    HeldCalls,
    demo_registry,
    http_agent,
    make_runtime,
    make_settings,
    refund,
    serving,
)
from tools.backoffice import ids
from web.app import create_app

NO_WAIT = {"countersign/inline_wait": 0}


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """Hygiene tests do not depend on the database, so they run on SQLite only."""
    runtime = make_runtime(make_settings(f"sqlite:///{tmp_path / 'countersign.db'}"))
    yield runtime
    runtime.close()


async def test_an_agent_over_http_gets_allowed_held_and_decided_results_under_its_own_name(
    database_url: str,
) -> None:
    settings = make_settings(database_url, inline_wait_seconds=20)
    runtime = make_runtime(settings)
    token = runtime.people.create_agent_token("desk-agent")
    runtime.people.create_user("fiona", "reviewer", queues=["finance"])
    person = runtime.people.create_person_token("fiona")
    held = HeldCalls(runtime)
    try:
        with serving(create_app(settings, runtime)) as url, anyio.fail_after(30):
            async with http_agent(f"{url}/mcp", token) as agent, httpx2.AsyncClient(base_url=url) as api:
                allowed = await agent.call_tool("get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID})

                # Held, then approved through the JSON API while the agent waits inline.
                results = []
                async with anyio.create_task_group() as group:

                    async def wait_inline() -> None:
                        results.append(await agent.call_tool("issue_refund", refund(400.0)))

                    group.start_soon(wait_inline)
                    call_id = await held.next()
                    seen = runtime.gateway.get_call(call_id)
                    assert seen is not None
                    approved = await api.post(
                        f"/api/calls/{call_id}/approve",
                        json={"args_hash": seen.args_hash, "override_reason": "checked the preview's warning"},
                        headers={"Authorization": f"Bearer {person}"},
                    )
                    assert approved.status_code == 200, approved.text

                # Held past the inline wait, approved, then fetched with await_decision.
                pending = await agent.call_tool("issue_refund", refund(100.0), meta=NO_WAIT)
                later_id = (pending.structured_content or {})["call_id"]
                await anyio.to_thread.run_sync(
                    lambda: runtime.gateway.approve(later_id, FINANCE, override_reason="checked the warnings")
                )
                final = await agent.call_tool(AWAIT_DECISION, {"call_id": later_id})

        assert allowed.is_error is False
        assert (results[0].structured_content or {})["amount"] == "400.00"
        assert (pending.structured_content or {})["status"] == "pending_approval"
        assert (final.structured_content or {})["amount"] == "100.00"
        agents = {call.agent for call in runtime.gateway.list_calls()}
        assert agents == {"desk-agent"}
    finally:
        runtime.close()


async def test_the_mcp_path_with_a_trailing_slash_serves_agents_too(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    token = runtime.people.create_agent_token("slash-agent")
    with serving(create_app(runtime.settings, runtime)) as url, anyio.fail_after(30):
        async with http_agent(f"{url}/mcp/", token) as agent:
            result = await agent.call_tool("get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID})
    assert result.is_error is False
    assert (result.meta or {})["countersign/call"]["status"] == "allowed"


async def test_mcp_without_a_valid_agent_token_is_refused(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    runtime.people.create_user("ada", "admin")
    person = runtime.people.create_person_token("ada")
    with (
        serving(create_app(runtime.settings, runtime)) as url,
        RawMcp(url, None) as anonymous,
        RawMcp(url, "csa_forged") as forged,
        RawMcp(url, person) as reviewer,
    ):
        missing, invalid, persons = anonymous.initialize(), forged.initialize(), reviewer.initialize()
    assert missing.status_code == invalid.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert persons.status_code == 403
    assert runtime.gateway.list_calls() == []


async def test_a_revoked_agent_token_is_refused_at_its_next_request_on_every_instance(database_url: str) -> None:
    settings = make_settings(database_url)
    first = make_runtime(settings)
    second = build_runtime(settings, registry=demo_registry())  # another instance: it shares only the database
    token = first.people.create_agent_token("desk-agent")
    try:
        with (
            serving(create_app(settings, first)) as first_url,
            serving(create_app(settings, second)) as second_url,
            RawMcp(first_url, token) as on_first,
            RawMcp(second_url, token) as on_second,
        ):
            assert on_first.initialize().status_code == on_second.initialize().status_code == 200
            assert "result" in on_first.request("ping") and "result" in on_second.request("ping")

            # The attacker's token is revoked on the first instance, then used at once on both.
            assert first.people.revoke_tokens("desk-agent", kind="agent") == 1
            after_on_first = on_first.post(
                {
                    "jsonrpc": "2.0",
                    "id": 90,
                    "method": "tools/call",
                    "params": {"name": "issue_refund", "arguments": refund(400.0)},
                }
            )
            after_on_second = on_second.post(
                {
                    "jsonrpc": "2.0",
                    "id": 91,
                    "method": "tools/call",
                    "params": {"name": "issue_refund", "arguments": refund(400.0)},
                }
            )
    finally:
        second.close()
        first.close()
    assert after_on_first.status_code == after_on_second.status_code == 401
    assert first.gateway.list_calls() == []


async def test_a_session_opened_by_one_agent_cannot_be_used_with_another_agents_token(
    sqlite_runtime: Runtime,
) -> None:
    runtime = sqlite_runtime
    first_token = runtime.people.create_agent_token("agent-a")
    second_token = runtime.people.create_agent_token("agent-b")
    with (
        serving(create_app(runtime.settings, runtime)) as url,
        RawMcp(url, first_token) as first,
        RawMcp(url, second_token) as second,
    ):
        first.initialize()
        second.session_id = first.session_id
        hijack = second.post({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        own = first.request("tools/list")
    assert hijack.status_code == 404
    assert "tools" in own["result"]


async def test_over_http_an_agent_cannot_await_another_agents_call(database_url: str) -> None:
    runtime = make_runtime(make_settings(database_url))
    owner_token = runtime.people.create_agent_token("agent-a")
    other_token = runtime.people.create_agent_token("agent-b")
    try:
        with serving(create_app(runtime.settings, runtime)) as url, anyio.fail_after(30):
            async with http_agent(f"{url}/mcp", owner_token) as owner, http_agent(f"{url}/mcp", other_token) as other:
                pending = await owner.call_tool("issue_refund", refund(400.0), meta=NO_WAIT)
                call_id = (pending.structured_content or {})["call_id"]
                foreign = await other.call_tool(AWAIT_DECISION, {"call_id": call_id, "wait_seconds": 0})
                own = await owner.call_tool(AWAIT_DECISION, {"call_id": call_id, "wait_seconds": 0})
    finally:
        runtime.close()
    assert foreign.is_error is True
    assert foreign.structured_content == {"status": "error", "error": f"No call {call_id!r} among this agent's calls."}
    assert (own.structured_content or {})["status"] == "pending_approval"


async def test_bad_requests_get_clear_errors_and_the_next_request_still_works(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    token = runtime.people.create_agent_token("agent-a")
    with serving(create_app(runtime.settings, runtime)) as url, RawMcp(url, token) as raw:
        assert raw.initialize().status_code == 200

        malformed = raw.post(b'{"jsonrpc": "2.0", "id": 7, "method": ')
        assert malformed.status_code == 400 and malformed.json()["error"]["code"] == -32700
        assert "result" in raw.request("ping")

        string_args = raw.request("tools/call", {"name": "issue_refund", "arguments": "refund C-1001"})
        assert string_args["result"]["isError"] is True
        assert string_args["result"]["structuredContent"]["field"] == "arguments"
        assert "JSON object" in string_args["result"]["content"][0]["text"]

        huge = raw.post(b'{"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {"x": "' + b"x" * 5_000_000 + b'"}}')
        assert huge.status_code == 413 and "larger than" in huge.json()["detail"]

        bad_origin = raw.post({"jsonrpc": "2.0", "id": 9, "method": "ping"}, origin="http://evil.example.com")
        assert bad_origin.status_code == 403
        bad_host = raw.post({"jsonrpc": "2.0", "id": 10, "method": "ping"}, host="evil.example.com")
        assert bad_host.status_code == 421

        unknown_method = raw.request("tools/destroy", {})
        assert unknown_method["error"]["code"] == -32601

        listed = raw.request("tools/list")
        assert len(listed["result"]["tools"]) == len(runtime.registry) + 2
    invalid = [call for call in runtime.gateway.list_calls() if call.category == "invalid-arguments"]
    assert [call.tool for call in invalid] == ["issue_refund"]


async def test_logging_set_level_is_answered(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    token = runtime.people.create_agent_token("agent-a")
    with serving(create_app(runtime.settings, runtime)) as url, RawMcp(url, token) as raw:
        initialized = raw.initialize()
        answer = raw.request("logging/setLevel", {"level": "warning"})
    assert '"logging"' in initialized.text  # advertised in the capabilities
    assert answer["result"] == {}


async def test_the_python_sdk_client_in_legacy_mode_works_too(sqlite_runtime: Runtime) -> None:
    runtime = sqlite_runtime
    token = runtime.people.create_agent_token("agent-a")
    with serving(create_app(runtime.settings, runtime)) as url, anyio.fail_after(20):
        async with (
            httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http), mode="legacy") as client,
        ):
            with pytest.warns(MCPDeprecationWarning):
                await client.set_logging_level("info")
            pending = await client.call_tool("issue_refund", refund(400.0))
            version = client.protocol_version
    assert version == "2025-11-25"
    assert (pending.structured_content or {})["status"] == "pending_approval"


async def test_api_and_health_answers_carry_security_headers_and_errors_leak_nothing(
    sqlite_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = sqlite_runtime
    runtime.people.create_user("ada", "admin")
    person = runtime.people.create_person_token("ada")

    def explode(**_: object) -> list[object]:
        raise RuntimeError("secret table name in a stack trace")

    with (
        serving(create_app(runtime.settings, runtime)) as url,
        httpx2.Client(base_url=url, headers={"Authorization": f"Bearer {person}"}) as http,
    ):
        health = http.get("/healthz")
        monkeypatch.setattr(runtime.gateway, "list_calls", explode)
        crashed = http.get("/api/calls")
        monkeypatch.undo()
        after = http.get("/api/calls")

    assert health.headers["x-content-type-options"] == "nosniff"
    assert health.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in health.headers["content-security-policy"]
    assert crashed.status_code == 500
    assert crashed.headers["connection"] == "close"  # the server drops it: the next request needs a new one
    assert crashed.json() == {"detail": "internal server error"}
    assert "secret" not in crashed.text
    assert after.status_code == 200


def test_allowed_hosts_follow_the_base_url_and_the_extra_hosts(tmp_path: Path) -> None:
    from web.mcp_http import allowed_hosts, allowed_origins

    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/x.db",
        base_url="https://countersign.example.com",
        allowed_hosts=["review.internal:8443"],
    )
    assert allowed_hosts(settings) == ["countersign.example.com", "review.internal:8443"]
    assert "https://countersign.example.com" in allowed_origins(settings)
    assert "http://127.0.0.1:*" not in allowed_origins(settings)
