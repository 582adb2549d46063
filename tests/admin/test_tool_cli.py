"""`countersign tool ...`: a risk change governs the gateway's next call and is audited."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select
from typer.testing import CliRunner

from server.cli import app
from server.gateway import Gateway
from server.policy.types import Action
from server.store.db import Store
from server.store.models import AuditEvent

runner = CliRunner()


def _cli(args: list[str], database_url: str, policy_dir: Path) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--database-url", database_url], env={"COUNTERSIGN_POLICIES": str(policy_dir)})
    return result.exit_code, result.output


def test_set_risk_changes_the_next_classification_and_writes_an_audit_event(
    gateway: Gateway, store: Store, database_url: str, policy_dir: Path
) -> None:
    assert gateway.classify("lookup", {"customer_id": "C-1"}, agent="a").action == Action.ALLOW
    code, output = _cli(
        ["tool", "set-risk", "lookup", "high", "--action", "hold", "--reason", "data leak review", "--actor", "ada"],
        database_url,
        policy_dir,
    )
    assert code == 0, output
    verdict = gateway.classify("lookup", {"customer_id": "C-1"}, agent="a")
    assert verdict.action == Action.HOLD and verdict.risk == "high"
    with store.read() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.event_type == "tool_override_set")).one()
    assert (event.tool, event.actor, event.reason) == ("lookup", "ada", "data leak review")
    assert event.data == {"before": None, "after": {"risk": "high", "action": "hold"}}


def test_set_risk_refuses_an_unknown_tool_and_a_missing_reason(
    store: Store, database_url: str, policy_dir: Path
) -> None:
    code, _ = _cli(["tool", "set-risk", "nope", "low", "--action", "allow", "--reason", "x"], database_url, policy_dir)
    assert code == 2
    code, _ = _cli(
        ["tool", "set-risk", "lookup", "low", "--action", "allow", "--reason", " "], database_url, policy_dir
    )
    assert code == 2
    with store.read() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.event_type == "tool_override_set")).first() is None


def test_clear_restores_the_policy_default(gateway: Gateway, database_url: str, policy_dir: Path) -> None:
    _cli(["tool", "set-risk", "lookup", "low", "--action", "block", "--reason", "r"], database_url, policy_dir)
    assert gateway.classify("lookup", {"customer_id": "C"}, agent="a").action == Action.BLOCK
    code, _ = _cli(["tool", "clear", "lookup", "--reason", "done"], database_url, policy_dir)
    assert code == 0
    assert gateway.classify("lookup", {"customer_id": "C"}, agent="a").action == Action.ALLOW


def test_kill_switch_blocks_act_tools_until_undone(
    gateway: Gateway, store: Store, database_url: str, policy_dir: Path
) -> None:
    code, _ = _cli(["tool", "kill-switch", "on", "--reason", "incident"], database_url, policy_dir)
    assert code == 0
    refund = {"order_id": "O-1", "amount": 10.0, "currency": "EUR"}
    assert gateway.classify("refund", refund, agent="a").action == Action.BLOCK
    assert gateway.classify("lookup", {"customer_id": "C"}, agent="a").action == Action.ALLOW
    _cli(["tool", "kill-switch", "off", "--reason", "resolved"], database_url, policy_dir)
    assert gateway.classify("refund", refund, agent="a").action == Action.HOLD
    with store.read() as session:
        query = select(AuditEvent.event_type).where(col(AuditEvent.event_type).startswith("kill_switch"))
        kinds = session.exec(query.order_by(col(AuditEvent.seq))).all()
    assert kinds == ["kill_switch_on", "kill_switch_off"]


def test_list_shows_the_override_beside_the_policy_default(
    gateway: Gateway, database_url: str, policy_dir: Path
) -> None:
    _cli(["tool", "set-risk", "email", "high", "--action", "block", "--reason", "spam wave"], database_url, policy_dir)
    code, output = _cli(["tool", "list"], database_url, policy_dir)
    assert code == 0
    line = next(line for line in output.splitlines() if " email " in line)
    assert "hold / medium" in line and "block / high" in line and "spam wave" in line
