"""CSRF: every state-changing request needs the session's token AND same-origin fetch metadata."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from server.runtime import Runtime
from tests.web.support import csrf_of, hold_refund, password, sign_in, status_of


@pytest.mark.parametrize(
    ("token", "headers"),
    [
        (None, {}),
        ("forged-token", {}),
        ("", {}),
        ("VALID", {"sec-fetch-site": "cross-site"}),
        ("VALID", {"sec-fetch-site": "same-site"}),
        ("VALID", {"origin": "https://evil.example"}),
        ("VALID", {"origin": "http://localhost:3000"}),
    ],
    ids=["missing", "forged", "empty", "cross-site", "same-site", "foreign-origin", "other-local-port"],
)
def test_a_decision_without_both_csrf_checks_is_refused(
    client: TestClient, runtime: Runtime, token: str | None, headers: dict[str, str]
) -> None:
    call = hold_refund(runtime)
    valid = sign_in(client, "alice")
    data = {"args_hash": call.args_hash}
    if token is not None:
        data["csrf_token"] = valid if token == "VALID" else token
    response = client.post(f"/calls/{call.id}/approve", data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 403
    assert status_of(runtime, call.id) == "held"


@pytest.mark.parametrize(
    "headers",
    [{}, {"sec-fetch-site": "same-origin"}, {"origin": "http://testserver"}, {"sec-fetch-site": "none"}],
    ids=["no-browser-headers", "same-origin", "own-origin", "typed-url"],
)
def test_a_decision_with_the_token_from_this_site_goes_through(
    client: TestClient, runtime: Runtime, headers: dict[str, str]
) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    response = client.post(
        f"/calls/{call.id}/approve",
        data={"csrf_token": token, "args_hash": call.args_hash},
        headers=headers,
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert status_of(runtime, call.id) == "succeeded"


def test_the_token_of_another_session_is_refused(new_client: Callable[[], TestClient], runtime: Runtime) -> None:
    call = hold_refund(runtime)
    alice, bob = new_client(), new_client()
    sign_in(alice, "alice")
    bobs_token = sign_in(bob, "bob")
    response = alice.post(f"/calls/{call.id}/reject", data={"csrf_token": bobs_token, "reason": "no"})
    assert response.status_code == 403
    assert status_of(runtime, call.id) == "held"


def test_the_token_is_accepted_in_the_header_too(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    response = client.post(
        f"/calls/{call.id}/reject",
        data={"reason": "wrong customer"},
        headers={"x-csrf-token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert status_of(runtime, call.id) == "rejected"


def test_sign_out_needs_the_token(client: TestClient) -> None:
    token = sign_in(client, "alice")
    assert client.post("/signout", data={}).status_code == 403
    assert client.get("/queue", follow_redirects=False).status_code == 200  # still signed in
    response = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_sign_in_needs_the_double_submit_token(client: TestClient) -> None:
    """Login CSRF: another site cannot sign a browser in to an account of its choosing."""
    form = client.get("/signin")
    token = csrf_of(form.text)
    client.cookies.clear()  # a forged form from another site carries no sign-in cookie
    response = client.post("/signin", data={"name": "alice", "password": password("alice"), "csrf_token": token})
    assert response.status_code == 403
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_sign_in_from_a_cross_site_form_is_refused(client: TestClient) -> None:
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin",
        data={"name": "alice", "password": password("alice"), "csrf_token": token},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert response.status_code == 403


def test_the_json_api_with_a_session_cookie_needs_the_csrf_header(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    assert client.get(f"/api/calls/{call.id}").status_code == 200  # reading needs no token
    refused = client.post(f"/api/calls/{call.id}/reject", json={"reason": "no"})
    assert refused.status_code == 403
    assert status_of(runtime, call.id) == "held"
    accepted = client.post(f"/api/calls/{call.id}/reject", json={"reason": "no"}, headers={"x-csrf-token": token})
    assert accepted.status_code == 200, accepted.text
    assert status_of(runtime, call.id) == "rejected"


def test_get_never_decides(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    for path in (f"/calls/{call.id}/approve", f"/calls/{call.id}/reject", "/signout"):
        assert client.get(path, follow_redirects=False).status_code == 405
    assert status_of(runtime, call.id) == "held"
