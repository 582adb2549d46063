"""A person's e-mail address links their Slack account: set from the CLI, unique, audited."""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from server.cli import app
from server.people import People
from server.store.db import Store
from server.store.models import AuditEvent


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_sets_an_address_that_then_finds_the_person(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = People(store)
    people.create_user("ana", "reviewer", queues=["finance"])
    people.create_user("ben", "reviewer")
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", database_url)
    runner = CliRunner()
    result = runner.invoke(app, ["user", "set-email", "ana", "Ana@Example.com"])
    assert result.exit_code == 0, result.output
    person = people.by_email("ana@example.com")
    assert person is not None and person.name == "ana"

    taken = runner.invoke(app, ["user", "set-email", "ben", "ana@example.com"])
    assert taken.exit_code == 1 and "already" in taken.output
    assert runner.invoke(app, ["user", "set-email", "ben", "not an address"]).exit_code == 1
    with store.read() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.event_type == "user_email_set")).all()
    assert [e.data for e in events] == [{"user": "ana", "email": "ana@example.com"}]
