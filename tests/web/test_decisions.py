"""Deciding from the packet: approve and see the outcome, reject with a reason, edit then approve, quorum, overrides."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx2
from fastapi.testclient import TestClient

from server.lifecycle.decisions import decisions_for
from server.runtime import Runtime
from tests.web.support import hold_refund, hold_two_person_payment, sign_in, status_of


def _approve(client: TestClient, call_id: str, token: str, args_hash: str, **form: str) -> httpx2.Response:
    return client.post(
        f"/calls/{call_id}/approve",
        data={"csrf_token": token, "args_hash": args_hash, **form},
        follow_redirects=False,
    )


def test_approving_runs_the_call_and_shows_its_result(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    later = hold_refund(runtime, amount=70.0)
    token = sign_in(client, "alice")
    response = _approve(client, call.id, token, call.args_hash, reason="checked the ticket")
    assert response.status_code == 303
    assert response.headers["location"] == f"/calls/{call.id}?done=approved"
    page = client.get(f"/calls/{call.id}?done=approved").text
    assert "Approved." in page and 'id="outcome"' in page and "Executed" in page
    assert 'id="result"' in page and "R-" in page  # the refund record the tool created
    assert f'href="/calls/{later.id}" id="next-after-outcome"' in page  # on to the next item
    assert 'id="approve-button"' not in page
    assert status_of(runtime, call.id) == "succeeded"
    assert decisions_for(runtime.store, call.id)[0].reason == "checked the ticket"


def test_rejecting_needs_a_reason_and_tells_it(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    empty = client.post(f"/calls/{call.id}/reject", data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 422
    assert "needs a reason" in empty.text
    assert status_of(runtime, call.id) == "held"
    response = client.post(
        f"/calls/{call.id}/reject",
        data={"csrf_token": token, "preset": "Not enough evidence", "reason": "ask for photos"},
    )
    assert response.status_code == 200 and "Rejected" in response.text
    stored = runtime.gateway.get_call(call.id)
    assert stored is not None and stored.status == "rejected"
    assert stored.error == "Not enough evidence - ask for photos"


def test_a_preset_alone_is_a_reason(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    client.post(f"/calls/{call.id}/reject", data={"csrf_token": token, "preset": "Suspected fraud or spoofing"})
    assert status_of(runtime, call.id) == "rejected"


def test_a_decided_call_cannot_be_decided_again(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    _approve(client, call.id, token, call.args_hash)
    again = client.post(f"/calls/{call.id}/reject", data={"csrf_token": token, "reason": "too late"})
    assert again.status_code == 409
    assert "already" in again.text
    assert status_of(runtime, call.id) == "succeeded"


def test_deciding_a_call_someone_else_decided_first_says_so_in_words(
    new_client: Callable[[], TestClient], runtime: Runtime
) -> None:
    call = hold_refund(runtime)
    alice, bob = new_client(), new_client()
    alice_token, bob_token = sign_in(alice, "alice"), sign_in(bob, "bob")
    assert _approve(bob, call.id, bob_token, call.args_hash).status_code == 303
    late = _approve(alice, call.id, alice_token, call.args_hash)
    assert late.status_code == 409
    assert "This call was already settled (status: succeeded); your decision was not recorded." in late.text
    assert f"call {call.id} is already" not in late.text
    assert [d.actor for d in decisions_for(runtime.store, call.id)] == ["bob"]


def test_a_rejection_without_a_reason_is_refused_in_a_sentence(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    response = client.post(f"/calls/{call.id}/reject", data={"csrf_token": token, "args_hash": call.args_hash})
    assert response.status_code == 422
    assert 'id="error">A rejection needs a reason.</p>' in response.text
    assert status_of(runtime, call.id) == "held"


def test_approving_what_the_page_did_not_show_is_refused(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    response = _approve(client, call.id, token, "0" * 64)
    assert response.status_code == 409
    assert status_of(runtime, call.id) == "held"


def test_approving_against_the_policy_needs_an_override_reason(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime, amount=400.0)  # far above this customer's usual refunds: the preview warns
    token = sign_in(client, "alice")
    page = client.get(f"/calls/{call.id}").text
    assert 'id="override-reason"' in page and "against the policy" in page
    refused = _approve(client, call.id, token, call.args_hash)
    assert refused.status_code == 422
    assert "override reason" in refused.text
    assert status_of(runtime, call.id) == "held"
    accepted = _approve(client, call.id, token, call.args_hash, override_reason="manager agreed on the phone")
    assert accepted.status_code == 303
    assert decisions_for(runtime.store, call.id)[0].override_reason == "manager agreed on the phone"


def test_an_ordinary_call_needs_no_override_reason(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    assert 'id="override-reason"' not in client.get(f"/calls/{call.id}").text


def test_two_approvals_from_two_people(new_client: Callable[[], TestClient], runtime: Runtime) -> None:
    call = hold_two_person_payment(runtime)
    alice, bob = new_client(), new_client()
    alice_token, bob_token = sign_in(alice, "alice"), sign_in(bob, "bob")
    why = {"override_reason": "vendor confirmed by phone"}

    first = _approve(alice, call.id, alice_token, call.args_hash, **why)
    assert first.headers["location"].endswith("done=recorded")
    assert status_of(runtime, call.id) == "held"
    page = alice.get(f"/calls/{call.id}").text
    assert 'id="already-approved"' in page and 'id="approve-button"' not in page
    assert "1/2" in page

    assert _approve(alice, call.id, alice_token, call.args_hash, **why).status_code == 409
    assert status_of(runtime, call.id) == "held"

    bobs_page = bob.get(f"/calls/{call.id}").text
    assert "alice" in bobs_page and 'id="approve-button"' in bobs_page
    second = _approve(bob, call.id, bob_token, call.args_hash, **why)
    assert second.headers["location"].endswith("done=approved")
    assert status_of(runtime, call.id) == "succeeded"
    assert [d.actor for d in decisions_for(runtime.store, call.id)] == ["alice", "bob"]


def test_edit_then_approve_shows_the_diff_and_runs_the_edited_call(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime, amount=60.0)
    token = sign_in(client, "alice")
    form = client.get(f"/calls/{call.id}/edit").text
    assert 'name="arg.amount"' in form and 'value="60.0"' in form

    fields = dict(re.findall(r'name="(arg\.[a-z_]+)"[^>]*value="([^"]*)"', form))
    fields["arg.reason"] = "parcel arrived damaged"  # a textarea-free form: all fields are inputs here
    fields["arg.amount"] = "45.5"
    confirm = client.post(f"/calls/{call.id}/edit", data={"csrf_token": token, "args_hash": call.args_hash, **fields})
    assert confirm.status_code == 200, confirm.text
    assert "60.0" in confirm.text and "45.5" in confirm.text  # before and after
    arguments = re.search(r'name="arguments" value="([^"]+)"', confirm.text)
    assert arguments is not None
    edited = json.loads(arguments.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    assert edited["amount"] == 45.5

    done = _approve(client, call.id, token, call.args_hash, arguments=json.dumps(edited))
    assert done.status_code == 303, done.text
    assert status_of(runtime, call.id) == "held"  # the editor alone never approves their own edit
    edited_hash = runtime.gateway.get_call(call.id).args_hash  # type: ignore[union-attr]
    client.cookies.clear()
    second = _approve(client, call.id, sign_in(client, "bob"), edited_hash)
    assert second.status_code == 303, second.text
    stored = runtime.gateway.get_call(call.id)
    assert stored is not None and stored.status == "succeeded"
    assert json.loads(stored.arguments)["amount"] == 45.5
    assert json.loads(stored.proposed_arguments)["amount"] == 60.0
    diff = decisions_for(runtime.store, call.id)[0].diff
    assert diff == [{"field": "amount", "before": 60.0, "after": 45.5}]
    page = client.get(f"/calls/{call.id}").text
    assert "Edited by a reviewer" in page


def test_an_edit_that_does_not_validate_is_shown_again_with_the_error(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    form = client.get(f"/calls/{call.id}/edit").text
    fields = dict(re.findall(r'name="(arg\.[a-z_]+)"[^>]*value="([^"]*)"', form))
    fields["arg.amount"] = "-5"
    response = client.post(f"/calls/{call.id}/edit", data={"csrf_token": token, "args_hash": call.args_hash, **fields})
    assert response.status_code == 422
    assert "amount" in response.text and 'value="-5"' in response.text
    not_a_number = {**fields, "arg.amount": "lots"}
    response = client.post(
        f"/calls/{call.id}/edit", data={"csrf_token": token, "args_hash": call.args_hash, **not_a_number}
    )
    assert response.status_code == 422 and "enter a number" in response.text
    assert status_of(runtime, call.id) == "held"


def test_edited_arguments_posted_directly_are_validated_by_the_tool(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    token = sign_in(client, "alice")
    bad = json.dumps({**json.loads(call.arguments), "amount": "free"})
    response = _approve(client, call.id, token, call.args_hash, arguments=bad)
    assert response.status_code == 422
    assert status_of(runtime, call.id) == "held"
    extra = json.dumps({**json.loads(call.arguments), "admin": True})
    assert _approve(client, call.id, token, call.args_hash, arguments=extra).status_code == 422
    assert status_of(runtime, call.id) == "held"


def test_the_requester_cannot_edit_and_approve_either(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime, on_behalf_of="alice")
    token = sign_in(client, "alice")
    assert 'id="edit-link"' not in client.get(f"/calls/{call.id}").text
    edited = json.dumps({**json.loads(call.arguments), "amount": 10.0})
    response = _approve(client, call.id, token, call.args_hash, arguments=edited)
    assert response.status_code == 403
    assert status_of(runtime, call.id) == "held"
