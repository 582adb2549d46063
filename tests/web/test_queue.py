"""The review queue and the history: what each person sees, in which order, with which filters."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from server.lifecycle.actors import Person
from server.people import person_from_user
from server.runtime import Runtime
from tests.web.support import hold_refund, hold_two_person_payment, refund, sign_in, submit
from tools.backoffice import ids


def _row_ids(html: str) -> list[str]:
    return re.findall(r'data-call-id="([0-9a-f]+)"', html)


def test_the_queue_lists_held_calls_riskiest_first_with_the_count_in_the_title(
    client: TestClient, runtime: Runtime
) -> None:
    small = hold_refund(runtime, amount=60.0)
    large = hold_refund(runtime, amount=900.0)
    payment = hold_two_person_payment(runtime)
    sign_in(client, "alice")
    page = client.get("/queue").text
    assert "<title>(3) Review queue" in page
    rows = _row_ids(page)
    assert rows[0] == payment.id and set(rows) == {small.id, large.id, payment.id}
    assert rows.index(large.id) < rows.index(small.id)
    assert "Refund 60.00 EUR to customer C-1001" in page
    assert "48,750.00 EUR" in page and "0/2" in page and "50%" in page
    assert "left" in page  # the SLA countdown


def test_allowed_and_blocked_calls_never_wait_in_the_queue(client: TestClient, runtime: Runtime) -> None:
    allowed = submit(runtime, "search_customers", {"query": "Acme"})
    held = hold_refund(runtime)
    sign_in(client, "alice")
    rows = _row_ids(client.get("/queue").text)
    assert rows == [held.id] and allowed.id not in rows


def test_reviewers_see_their_queues_and_admins_see_all(new_client: Callable[[], TestClient], runtime: Runtime) -> None:
    finance = hold_refund(runtime)
    email = submit(
        runtime,
        "send_customer_email",
        {"customer_id": ids.REFUND_CUSTOMER_ID, "subject": "Your order", "body": "It ships tomorrow."},
        confidence=0.3,
    )
    assert email.status == "held" and email.queue == "support", email
    views = {}
    for name in ("alice", "sam", "ada"):
        client = new_client()
        sign_in(client, name)
        views[name] = set(_row_ids(client.get("/queue").text))
    assert views == {"alice": {finance.id}, "sam": {email.id}, "ada": {finance.id, email.id}}


def test_filters_narrow_the_queue_but_not_the_count(client: TestClient, runtime: Runtime) -> None:
    refund_call = hold_refund(runtime)
    payment = hold_two_person_payment(runtime)
    sign_in(client, "alice")
    by_tool = client.get("/queue?tool=pay_invoice").text
    assert _row_ids(by_tool) == [payment.id]
    assert "<title>(2) " in by_tool
    assert _row_ids(client.get("/queue?queue=finance").text) == [refund_call.id]
    assert _row_ids(client.get("/queue?owner=finance-leads").text) == [payment.id]
    assert _row_ids(client.get("/queue?risk=critical").text) == []
    assert "No held call matches" in client.get("/queue?agent=nobody").text
    assert set(_row_ids(client.get("/queue?mine=1").text)) == {refund_call.id, payment.id}


def test_assigned_to_me_keeps_my_queues_for_an_admin_too(client: TestClient, runtime: Runtime) -> None:
    hold_refund(runtime)
    sign_in(client, "ada")  # an admin sees every queue but belongs to none
    assert _row_ids(client.get("/queue?mine=1").text) == []


def test_the_rows_endpoint_sends_rows_and_the_count(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    response = client.get("/queue/rows")
    assert response.headers["x-queue-count"] == "1"
    assert _row_ids(response.text) == [call.id] and "<html" not in response.text


def test_history_shows_outcomes_approvers_and_timings_and_searches(client: TestClient, runtime: Runtime) -> None:
    approved = hold_refund(runtime, amount=61.0)
    rejected = hold_refund(runtime, amount=62.0)
    waiting = hold_refund(runtime, amount=63.0)
    token = sign_in(client, "alice")
    client.post(f"/calls/{approved.id}/approve", data={"csrf_token": token, "args_hash": approved.args_hash})
    client.post(f"/calls/{rejected.id}/reject", data={"csrf_token": token, "reason": "duplicate"})
    page = client.get("/history").text
    assert approved.id in page and rejected.id in page and waiting.id not in page
    assert "succeeded" in page and "rejected" in page and "alice" in page
    assert "Refund 61.00 EUR" in page
    assert rejected.id not in client.get("/history?q=61.00").text
    assert approved.id not in client.get("/history?status=rejected").text
    assert rejected.id in client.get(f"/history?q={rejected.id[:10]}").text
    assert "No decided calls match" in client.get("/history?q=%25%25no-such%25").text


def test_history_is_limited_to_my_queues(new_client: Callable[[], TestClient], runtime: Runtime) -> None:
    call = submit(runtime, "issue_refund", refund(64.0))
    runtime.gateway.reject(call.id, _person(runtime, "alice"), reason="no")
    sam = new_client()
    sign_in(sam, "sam")
    assert call.id not in sam.get("/history").text


def _person(runtime: Runtime, name: str) -> Person:
    user = runtime.people.get_user(name)
    assert user is not None
    return person_from_user(user)
