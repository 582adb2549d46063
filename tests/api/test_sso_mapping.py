"""The SSO claim mapping (server/sso.py) and signing in as an identity-provider account (server/sso_accounts.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from pydantic import ValidationError

from server.config import Settings
from server.people import People, PeopleError
from server.sso import Grant, MappingFile, SsoConfigError, load_mapping
from server.sso_accounts import SsoAccounts
from server.store.db import Store
from server.store.models import AuditEvent, User

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SUBJECT = "https://idp.example.com u-1"


@pytest.fixture
def people(database_url: str) -> Iterator[People]:
    store = Store.open(database_url)
    yield People(store, hasher=FAST)
    store.close()


def _mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sso.yaml"
    path.write_text(text)
    return path


RULES = """
rules:
  - group: admins
    role: admin
  - group: pay
    role: reviewer
    queues: [payments]
  - group: refunds
    role: reviewer
    queues: [refunds]
  - claim: department
    equals: audit
    role: auditor
"""


def test_matching_rules_give_the_strongest_role_and_the_union_of_its_queues(tmp_path: Path) -> None:
    mapping = load_mapping(_mapping(tmp_path, RULES))
    assert mapping.grant({"groups": ["pay", "refunds"]}) == Grant("reviewer", frozenset({"payments", "refunds"}))
    assert mapping.grant({"groups": ["pay", "admins"]}) == Grant("admin", None)
    assert mapping.grant({"department": "audit"}) == Grant("auditor", None)
    assert mapping.grant({"groups": ["marketing"]}) is None
    assert mapping.grant({}) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("rules: [{group: a, role: owner}]", "role"),
        ("rules: [{role: admin}]", "either `group` or `claim`"),
        ("rules: [{claim: dept, role: admin}]", "needs `equals`"),
        ("rulez: []", "rulez"),
        ("rules: [", "not valid YAML"),
    ],
    ids=["unknown-role", "no-condition", "claim-without-value", "unknown-key", "not-yaml"],
)
def test_a_bad_mapping_is_refused_with_the_file_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = _mapping(tmp_path, text)
    with pytest.raises(SsoConfigError) as caught:
        load_mapping(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_without_a_mapping_nobody_gets_a_role() -> None:
    assert load_mapping(None).grant({"groups": ["admins"]}) is None


def test_a_first_sign_in_creates_the_person_and_later_ones_follow_the_mapping(people: People) -> None:
    person = SsoAccounts(people.store).sign_in(
        SUBJECT, ["rita"], Grant("reviewer", frozenset({"payments"})), email="Rita@Example.com"
    )
    assert person is not None and person.name == "rita" and person.queues == frozenset({"payments"})
    user = people.get_user("rita")
    assert user is not None and user.email == "rita@example.com" and user.password_hash is None
    # A renamed account at the provider keeps its name here (the audit trail names it).
    again = SsoAccounts(people.store).sign_in(SUBJECT, ["rita.renamed"], Grant("admin", None))
    assert again is not None and again.name == "rita" and again.role == "admin"


def test_no_role_disables_the_person_and_a_role_again_enables_them(people: People) -> None:
    SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], Grant("reviewer", None))
    assert SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], None) is None
    assert people.get_user("rita").disabled  # type: ignore[union-attr]
    assert SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], Grant("reviewer", None)) is not None
    assert not people.get_user("rita").disabled  # type: ignore[union-attr]


def test_an_admin_disable_is_not_undone_by_signing_in(people: People) -> None:
    SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], Grant("reviewer", None))
    people.set_disabled("rita", True)
    assert SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], Grant("admin", None)) is None
    user = people.get_user("rita")
    assert user is not None and user.disabled and user.role == "reviewer"


def test_a_provider_account_never_takes_a_local_persons_name(people: People) -> None:
    people.create_user("ada", "admin", password="ada-long-password")
    with pytest.raises(PeopleError, match="ada"):
        SsoAccounts(people.store).sign_in(SUBJECT, ["ada"], Grant("admin", None))
    assert people.get_user("ada").sso_subject is None  # type: ignore[union-attr]


def test_a_person_without_a_role_is_not_created(people: People) -> None:
    assert SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], None) is None
    assert people.get_user("rita") is None


def test_a_name_that_is_not_an_identifier_falls_back_to_the_next_claim(people: People) -> None:
    person = SsoAccounts(people.store).sign_in(SUBJECT, ["Rita Smith", "rita@example.com"], Grant("auditor", None))
    assert person is not None and person.name == "rita@example.com" and not person.may_decide


def test_a_sso_person_has_no_password_to_reset(people: People) -> None:
    SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], Grant("reviewer", None))
    with pytest.raises(PeopleError, match="single sign-on"):
        people.reset_password("rita")


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"oidc_issuer": "https://idp.example.com"}, "needs both"),
        ({"oidc_issuer": "http://idp.example.com", "oidc_client_id": "c"}, "https"),
        ({"oidc_issuer": "http://localhost.evil.example", "oidc_client_id": "c"}, "https"),
        ({"local_passwords": False}, "needs single sign-on"),
    ],
    ids=["issuer-without-client", "plain-http-issuer", "lookalike-loopback", "no-way-to-sign-in"],
)
def test_settings_refuse_an_incomplete_or_unsafe_sign_in_setup(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(**values)  # type: ignore[arg-type]


def _users(people: People) -> list[User]:
    with people.store.read() as session:
        return list(session.exec(sa.select(User)).scalars().all())  # type: ignore[call-overload]


def _events(people: People, event_type: str) -> int:
    with people.store.read() as session:
        found = session.exec(sa.select(AuditEvent).where(AuditEvent.event_type == event_type))  # type: ignore[call-overload]
        return len(found.scalars().all())


def test_the_snapshot_keeps_only_the_claims_the_mapping_reads_and_grants_the_same(tmp_path: Path) -> None:
    mapping = load_mapping(_mapping(tmp_path, RULES))
    claims: dict[str, Any] = {
        "sub": "u-1",
        "iss": "https://idp.example.com",
        "nonce": "n",
        "email": "rita@example.com",
        "groups": ["pay", "refunds", None],
        "department": "audit",
    }
    snapshot = mapping.snapshot(claims)
    assert snapshot == {"department": "audit", "groups": ["pay", "refunds"]}
    assert mapping.grant(snapshot) == mapping.grant(claims)
    assert mapping.snapshot({"sub": "u-1"}) == {}


def test_the_mapping_file_is_read_again_only_when_it_changes(tmp_path: Path) -> None:
    path = _mapping(tmp_path, RULES)
    file = MappingFile(path)
    first = file.current()
    assert file.current() is first  # unchanged: not parsed again
    path.write_text(RULES.replace("role: auditor", "role: reviewer"))
    second = file.current()
    assert second is not first and second.grant({"department": "audit"}) == Grant("reviewer", None)
    assert MappingFile(None).current().grant({"groups": ["admins"]}) is None


def test_a_mapping_file_broken_by_an_edit_fails_closed_and_says_so_once_per_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _mapping(tmp_path, RULES)
    file = MappingFile(path)
    file.current()
    with caplog.at_level(logging.ERROR, logger="server.sso"):
        path.write_text("rules:\n  - group: admins\n    role: owner\n")
        for _ in range(3):
            with pytest.raises(SsoConfigError):
                file.current()
        path.unlink()
        for _ in range(2):
            with pytest.raises(SsoConfigError, match="cannot read"):
                file.current()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and all(m.startswith(f"{path}: ") for m in messages)
    assert all(r.exc_info is None for r in caplog.records)
    path.write_text(RULES)
    assert file.current().grant({"groups": ["admins"]}) == Grant("admin", None)


def test_applying_a_grant_sets_role_and_queues_and_writes_only_a_change(people: People) -> None:
    SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], Grant("reviewer", frozenset({"payments"})))
    set_before = _events(people, "user_role_set")
    same = SsoAccounts(people.store).apply_grant(SUBJECT, Grant("reviewer", frozenset({"payments"})))
    assert same is not None and same.queues == frozenset({"payments"})
    assert _events(people, "user_role_set") == set_before  # nothing changed, nothing audited
    auditor = SsoAccounts(people.store).apply_grant("rita", Grant("auditor", None))  # by name too
    assert auditor is not None and auditor.role == "auditor"
    assert _events(people, "user_role_set") == set_before + 1
    assert SsoAccounts(people.store).apply_grant(SUBJECT, None) is None
    user = people.get_user("rita")
    assert user is not None and user.disabled and user.disabled_by_sso
    assert SsoAccounts(people.store).apply_grant(SUBJECT, Grant("reviewer", None)) is not None  # enabled again
    assert SsoAccounts(people.store).apply_grant("nobody", Grant("admin", None)) is None


def test_a_grant_never_touches_a_local_account_or_enables_a_person_an_admin_disabled(people: People) -> None:
    people.create_user("ada", "reviewer", password="correct horse battery")
    assert SsoAccounts(people.store).apply_grant("ada", Grant("admin", None)) is None
    ada = people.get_user("ada")
    assert ada is not None and ada.role == "reviewer"
    SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], Grant("reviewer", None))
    people.set_disabled("rita", True)
    assert SsoAccounts(people.store).apply_grant(SUBJECT, Grant("admin", None)) is None
    rita = people.get_user("rita")
    assert rita is not None and rita.disabled and not rita.disabled_by_sso and rita.role == "reviewer"


def _in_threads(*calls: Any) -> list[Any]:
    """Run each call in its own thread, released together; their results (or exceptions) in order."""
    start = threading.Barrier(len(calls), timeout=10)
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
        assert not thread.is_alive()
    return results


def test_two_simultaneous_first_sign_ins_of_one_account_sign_in_as_one_person(people: People) -> None:
    grant = Grant("reviewer", frozenset({"payments"}))
    results = _in_threads(*[lambda: SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], grant)] * 2)
    assert [getattr(r, "name", r) for r in results] == ["rita", "rita"]
    assert [u.name for u in _users(people)] == ["rita"]
    assert _events(people, "user_created") == 1


@pytest.mark.parametrize(
    ("winner", "outcome"),
    [
        (SUBJECT, "signs in as the winner's account"),
        ("https://idp.example.com u-2", "another account took the same name"),
    ],
    ids=["same-account", "another-account-same-name"],
)
@pytest.mark.parametrize(
    ("moment", "refusal_at_moment"),
    [("INSERT INTO app_user", None), ("WHERE app_user.name =", "belongs to another single-sign-on account")],
    ids=["before-its-insert", "before-its-name-look"],
)
def test_a_first_sign_in_that_loses_the_race_to_create_the_account(
    people: People, winner: str, outcome: str, moment: str, refusal_at_moment: str | None
) -> None:
    """The loser looked by subject, found nobody, and the winner committed at ``moment`` (PostgreSQL)."""
    if people.store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers take turns (BEGIN IMMEDIATE): a first sign-in cannot lose this race there")
    grant = Grant("reviewer", None)
    fired = threading.Event()
    won: list[Any] = []

    def winner_commits_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if moment in statement and not fired.is_set():
            fired.set()
            thread = threading.Thread(
                target=lambda: won.append(SsoAccounts(people.store).sign_in(winner, ["rita"], grant))
            )
            thread.start()
            thread.join(timeout=30)
            assert not thread.is_alive()

    sa.event.listen(people.store.engine, "before_cursor_execute", winner_commits_first)
    try:
        if winner != SUBJECT:
            with pytest.raises(PeopleError, match=refusal_at_moment or outcome):
                SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], grant)
        else:
            person = SsoAccounts(people.store).sign_in(SUBJECT, ["rita"], grant)
            assert person is not None and person.name == "rita"
    finally:
        sa.event.remove(people.store.engine, "before_cursor_execute", winner_commits_first)
    assert fired.is_set() and won and won[0] is not None
    assert [(u.name, u.sso_subject) for u in _users(people)] == [("rita", winner)]
    assert _events(people, "user_created") == 1
