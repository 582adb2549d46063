"""The review page under the same rules as the JSON API (issue 10): re-titled edits, the kill switch,
unknown requesters, self-approval by another spelling, and the channel in the audit."""

from __future__ import annotations

import json
import re

import httpx2
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from server.runtime import Runtime
from server.store.models import AuditEvent
from tests.web.support import hold_refund, refund, sign_in, status_of


def _approve(client: TestClient, call_id: str, token: str, args_hash: str, **form: str) -> httpx2.Response:
    return client.post(
        f"/calls/{call_id}/approve",
        data={"csrf_token": token, "args_hash": args_hash, **form},
        follow_redirects=False,
    )


def _issued(runtime: Runtime) -> int:
    with runtime.store.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM bo_refund WHERE status = 'issued'")).scalar_one())


def test_an_edited_refund_is_titled_with_its_new_amount_on_the_packet_and_in_history(
    client: TestClient, runtime: Runtime
) -> None:
    call = hold_refund(runtime, amount=60.0)
    assert "60.00" in call.summary
    token = sign_in(client, "alice")
    edited = refund(30.0)
    done = _approve(client, call.id, token, call.args_hash, arguments=json.dumps(edited))
    assert done.status_code == 303, done.text

    packet = client.get(f"/calls/{call.id}").text
    assert "30.00" in packet.split("<h1", 1)[1].split("</h1>", 1)[0]
    stored = runtime.gateway.get_call(call.id)
    assert stored is not None and "30.00" in stored.summary and "60.00" not in stored.summary
    client.cookies.clear()
    bob = sign_in(client, "bob")
    assert _approve(client, call.id, bob, stored.args_hash).status_code == 303
    history = client.get("/history").text
    assert stored.summary in history


def test_with_the_kill_switch_on_the_packet_says_so_and_approving_runs_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    call = hold_refund(runtime)
    before = _issued(runtime)
    runtime.gateway.overrides.set_kill_switch(True, reason="incident 42", actor="ada")
    token = sign_in(client, "alice")
    packet = client.get(f"/calls/{call.id}").text
    assert 'id="kill-switch"' in packet and "incident 42" in packet
    notice = re.search(r'id="kill-switch">([^<]*)</p>', packet)
    assert notice is not None
    assert notice.group(1).count("kill switch is on") == 1 and notice.group(1).endswith(".")  # said once, as a sentence

    done = _approve(client, call.id, token, call.args_hash)
    assert done.headers["location"] == f"/calls/{call.id}?done=held-by-switch"
    after = client.get(done.headers["location"]).text
    assert "kill switch is on" in after
    runtime.gateway.sweep()
    assert status_of(runtime, call.id) == "approved" and _issued(runtime) == before


def test_a_requester_nobody_knows_is_marked_on_the_packet(client: TestClient, runtime: Runtime) -> None:
    stranger = hold_refund(runtime, on_behalf_of="the-ceo")
    known = hold_refund(runtime, amount=61.0, on_behalf_of="bob")
    sign_in(client, "alice")
    assert 'id="unknown-requester"' in client.get(f"/calls/{stranger.id}").text
    assert 'id="unknown-requester"' not in client.get(f"/calls/{known.id}").text


def test_a_call_made_for_alice_in_capitals_cannot_be_approved_by_alice(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime, on_behalf_of="ALICE")
    token = sign_in(client, "alice")
    packet = client.get(f"/calls/{call.id}").text
    assert 'id="self-request"' in packet and 'id="approve-button"' not in packet
    refused = _approve(client, call.id, token, call.args_hash)
    assert refused.status_code == 403
    assert status_of(runtime, call.id) == "held"


def test_a_decision_on_the_page_is_audited_with_the_page_channel(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    assert _approve(client, call.id, token, call.args_hash).status_code == 303
    with runtime.store.read() as session:
        event = session.exec(
            select(AuditEvent)
            .where(AuditEvent.call_id == call.id, AuditEvent.event_type == "approved")
            .order_by(col(AuditEvent.seq))
        ).one()
    assert event.data is not None and event.data["via"]["channel"] == "page" and event.data["via"]["address"]
