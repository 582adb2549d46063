"""The read-only auditor: reads queues, packets and the audit trail; every way to decide or change is refused
in server/ (the lifecycle and the review service), whatever surface asks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.errors import Forbidden
from server.review.channel import Channel, Via
from server.review.service import Approval
from server.runtime import Runtime
from tests.web.support import hold_refund, sign_in, status_of

AUDITOR = Person("olga", "auditor")


def test_the_review_service_refuses_an_auditors_approval_and_rejection(runtime: Runtime) -> None:
    call = hold_refund(runtime)
    review = runtime.gateway.review
    assert review.visible_call(AUDITOR, call.id).id == call.id  # reading is allowed
    assert review.refusal(call, AUDITOR) == "auditors read calls; they do not decide them"
    with pytest.raises(Forbidden):
        review.approve(call.id, AUDITOR, Approval(args_hash=call.args_hash), via=Via(Channel.API))
    with pytest.raises(Forbidden):
        review.reject(call.id, AUDITOR, reason="no", via=Via(Channel.API))
    assert status_of(runtime, call.id) == "held"


def test_the_lifecycle_itself_refuses_an_auditor(runtime: Runtime) -> None:
    call = hold_refund(runtime)
    with pytest.raises(Forbidden):
        decisions.approve(runtime.store, call.id, AUDITOR)
    with pytest.raises(Forbidden):
        decisions.reject(runtime.store, call.id, AUDITOR, reason="no")
    assert status_of(runtime, call.id) == "held"


def test_an_auditors_api_token_reads_calls_and_the_audit_chain_but_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    call = hold_refund(runtime)
    runtime.people.create_user("olga", "auditor", password="olga-long-password")
    headers = {"Authorization": f"Bearer {runtime.people.create_person_token('olga')}"}
    assert client.get("/api/calls", headers=headers).status_code == 200
    assert client.get(f"/api/calls/{call.id}", headers=headers).status_code == 200
    assert client.get("/api/admin/audit/verify", headers=headers).status_code == 200
    approve = client.post(f"/api/calls/{call.id}/approve", headers=headers, json={"args_hash": call.args_hash})
    assert approve.status_code == 403
    level = client.put(
        "/api/admin/tools/issue_refund/level",
        headers=headers,
        json={"risk": "low", "action": "allow", "reason": "auditors may not"},
    )
    assert level.status_code == 403
    kill = client.put("/api/admin/kill-switch", headers=headers, json={"on": True, "reason": "auditors may not"})
    assert kill.status_code == 403
    assert status_of(runtime, call.id) == "held"


def test_an_auditors_packet_says_they_read_calls_rather_than_naming_a_queue(
    client: TestClient, runtime: Runtime
) -> None:
    call = hold_refund(runtime)
    runtime.people.create_user("olga", "auditor", password="olga-long-password")
    sign_in(client, "olga", "olga-long-password")
    page = client.get(f"/calls/{call.id}").text
    assert 'id="may-not-decide">You read calls as an auditor; you do not decide them.</p>' in page
    assert 'id="approve-button"' not in page and 'id="reject-button"' not in page
