"""Changing one's password, and the one-time passwords (first admin, reset) that must be changed first."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import delete

from server.cli import serve
from server.runtime import Runtime
from server.store.models import User
from tests.web.support import csrf_of, hold_refund, password, sign_in

NEW = "a-brand-new-passphrase"


def _change(client: TestClient, token: str, current: str, new: str, confirm: str | None = None) -> Any:
    return client.post(
        "/account/password",
        data={"csrf_token": token, "current": current, "new": new, "confirm": new if confirm is None else confirm},
        follow_redirects=False,
    )


def test_the_printed_first_admin_password_must_be_changed_before_anything_else(
    client: TestClient, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    with runtime.store.write() as session:  # an empty database: no people yet
        session.exec(delete(User))
    serve._first_admin(runtime)
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    call = hold_refund(runtime)

    token = sign_in(client, "admin", printed)
    for page in ("/queue", f"/calls/{call.id}", "/admin/tools"):
        answer = client.get(page, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/account/password", page
    refused = client.post(
        f"/calls/{call.id}/reject", data={"csrf_token": token, "reason": "no"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]
    api = client.get("/api/calls", follow_redirects=False)
    assert api.status_code == 401

    form = client.get("/account/password")
    assert form.status_code == 200 and "one-time password" in form.text
    assert _change(client, csrf_of(form.text), printed, NEW).status_code == 303
    assert client.get("/queue", follow_redirects=False).status_code == 200
    assert runtime.people.verify_password("admin", printed) is None
    assert runtime.people.verify_password("admin", NEW) is not None


def test_a_password_given_in_the_environment_need_not_be_changed(client: TestClient, runtime: Runtime) -> None:
    user = runtime.people.get_user("alice")
    assert user is not None and not user.must_change_password
    sign_in(client, "alice")
    assert client.get("/queue", follow_redirects=False).status_code == 200


def test_changing_a_password_needs_the_current_one_and_a_long_enough_new_one(
    client: TestClient, runtime: Runtime
) -> None:
    token = sign_in(client, "alice")
    wrong = _change(client, token, "not-my-password", NEW)
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    short = _change(client, token, password("alice"), "short")
    assert short.status_code == 400 and "at least 8" in short.text
    mismatch = _change(client, token, password("alice"), NEW, confirm=NEW + "x")
    assert mismatch.status_code == 400 and "do not match" in mismatch.text
    assert runtime.people.verify_password("alice", password("alice")) is not None


def test_changing_a_password_without_the_csrf_token_changes_nothing(client: TestClient, runtime: Runtime) -> None:
    sign_in(client, "alice")
    answer = _change(client, "forged", password("alice"), NEW)
    assert answer.status_code == 403
    assert runtime.people.verify_password("alice", password("alice")) is not None


def test_changing_a_password_signs_out_the_persons_other_sessions(new_client: Any, runtime: Runtime) -> None:
    laptop, phone = new_client(), new_client()
    sign_in(phone, "alice")
    token = sign_in(laptop, "alice")
    assert _change(laptop, token, password("alice"), NEW).status_code == 303
    assert laptop.get("/queue", follow_redirects=False).status_code == 200
    assert phone.get("/queue", follow_redirects=False).status_code == 303


def test_a_reset_password_is_one_time(client: TestClient, runtime: Runtime) -> None:
    one_time = runtime.people.reset_password("bob")
    token = sign_in(client, "bob", one_time)
    assert client.get("/history", follow_redirects=False).headers["location"] == "/account/password"
    assert _change(client, token, one_time, NEW).status_code == 303
    assert client.get("/history", follow_redirects=False).status_code == 200
