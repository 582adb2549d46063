"""Attacks on the JSON API that the review page refused and the API let through (issue 10).

Each test is the attack: before the review service, every one of them succeeded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from sqlmodel import col, select

from server.lifecycle.records import NewCall
from server.runtime import Runtime
from server.store.models import AuditEvent, ToolCall
from tests.api.conftest import Tokens, api, auth, held, seen
from tests.mcp.support import refund
from tools.backoffice import ids


def _issued_refunds(runtime: Runtime) -> int:
    with runtime.store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM bo_refund WHERE status = 'issued'")).scalar_one())


def _events(runtime: Runtime, call_id: str) -> list[AuditEvent]:
    with runtime.store.read() as session:
        query = select(AuditEvent).where(AuditEvent.call_id == call_id).order_by(col(AuditEvent.seq))
        return list(session.exec(query).all())


def _bank_change(runtime: Runtime) -> ToolCall:
    """A held, critical call: new bank details for a vendor."""
    arguments = {
        "vendor_id": ids.PAYABLE_VENDOR_ID,
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
        "account_holder": "Bürobedarf Nord GmbH",
    }
    call = runtime.gateway.submit(NewCall(tool="change_vendor_bank_details", arguments=arguments, agent="agent-a")).call
    assert call.status == "held" and call.risk == "critical"
    return call


def _payment(runtime: Runtime, amount: float) -> ToolCall:
    arguments = {
        "vendor_id": ids.FRAUD_VENDOR_ID,
        "invoice_id": ids.FRAUD_INVOICE_ID,
        "amount": amount,
        "currency": "EUR",
    }
    return runtime.gateway.submit(NewCall(tool="pay_invoice", arguments=arguments, agent="agent-a")).call


async def test_approving_a_call_with_preview_warnings_without_an_override_reason_is_422(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)  # 400 EUR: the preview warns it is far above this customer's usual refunds
    before = _issued_refunds(runtime)
    async with api(app, tokens.fiona) as http:
        detail = (await http.get(f"/api/calls/{call.id}")).json()
        refused = await http.post(f"/api/calls/{call.id}/approve", json={"args_hash": call.args_hash})
        blank = await http.post(
            f"/api/calls/{call.id}/approve", json={"args_hash": call.args_hash, "override_reason": "  "}
        )

    assert detail["override_grounds"] == ["the tool's preview raises 1 warning"]
    assert refused.status_code == blank.status_code == 422
    assert "override reason" in refused.json()["detail"]
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]
    assert _issued_refunds(runtime) == before


async def test_approving_a_call_with_hidden_characters_needs_an_override_reason(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    hidden = runtime.gateway.submit(
        NewCall(
            tool="issue_refund",
            arguments=refund(60.0) | {"reason": "parcel arrived dam\u200baged"},
            agent="agent-a",
        )
    ).call
    assert hidden.status == "held"
    async with api(app, tokens.fiona) as http:
        refused = await http.post(f"/api/calls/{hidden.id}/approve", json={"args_hash": hidden.args_hash})
        granted = await http.post(f"/api/calls/{hidden.id}/approve", json=seen(hidden))

    assert refused.status_code == 422 and "hidden characters" in refused.json()["detail"]
    assert granted.status_code == 200 and granted.json()["approved"] is True


async def test_approving_a_critical_call_needs_an_override_reason(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = _bank_change(runtime)
    async with api(app, tokens.ada) as http:
        refused = await http.post(f"/api/calls/{call.id}/approve", json={"args_hash": call.args_hash})

    assert refused.status_code == 422
    assert "critical" in refused.json()["detail"]


async def test_an_approval_must_name_the_arguments_it_saw(app: FastAPI, runtime: Runtime, tokens: Tokens) -> None:
    call = held(runtime)
    async with api(app, tokens.fiona) as http:
        detail = (await http.get(f"/api/calls/{call.id}")).json()
        unbound = await http.post(f"/api/calls/{call.id}/approve", json={"override_reason": "fine"})

    assert detail["args_hash"] == call.args_hash
    assert unbound.status_code == 422
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]


async def test_approving_arguments_another_reviewer_edited_since_is_409(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    async with api(app) as http:
        opened = (await http.get(f"/api/calls/{call.id}", headers=auth(tokens.fiona))).json()
        edit = await http.post(
            f"/api/calls/{call.id}/approve",
            json=seen(call, arguments=refund(2000.0)),
            headers=auth(tokens.ada),
        )
        stale = await http.post(f"/api/calls/{call.id}/approve", json=seen(opened), headers=auth(tokens.fiona))

    assert edit.status_code == 200, edit.text
    assert stale.status_code == 409
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]


async def test_an_edit_re_titles_the_call_on_the_api_and_in_the_audit(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    assert "400.00" in call.summary
    async with api(app, tokens.ada) as http:
        edit = await http.post(f"/api/calls/{call.id}/approve", json=seen(call, arguments=refund(200.0)))
        listed = (await http.get("/api/calls", params={"status": "held"})).json()

    assert edit.status_code == 200, edit.text
    title = edit.json()["call"]["summary"]
    assert "200.00" in title and "400.00" not in title
    assert [c["summary"] for c in listed if c["id"] == call.id] == [title]
    edited_event = _events(runtime, call.id)[-1]
    assert edited_event.data is not None and edited_event.data["edit"]["summary"] == title


async def test_a_payment_edited_above_the_two_person_threshold_moves_queue_and_needs_two(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = _payment(runtime, 5000.0)
    assert (call.queue, call.required_approvals) == ("finance", 1)
    raised: dict[str, Any] = {
        "vendor_id": ids.FRAUD_VENDOR_ID,
        "invoice_id": ids.FRAUD_INVOICE_ID,
        "amount": 48750.0,
        "currency": "EUR",
    }
    async with api(app) as http:
        edit = await http.post(
            f"/api/calls/{call.id}/approve", json=seen(call, arguments=raised), headers=auth(tokens.ada)
        )
        edited = edit.json()["call"]
        fiona_sees = await http.get(f"/api/calls/{call.id}", headers=auth(tokens.fiona))

    assert edit.status_code == 200 and edit.json()["approved"] is False
    assert (edited["queue"], edited["required_approvals"]) == ("finance-senior", 2)
    assert edited["exposure_amount"] == 48750.0
    assert fiona_sees.status_code == 403  # the finance queue's reviewer no longer decides it


async def test_a_reviewer_cannot_approve_a_call_made_for_them_spelled_in_capitals(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime, on_behalf_of="FIONA")
    async with api(app, tokens.fiona) as http:
        own = await http.post(f"/api/calls/{call.id}/approve", json=seen(call))
    assert own.status_code == 403


async def test_an_on_behalf_of_that_names_nobody_is_shown_as_unknown(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    stranger = held(runtime, on_behalf_of="the-ceo")
    known = held(runtime, 60.0, on_behalf_of="Fiona")
    async with api(app, tokens.ada) as http:
        stranger_detail = (await http.get(f"/api/calls/{stranger.id}")).json()
        known_detail = (await http.get(f"/api/calls/{known.id}")).json()
    assert stranger_detail["on_behalf_of_known"] is False
    assert known_detail["on_behalf_of_known"] is True


async def test_the_person_an_agent_is_bound_to_can_never_approve_its_calls(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    runtime.people.create_agent_token("fionas-agent", for_person="fiona")
    call = runtime.gateway.submit(NewCall(tool="issue_refund", arguments=refund(400.0), agent="fionas-agent")).call
    async with api(app, tokens.fiona) as http:
        detail = (await http.get(f"/api/calls/{call.id}")).json()
        own = await http.post(f"/api/calls/{call.id}/approve", json=seen(call))
    assert detail["bound_person"] == "fiona"
    assert own.status_code == 403
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]


async def test_with_the_kill_switch_on_an_approved_refund_does_not_run_by_any_path(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = held(runtime)
    before = _issued_refunds(runtime)
    runtime.gateway.overrides.set_kill_switch(True, reason="incident 42", actor="ada")
    async with api(app, tokens.fiona) as http:
        approved = await http.post(f"/api/calls/{call.id}/approve", json=seen(call))
        runtime.gateway.sweep()  # the sweep of approved calls nobody ran
        detail = (await http.get(f"/api/calls/{call.id}")).json()

    assert approved.status_code == 200 and approved.json()["approved"] is True
    assert detail["status"] == "approved"
    assert detail["kill_switch"] is not None and "incident 42" in detail["kill_switch"]
    assert _issued_refunds(runtime) == before

    runtime.gateway.overrides.set_kill_switch(False, reason="incident over", actor="ada")
    runtime.gateway.sweep()
    assert runtime.gateway.get_call(call.id).status == "succeeded"  # type: ignore[union-attr]
    assert _issued_refunds(runtime) == before + 1


async def test_decision_events_record_the_api_channel_and_client_address(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    approved, rejected = held(runtime), held(runtime, 60.0)
    async with api(app, tokens.fiona) as http:
        await http.post(f"/api/calls/{approved.id}/approve", json=seen(approved))
        await http.post(f"/api/calls/{rejected.id}/reject", json={"reason": "duplicate"})

    decided = [e for e in _events(runtime, approved.id) if e.event_type == "approved"]
    refused = [e for e in _events(runtime, rejected.id) if e.event_type == "rejected"]
    for event in decided + refused:
        assert event.data is not None
        assert event.data["via"]["channel"] == "api"
        assert event.data["via"]["address"]
    assert len(decided) == len(refused) == 1


async def test_a_second_approval_of_a_decided_critical_call_is_409_not_a_demand_for_a_reason(
    app: FastAPI, runtime: Runtime, tokens: Tokens
) -> None:
    call = _bank_change(runtime)
    async with api(app, tokens.ada) as http:
        await http.post(f"/api/calls/{call.id}/reject", json={"reason": "no call-back yet"})
        again = await http.post(f"/api/calls/{call.id}/approve", json={"args_hash": call.args_hash})
    assert again.status_code == 409
