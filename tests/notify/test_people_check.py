"""`countersign policy check` warns (exit 0) about people named under notify: who are not people here."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import app
from server.people import People
from server.store.db import Store
from tests.notify.support import write_policy


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_policy_check_warns_about_unknown_people_and_people_without_an_address(
    store: Store, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = People(store)
    people.create_user("ana", "reviewer")
    people.set_email("ana", "ana@example.com")
    people.create_user("bo", "reviewer")  # no address
    directory = write_policy(tmp_path / "p", webhook="https://hooks.example.com/x")
    text = (directory / "policy.yaml").read_text().replace("[leads@example.com]", "[ana, bo, nobody, x@example.com]")
    (directory / "policy.yaml").write_text(text.replace("escalate_to: finance-senior", "escalate_to: {person: ghost}"))
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["policy", "check", str(directory)])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: '")]
    assert len(warnings) == 3
    assert any("'bo'" in w and "no e-mail address" in w for w in warnings)
    assert any("'nobody'" in w and "not a Countersign user" in w for w in warnings)
    assert any("'ghost'" in w and "finance" in w for w in warnings)


def test_policy_check_without_a_database_says_the_people_were_not_checked_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = write_policy(tmp_path / "p", webhook="https://hooks.example.com/x")
    text = (directory / "policy.yaml").read_text().replace("[leads@example.com]", "[ana]")
    (directory / "policy.yaml").write_text(text)
    missing = tmp_path / "none.db"
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", f"sqlite:///{missing}")
    result = CliRunner().invoke(app, ["policy", "check", str(directory)])
    assert result.exit_code == 0 and "were not checked" in result.output
    assert not missing.exists()
