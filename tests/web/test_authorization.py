"""Who may see and decide what: anonymous, an agent's token, a reviewer of another queue, a reviewer, an admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from server.runtime import Runtime
from server.store.models import ToolCall, User
from tests.web.support import hold_refund, sign_in, status_of

# Each decision route, the form it posts (beyond the CSRF token), and the status it leaves the call in.
ROUTES: dict[str, tuple[str, dict[str, Any], str]] = {
    "approve": ("/calls/{id}/approve", {"args_hash": "{hash}"}, "succeeded"),
    "reject": ("/calls/{id}/reject", {"args_hash": "{hash}", "reason": "not today"}, "rejected"),
    "edit": (
        "/calls/{id}/edit",
        {
            "args_hash": "{hash}",
            "arg.customer_id": "C-1001",
            "arg.order_id": "O-1001",
            "arg.amount": "55",
            "arg.currency": "EUR",
            "arg.reason": "parcel arrived damaged",
        },
        "held",  # the edit only shows a diff; nothing is decided until it is confirmed
    ),
}


def _post(client: TestClient, route: str, call: ToolCall, token: str | None, **headers: str) -> Any:
    path, form, _ = ROUTES[route]
    data = {k: v.replace("{hash}", call.args_hash) for k, v in form.items()}
    if token is not None:
        data["csrf_token"] = token
    return client.post(path.replace("{id}", call.id), data=data, headers=headers, follow_redirects=False)


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_anonymous_cannot_decide(client: TestClient, runtime: Runtime, route: str) -> None:
    call = hold_refund(runtime)
    response = _post(client, route, call, token=None)
    assert response.status_code == 401
    assert status_of(runtime, call.id) == "held"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_an_agent_token_cannot_decide(client: TestClient, runtime: Runtime, route: str) -> None:
    call = hold_refund(runtime)
    token = runtime.people.create_agent_token("support-agent")
    response = _post(client, route, call, token=None, authorization=f"Bearer {token}")
    assert response.status_code == 401
    assert status_of(runtime, call.id) == "held"
    api = client.post(f"/api/calls/{call.id}/approve", json={}, headers={"authorization": f"Bearer {token}"})
    assert api.status_code == 403
    assert status_of(runtime, call.id) == "held"


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_a_reviewer_of_another_queue_cannot_decide_by_id(client: TestClient, runtime: Runtime, route: str) -> None:
    call = hold_refund(runtime)  # finance queue
    token = sign_in(client, "sam")  # support queue only
    response = _post(client, route, call, token)
    assert response.status_code == 403
    assert "finance" in response.text
    assert status_of(runtime, call.id) == "held"


@pytest.mark.parametrize("route", sorted(ROUTES))
@pytest.mark.parametrize("person", ["alice", "ada"])
def test_a_reviewer_of_the_queue_and_an_admin_can_decide(
    client: TestClient, runtime: Runtime, route: str, person: str
) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, person)
    response = _post(client, route, call, token)
    assert response.status_code in (200, 303), response.text
    assert status_of(runtime, call.id) == ROUTES[route][2]


def test_a_reviewer_of_another_queue_cannot_read_the_packet(
    new_client: Callable[[], TestClient], runtime: Runtime
) -> None:
    call = hold_refund(runtime)
    sam = new_client()
    sign_in(sam, "sam")
    assert sam.get(f"/calls/{call.id}").status_code == 403
    assert sam.get(f"/calls/{call.id}/edit").status_code == 403
    assert call.id not in sam.get("/queue").text
    assert sam.get("/calls/does-not-exist").status_code == 404


def test_anonymous_pages_redirect_to_sign_in(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    for path in ("/queue", f"/calls/{call.id}", "/history", f"/calls/{call.id}/edit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin?next=")
    assert client.get("/events").status_code == 401
    assert client.get("/queue/rows").status_code == 401


def test_the_requester_sees_no_approve_button_and_is_refused(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime, on_behalf_of="alice")
    token = sign_in(client, "alice")
    page = client.get(f"/calls/{call.id}").text
    assert 'id="approve-button"' not in page
    assert 'id="self-request"' in page
    assert 'id="reject-button"' in page
    response = client.post(f"/calls/{call.id}/approve", data={"csrf_token": token, "args_hash": call.args_hash})
    assert response.status_code == 403
    assert "someone else must approve" in response.text
    assert status_of(runtime, call.id) == "held"


def test_a_disabled_person_is_signed_out_at_the_next_request(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, "alice")
    with runtime.store.write() as session:
        user = session.exec(select(User).where(User.name == "alice")).one()
        user.disabled = True
    assert client.get("/queue", follow_redirects=False).status_code == 303
