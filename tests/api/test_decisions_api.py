"""The JSON decision API: who may decide, and the 401/403/404/409/422 matrix."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from server.lifecycle.records import NewCall
from server.runtime import Runtime
from server.store.db import Store
from tests.api.conftest import Tokens, api, auth, held, seen
from tests.clock import Clock
from tests.mcp.support import make_runtime, make_settings
from tools.backoffice import ids
from web.app import create_app


async def test_the_api_without_credentials_is_401(app: FastAPI, runtime: Runtime) -> None:
    call = held(runtime)
    async with api(app) as http:
        listed = await http.get("/api/calls")
        approved = await http.post(f"/api/calls/{call.id}/approve", json={})
        bad_token = await http.get("/api/calls", headers={"Authorization": "Bearer csp_not-a-real-token"})

    assert listed.status_code == approved.status_code == bad_token.status_code == 401
    assert listed.headers["www-authenticate"] == "Bearer"
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]


async def test_agent_tokens_never_reach_a_decision(app: FastAPI, runtime: Runtime, tokens: Tokens) -> None:
    call = held(runtime)
    async with api(app, tokens.agent) as http:
        responses = [
            await http.get("/api/calls"),
            await http.get(f"/api/calls/{call.id}"),
            await http.post(f"/api/calls/{call.id}/approve", json={}),
            await http.post(f"/api/calls/{call.id}/reject", json={"reason": "no"}),
        ]

    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]


async def test_a_reviewer_lists_the_calls_of_their_queues_with_filters(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    runtime.gateway.submit(
        NewCall(tool="get_customer", arguments={"customer_id": ids.REFUND_CUSTOMER_ID}, agent="agent-b")
    )
    async with api(app, tokens.fiona) as http:
        everything = (await http.get("/api/calls")).json()
        held_refunds = (await http.get("/api/calls", params={"status": "held", "tool": "issue_refund"})).json()
        by_agent = (await http.get("/api/calls", params={"agent": "agent-b"})).json()
        other_queue = await http.get("/api/calls", params={"queue": "support"})
        bad_status = await http.get("/api/calls", params={"status": "maybe"})

    assert [c["id"] for c in held_refunds] == [call.id]
    assert held_refunds[0]["review_url"].endswith(f"/calls/{call.id}")
    assert {c["queue"] for c in everything} == {"finance"}  # the allowed read went to another queue
    assert by_agent == []
    assert other_queue.status_code == 403
    assert bad_status.status_code == 422


async def test_a_queue_reviewer_gets_a_full_page_of_their_calls_among_many_others(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    mine = held(runtime)
    for _ in range(5):  # newer calls in a queue fiona does not review
        runtime.gateway.submit(
            NewCall(tool="get_customer", arguments={"customer_id": ids.REFUND_CUSTOMER_ID}, agent="agent-b")
        )
    async with api(app, tokens.fiona) as http:
        listed = (await http.get("/api/calls", params={"limit": 1})).json()

    assert [c["id"] for c in listed] == [mine.id]


async def test_call_detail_has_arguments_verdict_justification_and_a_preview(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    async with api(app, tokens.fiona) as http:
        response = await http.get(f"/api/calls/{call.id}")

    assert response.status_code == 200
    detail = response.json()
    assert detail["arguments"]["amount"] == 400.0
    assert detail["verdict"]["action"] == "hold"
    assert detail["decisions"] == []
    assert detail["preview"]["summary"].startswith("Refund")


async def test_approving_runs_the_call_once_and_a_second_decision_is_409(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    async with api(app, tokens.fiona) as http:
        first = await http.post(f"/api/calls/{call.id}/approve", json=seen(call, reason="photos check out"))
        again = await http.post(f"/api/calls/{call.id}/approve", json=seen(call))
        reject = await http.post(f"/api/calls/{call.id}/reject", json={"reason": "too late"})

    assert first.status_code == 200
    body = first.json()
    assert body["approved"] is True and body["call"]["status"] == "succeeded"
    assert body["call"]["result"]["amount"] == "400.00"
    assert [d["actor"] for d in body["call"]["decisions"]] == ["fiona"]
    assert again.status_code == reject.status_code == 409


async def test_reject_needs_a_reason(app: FastAPI, runtime: Runtime, tokens: Tokens) -> None:
    call = held(runtime)
    async with api(app, tokens.fiona) as http:
        missing = await http.post(f"/api/calls/{call.id}/reject", json={})
        blank = await http.post(f"/api/calls/{call.id}/reject", json={"reason": "   "})
        rejected = await http.post(f"/api/calls/{call.id}/reject", json={"reason": "duplicate request"})
        approve_after = await http.post(f"/api/calls/{call.id}/approve", json=seen(call))

    assert missing.status_code == blank.status_code == 422
    assert rejected.status_code == 200 and rejected.json()["call"]["status"] == "rejected"
    assert approve_after.status_code == 409


async def test_unknown_call_is_404(app: FastAPI, tokens: Tokens) -> None:
    async with api(app, tokens.ada) as http:
        responses = [
            await http.get("/api/calls/nope"),
            await http.post("/api/calls/nope/approve", json={"args_hash": "0" * 64}),
            await http.post("/api/calls/nope/reject", json={"reason": "x"}),
        ]
    assert [r.status_code for r in responses] == [404, 404, 404]


async def test_a_reviewer_of_another_queue_may_not_see_or_decide_the_call(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    async with api(app, tokens.sam) as http:
        looked = await http.get(f"/api/calls/{call.id}")
        approved = await http.post(f"/api/calls/{call.id}/approve", json=seen(call))
        rejected = await http.post(f"/api/calls/{call.id}/reject", json={"reason": "not mine"})
    assert looked.status_code == approved.status_code == rejected.status_code == 403


async def test_nobody_approves_their_own_request(app: FastAPI, runtime: Runtime, tokens: Tokens) -> None:
    call = held(runtime, on_behalf_of="fiona")
    async with api(app) as http:
        own = await http.post(f"/api/calls/{call.id}/approve", json=seen(call), headers=auth(tokens.fiona))
        other = await http.post(f"/api/calls/{call.id}/approve", json=seen(call), headers=auth(tokens.ada))
    assert own.status_code == 403
    assert other.status_code == 200


async def test_an_edit_that_does_not_validate_is_422_and_a_valid_edit_is_approved_as_a_diff(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    arguments = {
        "customer_id": ids.REFUND_CUSTOMER_ID,
        "order_id": ids.REFUND_ORDER_ID,
        "currency": "EUR",
        "reason": "half is fair",
    }
    async with api(app, tokens.fiona) as http:
        negative = await http.post(
            f"/api/calls/{call.id}/approve", json=seen(call, arguments={**arguments, "amount": -1})
        )
        unknown = await http.post(
            f"/api/calls/{call.id}/approve", json=seen(call, arguments={**arguments, "amount": 1, "x": 1})
        )
        good = await http.post(f"/api/calls/{call.id}/approve", json=seen(call, arguments={**arguments, "amount": 200}))
        edited = good.json()["call"]
        second = await http.post(f"/api/calls/{call.id}/approve", json=seen(edited), headers=auth(tokens.ada))

    assert negative.status_code == unknown.status_code == 422
    assert good.status_code == 200, good.text
    assert {"field": "amount", "before": 400.0, "after": 200.0} in good.json()["diff"]
    assert good.json()["approved"] is False  # the editor alone never approves their own edit
    assert second.status_code == 200, second.text
    assert second.json()["call"]["result"]["amount"] == "200.00"


async def test_approving_an_expired_call_is_409(database_url: str) -> None:
    clock = Clock()
    settings = make_settings(database_url)
    runtime = make_runtime(settings, store=Store.open(database_url, clock=clock))
    try:
        runtime.people.create_user("fiona", "reviewer", queues=["finance"])
        token = runtime.people.create_person_token("fiona")
        call = held(runtime)
        clock.advance(days=2)
        async with api(create_app(settings, runtime), token) as http:
            response = await http.post(f"/api/calls/{call.id}/approve", json=seen(call))
        assert response.status_code == 409
        assert runtime.gateway.get_call(call.id).status == "expired"  # type: ignore[union-attr]
    finally:
        runtime.close()


async def test_high_value_payments_need_two_distinct_people(app: FastAPI, runtime: Runtime, tokens: Tokens) -> None:
    runtime.people.create_user("fred", "reviewer", queues=["finance-senior"])
    fred = runtime.people.create_person_token("fred")
    call = runtime.gateway.submit(
        NewCall(
            tool="pay_invoice",
            arguments={
                "vendor_id": ids.FRAUD_VENDOR_ID,
                "invoice_id": ids.FRAUD_INVOICE_ID,
                "amount": float(ids.FRAUD_INVOICE_AMOUNT),
                "currency": "EUR",
            },
            agent="agent-a",
        )
    ).call
    assert call.required_approvals == 2
    url = f"/api/calls/{call.id}/approve"
    async with api(app) as http:
        first = await http.post(url, json=seen(call, reason="invoice matches PO"), headers=auth(tokens.ada))
        twice = await http.post(url, json=seen(call), headers=auth(tokens.ada))
        second = await http.post(url, json=seen(call, reason="checked the bank letter"), headers=auth(fred))

    assert first.status_code == 200 and first.json()["approved"] is False and first.json()["approvals"] == 1
    assert twice.status_code == 409
    assert second.status_code == 200 and second.json()["approved"] is True
    assert second.json()["call"]["status"] == "succeeded"


async def test_healthz_answers_ok_and_503_when_the_database_is_unreachable(
    app: FastAPI, runtime: Runtime, tmp_path: pytest.TempPathFactory
) -> None:
    async with api(app) as http:
        ok = await http.get("/healthz")
        real = runtime.store.engine
        runtime.store.engine = Store.open(f"sqlite:///{tmp_path}/missing/dir/x.db", migrate_schema=False).engine
        try:
            down = await http.get("/healthz")
        finally:
            runtime.store.engine.dispose()
            runtime.store.engine = real
    assert ok.status_code == 200 and ok.json()["status"] == "ok" and ok.json()["policy_version"]
    assert down.status_code == 503 and down.json()["status"] == "unavailable"


async def test_openapi_describes_the_decision_routes(app: FastAPI) -> None:
    async with api(app) as http:
        schema = (await http.get("/openapi.json")).json()
    assert {"/api/calls", "/api/calls/{call_id}", "/api/calls/{call_id}/approve", "/api/calls/{call_id}/reject"} <= set(
        schema["paths"]
    )
    assert "/healthz" in schema["paths"]
