"""`countersign policy check` and `countersign policy test`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import app
from tests.conftest import REPO
from tests.policy.builders import BASE, write

runner = CliRunner()


def test_check_accepts_the_shipped_policy_with_a_summary() -> None:
    result = runner.invoke(app, ["policy", "check", str(REPO / "policies")])
    assert result.exit_code == 0, result.output
    assert "OK: 1 file(s), 26 tools, 12 rules, version " in result.stdout


def test_check_defaults_to_the_configured_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "configured", "p.yaml", BASE)
    monkeypatch.setenv("COUNTERSIGN_POLICIES", str(tmp_path / "configured"))
    result = runner.invoke(app, ["policy", "check"])
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "configured") in result.stdout


def test_check_lists_every_problem_as_file_line_column_rule_message(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE + "rules:\n  - {id: bad-cel, action: hold, when: 'args.x >'}\n")
    write(tmp_path, "b.yaml", "version: 1\nrules:\n  - {id: typo, action: hold, tools: [refnud]}\n")
    result = runner.invoke(app, ["policy", "check", str(tmp_path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'a.yaml'}:12:")
    assert "[bad-cel] when: Syntax error" in lines[0]
    assert lines[1] == (
        f"{tmp_path / 'b.yaml'}:3:38: [typo] rule applies to tool 'refnud', which has no entry under `tools:`"
    )
    assert "2 problem(s)" in result.stderr


def test_test_prints_the_verdict_as_one_json_document(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE + "rules:\n  - {id: sure, when: 'justification.confidence >= 0.9', action: allow}\n")
    result = runner.invoke(
        app,
        ["policy", "test", "refund", "--args", '{"amount": 12}', "--confidence", "0.95", "--evidence", "crm",
         "--evidence", "ticket", "--reason", "lost parcel", "--agent", "bot", "--policies", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["action"] == "allow"
    assert verdict["matched_rules"] == ["sure"]
    assert "ALLOW" in result.stderr


def test_test_without_justification_gets_the_tool_default(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE + "rules:\n  - {id: sure, when: 'justification.confidence >= 0.9', action: allow}\n")
    result = runner.invoke(app, ["policy", "test", "refund", "--policies", str(tmp_path)])
    verdict = json.loads(result.stdout)
    assert (verdict["action"], verdict["queue"], verdict["owner"]) == ("hold", "finance", "finance-team")
    assert "HOLD" in result.stderr and "queue finance" in result.stderr


def test_test_of_an_unknown_tool_shows_the_block(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", BASE)
    result = runner.invoke(app, ["policy", "test", "drop_tables", "--policies", str(tmp_path)])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["category"] == "unknown-tool"


@pytest.mark.parametrize(("given", "message"), [("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object")])
def test_test_refuses_arguments_that_are_not_a_json_object(tmp_path: Path, given: str, message: str) -> None:
    write(tmp_path, "p.yaml", BASE)
    result = runner.invoke(app, ["policy", "test", "refund", "--args", given, "--policies", str(tmp_path)])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_test_with_a_broken_policy_lists_the_problems_and_fails(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", "version: 1\ntools: {refund: {action: hold}}\n")
    result = runner.invoke(app, ["policy", "test", "refund", "--policies", str(tmp_path)])
    assert result.exit_code == 1
    assert "tools.refund.risk: Field required" in result.stdout


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ('{"customer_id": "C-1001", "order_id": "O-1", "currency": "EUR", "reason": "damaged"}', "amount"),
        ('{"customer_id": "C-1001", "order_id": "O-1", "amount": "lots", "currency": "EUR", "reason": "x"}', "amount"),
    ],
    ids=["missing", "wrong-type"],
)
def test_test_refuses_arguments_the_tools_schema_refuses_naming_the_field(given: str, field: str) -> None:
    result = runner.invoke(
        app, ["policy", "test", "issue_refund", "--args", given, "--policies", str(REPO / "policies")]
    )
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"({field}: " in result.stderr and "invalid arguments" in result.stderr


def test_test_of_schema_valid_arguments_gets_a_verdict() -> None:
    given = '{"customer_id": "C-1001", "order_id": "O-1", "amount": 20, "currency": "EUR", "reason": "damaged"}'
    result = runner.invoke(
        app, ["policy", "test", "issue_refund", "--args", given, "--policies", str(REPO / "policies")]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["action"] in {"allow", "hold"}
