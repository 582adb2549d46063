"""Single sign-on against a real OpenID provider (npm oidc-provider on 127.0.0.1, see oidc_idp.mjs).

The provider is real: discovery, its keys, its login session, the authorization code exchange and its
signed ID tokens. The attacks (a forged state, a token for another audience, an expired token, a key the
provider never published) are made by the provider's test control endpoint re-signing the ID token on
its way out, so the app sees them exactly where a compromised or confused provider would send them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, func, select

from server.config import Settings
from server.runtime import Runtime
from server.store.models import AuditEvent, User, WebSession
from tests.web.oidc_idp import CLIENT_ID, CLIENT_SECRET, Idp, callback_url, running_idp, through_provider
from tests.web.support import Clock, csrf_of, hold_refund, make_runtime, make_settings, password
from web.app import create_app
from web.auth import SESSION_COOKIE

MAPPING = """
rules:
  - group: countersign-admins
    role: admin
  - group: payments
    role: reviewer
    queues: [finance]
  - group: compliance
    role: auditor
"""

RITA = {"preferred_username": "rita", "email": "rita@example.com", "email_verified": True, "groups": ["payments"]}


@pytest.fixture(scope="module")
def idp() -> Iterator[Idp]:
    with running_idp("http://testserver/signin/oidc/callback") as provider:
        yield provider


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "sso.yaml"
    path.write_text(MAPPING)
    return path


@pytest.fixture
def settings(database_url: str, idp: Idp, mapping: Path) -> Iterator[Settings]:
    idp.control(tamper=None, accounts={"u-rita": RITA}, login="u-rita")
    yield make_settings(
        database_url,
        oidc_issuer=idp.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_mapping=mapping,
    )
    idp.control(tamper=None)


def _user(runtime: Runtime, name: str) -> User | None:
    with runtime.store.read() as session:
        return session.exec(select(User).where(User.name == name)).first()


def _signed_in(client: TestClient) -> bool:
    return client.get("/queue", follow_redirects=False).status_code == 200


def _audit_seq(runtime: Runtime) -> int:
    with runtime.store.read() as session:
        return session.exec(select(func.max(AuditEvent.seq))).one() or 0


def _events_since(runtime: Runtime, seq: int) -> list[AuditEvent]:
    with runtime.store.read() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.seq > seq).order_by(col(AuditEvent.seq))).all())


def _edit_mapping(mapping: Path, old: str, new: str) -> None:
    text = mapping.read_text()
    assert old in text
    mapping.write_text(text.replace(old, new))


PAYMENTS_REVIEWER = "group: payments\n    role: reviewer\n    queues: [finance]"


def test_a_person_in_a_mapped_group_signs_in_with_that_groups_role_and_queues(
    client: TestClient, runtime: Runtime, idp: Idp
) -> None:
    back = through_provider(client, idp, next_path="/history")
    assert back.status_code == 200, back.text
    assert 'content="0;url=/history"' in back.text  # moves on from our own page (SameSite=Strict cookie)
    assert client.cookies.get(SESSION_COOKIE)
    page = client.get("/queue")
    assert page.status_code == 200 and "rita" in page.text
    user = _user(runtime, "rita")
    assert user is not None and user.role == "reviewer" and user.queues == ["finance"]
    assert user.password_hash is None and user.sso_subject == f"{idp.issuer} u-rita"
    assert user.email == "rita@example.com"


def test_the_strongest_mapped_role_wins(client: TestClient, runtime: Runtime, idp: Idp) -> None:
    idp.directory(**{"u-rita": {**RITA, "groups": ["payments", "countersign-admins"]}})
    assert through_provider(client, idp).status_code == 200
    user = _user(runtime, "rita")
    assert user is not None and user.role == "admin" and user.queues is None
    assert client.get("/admin/tools", follow_redirects=False).status_code == 200


def test_an_auditor_reads_queues_packets_and_the_audit_trail_but_cannot_decide(
    client: TestClient, runtime: Runtime, idp: Idp
) -> None:
    call = hold_refund(runtime)
    idp.directory(**{"u-rita": {**RITA, "groups": ["compliance"]}})
    assert through_provider(client, idp).status_code == 200
    assert client.get("/queue").status_code == 200
    packet = client.get(f"/calls/{call.id}")
    assert packet.status_code == 200 and 'name="reason"' not in packet.text  # no decision buttons
    assert client.get("/admin/audit").status_code == 200
    assert client.get("/admin/policy", follow_redirects=False).status_code == 403
    token = csrf_of(packet.text)
    approve = client.post(f"/calls/{call.id}/approve", data={"csrf_token": token, "args_hash": call.args_hash})
    assert approve.status_code == 403
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]


def test_the_mapping_is_read_again_at_each_sign_in(
    client: TestClient, runtime: Runtime, idp: Idp, mapping: Path
) -> None:
    assert through_provider(client, idp).status_code == 200
    assert _user(runtime, "rita").role == "reviewer"  # type: ignore[union-attr]
    mapping.write_text(MAPPING.replace("group: payments\n    role: reviewer", "group: payments\n    role: auditor"))
    assert through_provider(client, idp).status_code == 200
    assert _user(runtime, "rita").role == "auditor"  # type: ignore[union-attr]


def test_removal_from_the_group_ends_access_at_the_next_sign_in_and_disables_open_sessions(
    new_client: Any, runtime: Runtime, idp: Idp
) -> None:
    laptop, phone = new_client(), new_client()
    assert through_provider(laptop, idp).status_code == 200 and _signed_in(laptop)

    idp.directory(**{"u-rita": {**RITA, "groups": ["marketing"]}})
    refused = through_provider(phone, idp)
    assert refused.status_code == 403 and "no role" in refused.text
    assert not phone.cookies.get(SESSION_COOKIE)
    assert not _signed_in(laptop)  # the open session stops at its next request
    assert _user(runtime, "rita").disabled  # type: ignore[union-attr]

    idp.directory(**{"u-rita": RITA})  # back in the group: signs in again
    assert through_provider(phone, idp).status_code == 200 and _signed_in(phone)


def test_a_single_sign_on_session_goes_back_to_the_provider_after_the_recheck_interval(
    client: TestClient, idp: Idp, clock: Clock, settings: Settings
) -> None:
    assert through_provider(client, idp).status_code == 200 and _signed_in(client)
    clock.advance(minutes=settings.oidc_recheck_minutes - 1)
    assert _signed_in(client)
    clock.advance(minutes=2)
    answer = client.get("/queue", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_a_forged_state_is_refused(client: TestClient, runtime: Runtime, idp: Idp) -> None:
    path, query = callback_url(client, idp)
    forged = "&".join("state=forged-by-an-attacker" if part.startswith("state=") else part for part in query.split("&"))
    answer = client.get(f"{path}?{forged}", follow_redirects=False)
    assert answer.status_code == 403 and "state" in answer.text
    assert not client.cookies.get(SESSION_COOKIE) and _user(runtime, "rita") is None


def test_a_callback_in_a_browser_that_did_not_start_the_sign_in_is_refused(
    new_client: Any, runtime: Runtime, idp: Idp
) -> None:
    victim, attacker = new_client(), new_client()
    path, query = callback_url(attacker, idp)  # login CSRF: the attacker's code in the victim's browser
    answer = victim.get(f"{path}?{query}", follow_redirects=False)
    assert answer.status_code == 403
    assert not victim.cookies.get(SESSION_COOKIE)


@pytest.mark.parametrize(
    ("tamper", "why"),
    [("audience", "aud"), ("expired", "expired"), ("wrong-key", "signature")],
    ids=["another-audience", "expired", "unpublished-key"],
)
def test_an_id_token_that_does_not_verify_is_refused(
    client: TestClient, runtime: Runtime, idp: Idp, tamper: str, why: str
) -> None:
    idp.control(tamper=tamper)
    answer = through_provider(client, idp)
    assert answer.status_code == 403, answer.text
    assert "refused" in answer.text.lower() or "verify" in answer.text
    assert why in answer.text
    assert not client.cookies.get(SESSION_COOKIE)
    assert _user(runtime, "rita") is None
    with runtime.store.read() as session:
        assert session.exec(select(WebSession)).first() is None


def test_an_identity_provider_account_cannot_take_over_a_local_account_by_name(
    client: TestClient, runtime: Runtime, idp: Idp
) -> None:
    idp.directory(mallory={"preferred_username": "ada", "groups": ["countersign-admins"]})
    idp.control(login="mallory")
    answer = through_provider(client, idp)
    assert answer.status_code == 403 and "ada" in answer.text
    assert not client.cookies.get(SESSION_COOKIE)
    ada = _user(runtime, "ada")
    assert ada is not None and ada.sso_subject is None


def test_with_local_passwords_off_only_single_sign_on_signs_in(
    database_url: str, idp: Idp, mapping: Path, clock: Clock
) -> None:
    idp.control(tamper=None, accounts={"u-rita": RITA}, login="u-rita")
    settings = make_settings(
        database_url,
        oidc_issuer=idp.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_mapping=mapping,
        local_passwords=False,
    )
    runtime = make_runtime(settings, clock)
    try:
        with TestClient(create_app(settings, runtime), base_url="http://testserver") as client:
            start = client.get("/signin?next=/history", follow_redirects=False)
            assert start.status_code == 303 and start.headers["location"] == "/signin/oidc?next=/history"
            form = client.get("/signin?signed_out=1")
            assert 'name="password"' not in form.text
            refused = client.post(
                "/signin",
                data={"name": "ada", "password": password("ada"), "csrf_token": client.cookies["countersign_signin"]},
                follow_redirects=False,
            )
            assert refused.status_code == 403 and "switched off" in refused.text
            assert not client.cookies.get(SESSION_COOKIE)
            assert through_provider(client, idp).status_code == 200 and _signed_in(client)
    finally:
        runtime.close()


def test_an_answer_naming_another_issuer_is_refused(client: TestClient, runtime: Runtime, idp: Idp) -> None:
    path, query = callback_url(client, idp)
    assert "iss=" in query  # the provider names itself in the answer (RFC 9207)
    mixed_up = "&".join("iss=https%3A%2F%2Fevil.example" if p.startswith("iss=") else p for p in query.split("&"))
    answer = client.get(f"{path}?{mixed_up}", follow_redirects=False)
    assert answer.status_code == 403 and "issuer mismatch" in answer.text
    assert not client.cookies.get(SESSION_COOKIE) and _user(runtime, "rita") is None


@pytest.mark.parametrize("first", ["page", "api"])
def test_a_mapping_edit_that_leaves_a_signed_in_person_without_a_role_refuses_their_very_next_request(
    new_client: Any, runtime: Runtime, idp: Idp, mapping: Path, first: str
) -> None:
    laptop, phone = new_client(), new_client()
    assert through_provider(laptop, idp).status_code == 200 and _signed_in(laptop)
    assert through_provider(phone, idp).status_code == 200
    assert phone.get("/api/calls").status_code == 200  # the JSON API with the session cookie
    before = _audit_seq(runtime)

    _edit_mapping(mapping, PAYMENTS_REVIEWER, "group: marketing\n    role: reviewer")  # an admin edits the file
    page, api = (laptop, phone) if first == "page" else (phone, laptop)
    if first == "page":
        answer = page.get("/queue", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
        assert api.get("/api/calls").status_code == 401
    else:
        assert api.get("/api/calls").status_code == 401
        answer = page.get("/queue", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")

    rita = _user(runtime, "rita")
    assert rita is not None and rita.disabled and rita.disabled_by_sso
    events = _events_since(runtime, before)
    assert [(e.event_type, e.actor) for e in events] == [("user_disabled", "sso")]
    assert events[0].data == {"user": "rita", "why": "no role in the mapping"}
    with runtime.store.read() as session:
        assert session.exec(select(WebSession).where(WebSession.user_name == "rita")).first() is None


def test_a_mapping_edit_that_makes_a_reviewer_an_auditor_applies_at_their_next_request(
    client: TestClient, runtime: Runtime, idp: Idp, mapping: Path
) -> None:
    call = hold_refund(runtime)
    assert through_provider(client, idp).status_code == 200
    assert 'name="reason"' in client.get(f"/calls/{call.id}").text  # a reviewer of finance may decide
    before = _audit_seq(runtime)

    _edit_mapping(mapping, PAYMENTS_REVIEWER, "group: payments\n    role: auditor")
    packet = client.get(f"/calls/{call.id}")
    assert packet.status_code == 200 and 'name="reason"' not in packet.text  # no decision buttons any more
    approve = client.post(
        f"/calls/{call.id}/approve", data={"csrf_token": csrf_of(packet.text), "args_hash": call.args_hash}
    )
    assert approve.status_code == 403
    assert runtime.gateway.get_call(call.id).status == "held"  # type: ignore[union-attr]
    rita = _user(runtime, "rita")
    assert rita is not None and rita.role == "auditor" and rita.queues is None and not rita.disabled
    assert [(e.event_type, e.data) for e in _events_since(runtime, before)] == [
        ("user_role_set", {"user": "rita", "role": "auditor", "queues": None, "via": "sso"})
    ]


def test_a_mapping_file_broken_by_an_edit_refuses_single_sign_on_sessions_in_one_log_line_until_fixed(
    client: TestClient, runtime: Runtime, idp: Idp, mapping: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert through_provider(client, idp).status_code == 200 and _signed_in(client)
    good = mapping.read_text()
    mapping.write_text(good + "  - group: [unclosed\n")
    with caplog.at_level(logging.ERROR):
        answer = client.get("/queue", follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
        assert client.get("/api/calls").status_code == 401
    lines = [r for r in caplog.records if "mapping" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in caplog.records]
    where, _, said = lines[0].getMessage().partition(": ")
    assert where.startswith(f"{mapping}:") and where.rsplit(":", 1)[1].isdigit()  # the file and the line
    assert said == "the SSO mapping is not valid YAML; single sign-on sessions are refused until it is fixed"
    assert lines[0].exc_info is None  # one line, no traceback
    rita = _user(runtime, "rita")
    assert rita is not None and not rita.disabled and rita.role == "reviewer"  # refused, not disabled

    mapping.write_text(good)  # fixed: the same session works again
    assert _signed_in(client)


def test_a_mapping_edit_does_not_enable_a_person_an_admin_disabled(
    new_client: Any, runtime: Runtime, idp: Idp, mapping: Path
) -> None:
    laptop = new_client()
    assert through_provider(laptop, idp).status_code == 200
    runtime.people.set_disabled("rita", True, actor="ada")
    assert not _signed_in(laptop)

    _edit_mapping(mapping, PAYMENTS_REVIEWER, "group: payments\n    role: admin")
    assert not _signed_in(laptop)
    refused = through_provider(new_client(), idp)  # signing in again does not undo the admin either
    assert refused.status_code == 403
    rita = _user(runtime, "rita")
    assert rita is not None and rita.disabled and not rita.disabled_by_sso and rita.role == "reviewer"


def test_requests_of_a_single_sign_on_session_write_nothing_while_the_mapping_gives_the_same_role(
    client: TestClient, runtime: Runtime, idp: Idp, mapping: Path
) -> None:
    assert through_provider(client, idp).status_code == 200 and _signed_in(client)
    before = _audit_seq(runtime)
    rita = _user(runtime, "rita")
    with runtime.store.read() as session:
        row = session.exec(select(WebSession).where(WebSession.user_name == "rita")).one()
    assert row.sso_claims == {"groups": ["payments"]}  # only what the mapping reads, not the ID token

    mapping.write_text(mapping.read_text() + "  - group: nobody-here\n    role: admin\n")  # changed, same grant
    writes: list[str] = []

    def count(conn: sa.Connection) -> None:
        if not conn.get_execution_options().get("countersign_readonly"):
            writes.append("write")

    sa.event.listen(runtime.store.engine, "begin", count)
    try:
        for _ in range(3):
            assert _signed_in(client)
            assert client.get("/api/calls").status_code == 200
    finally:
        sa.event.remove(runtime.store.engine, "begin", count)
    assert writes == []  # not one write transaction
    assert _audit_seq(runtime) == before
    assert _user(runtime, "rita").model_dump() == rita.model_dump()  # type: ignore[union-attr]
    with runtime.store.read() as session:
        assert (
            session.exec(select(WebSession).where(WebSession.user_name == "rita")).one().model_dump()
            == row.model_dump()
        )
