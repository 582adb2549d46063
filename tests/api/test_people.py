"""People and credentials: argon2 passwords, hashed bearer tokens, and who a token speaks for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlmodel import select

from server.canonical import sha256_hex
from server.people import AGENT_TOKEN_PREFIX, PERSON_TOKEN_PREFIX, People, PeopleError
from server.store.db import Store
from server.store.models import ApiToken, AuditEvent, User

# Cheap argon2 parameters: the tests check behaviour, not the cost of guessing.
FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def people(database_url: str) -> Iterator[People]:
    store = Store.open(database_url)
    yield People(store, hasher=FAST)
    store.close()


def test_a_password_verifies_only_for_its_enabled_user(people: People) -> None:
    people.create_user("fiona", "reviewer", password="correct horse battery", queues=["finance", "finance"])

    person = people.verify_password("fiona", "correct horse battery")
    assert person is not None and person.role == "reviewer" and person.queues == frozenset({"finance"})
    assert people.verify_password("fiona", "wrong password!") is None
    assert people.verify_password("nobody", "correct horse battery") is None
    with people.store.write() as session:
        user = session.exec(select(User).where(User.name == "fiona")).one()
        assert user.password_hash is not None and "correct horse" not in user.password_hash
        user.disabled = True
        session.add(user)
    assert people.verify_password("fiona", "correct horse battery") is None


@pytest.mark.parametrize(
    ("name", "role", "password"),
    [("bad name", "reviewer", "long enough"), ("ok", "owner", "long enough"), ("ok", "admin", "short")],
    ids=["name-with-space", "unknown-role", "short-password"],
)
def test_bad_users_are_refused(people: People, name: str, role: str, password: str) -> None:
    with pytest.raises(PeopleError):
        people.create_user(name, role, password=password)  # type: ignore[arg-type]


def test_a_user_name_is_taken_once(people: People) -> None:
    people.create_user("ada", "admin", password="long enough")
    with pytest.raises(PeopleError, match="already exists"):
        people.create_user("ada", "reviewer", password="long enough")


def test_tokens_are_stored_as_hashes_and_name_their_principal(people: People) -> None:
    people.create_user("ada", "admin", password="long enough")
    agent = people.create_agent_token("desk-agent", label="laptop")
    person = people.create_person_token("ada")

    assert agent.startswith(AGENT_TOKEN_PREFIX) and person.startswith(PERSON_TOKEN_PREFIX)
    as_agent, as_person = people.authenticate_token(agent), people.authenticate_token(person)
    assert as_agent is not None and as_agent.is_agent and as_agent.name == "desk-agent" and as_agent.person is None
    assert as_person is not None and as_person.person is not None and as_person.person.is_admin
    with people.store.read() as session:
        hashes = set(session.exec(select(ApiToken.token_hash)).all())
        events = [e.event_type for e in session.exec(select(AuditEvent)).all()]
    assert hashes == {sha256_hex(agent), sha256_hex(person)}
    assert events.count("token_created") == 2 and "user_created" in events


def test_unknown_revoked_and_disabled_tokens_authenticate_nobody(people: People) -> None:
    people.create_user("sam", "reviewer", password="long enough")
    agent = people.create_agent_token("desk-agent")
    person = people.create_person_token("sam")

    assert people.authenticate_token(AGENT_TOKEN_PREFIX + "made-up") is None
    assert people.authenticate_token("no-prefix-at-all") is None
    assert people.revoke_tokens("desk-agent", kind="agent") == 1
    assert people.authenticate_token(agent) is None
    with people.store.write() as session:
        user = session.exec(select(User).where(User.name == "sam")).one()
        user.disabled = True
        session.add(user)
    assert people.authenticate_token(person) is None


def test_a_person_token_needs_an_existing_user(people: People) -> None:
    with pytest.raises(PeopleError, match="no user"):
        people.create_person_token("ghost")


def test_an_agent_bound_to_a_person_records_them_and_an_unknown_person_is_refused(people: People) -> None:
    people.create_user("alice", "reviewer", password="long enough")
    people.create_agent_token("alices-agent", for_person="alice")
    with pytest.raises(PeopleError, match="no user named 'nobody'"):
        people.create_agent_token("ghost-agent", for_person="nobody")
    with people.store.read() as session:
        tokens = session.exec(select(ApiToken).where(ApiToken.principal_kind == "agent")).all()
        created = session.exec(select(AuditEvent).where(AuditEvent.event_type == "token_created")).all()
    assert [(t.principal, t.person) for t in tokens] == [("alices-agent", "alice")]
    assert [e.data["for"] for e in created if e.data and e.data.get("principal") == "alices-agent"] == ["alice"]


def test_cli_agent_add_for_binds_the_agent(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from server.cli import app

    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", database_url)
    store = Store.open(database_url)
    try:
        People(store, hasher=FAST).create_user("alice", "reviewer", password="long enough")
        added = CliRunner().invoke(app, ["agent", "add", "alices-agent", "--for", "alice"])
        refused = CliRunner().invoke(app, ["agent", "add", "ghost-agent", "--for", "nobody"])
        with store.read() as session:
            bound = session.exec(select(ApiToken.person).where(ApiToken.principal == "alices-agent")).all()
    finally:
        store.close()
    assert added.exit_code == 0, added.output
    assert "never approve" in added.output and added.output.strip().splitlines()[-1].startswith(AGENT_TOKEN_PREFIX)
    assert refused.exit_code == 1 and "no user named 'nobody'" in refused.output
    assert bound == ["alice"]


def test_people_know_a_name_as_a_person_reads_it(people: People) -> None:
    people.create_user("alice", "reviewer", password="long enough")
    assert people.is_known("ALICE") and people.is_known("al\u200bice")
    assert not people.is_known("the-ceo")
