"""`countersign user list | disable | enable | set-role | reset-password`: each audited, each effective at
the person's next request, and a one-line error for a name that does not exist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlmodel import select
from typer.testing import CliRunner

from server.cli import app
from server.people import People
from server.store.db import Store
from server.store.models import AuditEvent

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
runner = CliRunner()


@pytest.fixture
def people(database_url: str) -> Iterator[People]:
    store = Store.open(database_url)
    people = People(store, hasher=FAST)
    people.create_user("ada", "admin", password="ada-long-password")
    people.create_user("rita", "reviewer", password="rita-long-password", queues=["finance"])
    yield people
    store.close()


def _cli(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["user", *args], env={"COUNTERSIGN_DATABASE_URL": database_url}, input=stdin)
    return result.exit_code, result.output


def _events(people: People, event_type: str) -> list[AuditEvent]:
    with people.store.read() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.event_type == event_type)).all())


def test_user_list_shows_role_queues_sign_in_and_state(people: People, database_url: str) -> None:
    people.reset_password("rita", password="one-time-secret")
    code, output = _cli(database_url, "list")
    assert code == 0, output
    lines = output.strip().splitlines()
    assert lines[0].split("\t")[:4] == ["ada", "admin", "queues=*", "sign-in=password"]
    assert lines[1].split("\t") == ["rita", "reviewer", "queues=finance", "sign-in=password", "must-change-password"]
    assert "one-time-secret" not in output and "argon2" not in output


def test_a_disabled_person_is_refused_at_once_and_enabled_again(people: People, database_url: str) -> None:
    token = people.create_person_token("rita")
    assert _cli(database_url, "disable", "rita")[0] == 0
    assert people.verify_password("rita", "rita-long-password") is None
    assert people.authenticate_token(token) is None
    assert "disabled" in _cli(database_url, "list")[1].splitlines()[1]
    assert _cli(database_url, "enable", "rita")[0] == 0
    assert people.verify_password("rita", "rita-long-password") is not None
    assert [e.data["user"] for e in _events(people, "user_disabled")] == ["rita"]
    assert [e.data["user"] for e in _events(people, "user_enabled")] == ["rita"]


def test_set_role_makes_a_reviewer_an_auditor_who_may_not_decide(people: People, database_url: str) -> None:
    code, output = _cli(database_url, "set-role", "rita", "auditor", "--queue", "finance", "--queue", "support")
    assert code == 0, output
    person = people.verify_password("rita", "rita-long-password")
    assert person is not None and person.role == "auditor" and person.queues == frozenset({"finance", "support"})
    assert person.may_review("finance") and not person.may_decide
    assert _events(people, "user_role_set")[0].data == {
        "user": "rita",
        "role": "auditor",
        "queues": ["finance", "support"],
    }


def test_reset_password_prints_a_one_time_password_last_and_once(people: People, database_url: str) -> None:
    code, output = _cli(database_url, "reset-password", "rita")
    assert code == 0, output
    secret = output.strip().splitlines()[-1]
    assert people.verify_password("rita", secret) is not None
    assert people.verify_password("rita", "rita-long-password") is None
    user = people.get_user("rita")
    assert user is not None and user.must_change_password
    assert secret not in str([e.data for e in _events(people, "user_password_reset")])


def test_reset_password_can_read_the_password_from_stdin(people: People, database_url: str) -> None:
    code, output = _cli(database_url, "reset-password", "rita", "--password-stdin", stdin="chosen-by-the-admin\n")
    assert code == 0 and "chosen-by-the-admin" not in output
    assert people.verify_password("rita", "chosen-by-the-admin") is not None


@pytest.mark.parametrize(
    "args",
    [["disable", "nobody"], ["enable", "nobody"], ["set-role", "nobody", "admin"], ["reset-password", "nobody"]],
    ids=["disable", "enable", "set-role", "reset-password"],
)
def test_an_unknown_person_gets_one_line_and_exit_1(people: People, database_url: str, args: list[str]) -> None:
    code, output = _cli(database_url, *args)
    assert code == 1
    assert output.strip() == "error: there is no user named 'nobody'"


def test_an_unknown_role_is_refused(people: People, database_url: str) -> None:
    code, _ = _cli(database_url, "set-role", "rita", "owner")
    assert code == 2
    user = people.get_user("rita")
    assert user is not None and user.role == "reviewer"
