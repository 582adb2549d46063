"""Replaying the stored history with a candidate policy reports what would change, and what people did."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from server.cli import app
from server.gateway import Gateway
from server.policy import load_policy
from server.policy.types import Action, Risk
from server.replay import replay, stored_overrides, what_if
from server.store.db import Store
from tests.admin.history import Ledger, seed
from tests.admin.world import POLICY, Clock, make_registry, write_policy


@pytest.fixture
def ledger(gateway: Gateway, clock: Clock) -> Ledger:
    return seed(gateway, clock)


def test_the_live_policy_replays_with_no_changes(store: Store, ledger: Ledger, policy_dir: Path) -> None:
    report = replay(store, load_policy(policy_dir), make_registry())
    assert report.changed == 0
    assert report.replayed == report.unchanged == len(ledger.held) + sum(ledger.allowed.values()) + ledger.blocked


def test_allowing_a_tool_by_default_moves_its_routine_calls_from_hold_to_allow(
    store: Store, ledger: Ledger, policy_dir: Path
) -> None:
    candidate = what_if(load_policy(policy_dir), tool_actions={"refund": Action.ALLOW})
    report = replay(store, candidate, make_registry())
    routine = [h for h in ledger.held if h.tool == "refund" and not h.rules]
    assert set(report.changes) == {(Action.HOLD, Action.ALLOW)}
    group = report.changes[(Action.HOLD, Action.ALLOW)]
    # The big-refund rule still holds large refunds: only routine ones move.
    assert group.count == len(routine) == 25
    assert group.outcomes == Counter(h.outcome for h in routine)
    assert {c.id for c in group.examples} <= {h.call_id for h in routine}


def test_loosening_a_rule_shows_what_people_decided_on_the_calls_it_held(
    store: Store, ledger: Ledger, policy_dir: Path
) -> None:
    candidate = what_if(load_policy(policy_dir), rule_actions={"big-refund": Action.ALLOW})
    report = replay(store, candidate, make_registry())
    big = [h for h in ledger.held if h.rules == ("big-refund",)]
    # The rule's allow vote beats the tool's default hold (defaults apply only where no rule matches).
    assert report.changes[(Action.HOLD, Action.ALLOW)].outcomes == Counter(h.outcome for h in big)
    assert report.changes[(Action.HOLD, Action.ALLOW)].outcomes == {"approved": 1, "rejected": 1, "expired": 1}


def test_a_candidate_directory_reports_each_change_type_with_its_count(
    store: Store, ledger: Ledger, tmp_path: Path
) -> None:
    text = (
        POLICY.replace("lookup: {action: allow", "lookup: {action: hold")
        .replace("email: {action: hold", "email: {action: allow")
        .replace("wipe: {action: block", "wipe: {action: hold")
    )
    candidate = load_policy(write_policy(tmp_path / "candidate", text))
    report = replay(store, candidate, make_registry())
    emails = [h for h in ledger.held if h.tool == "email"]
    assert {key: group.count for key, group in report.changes.items()} == {
        (Action.HOLD, Action.ALLOW): len(emails),
        (Action.ALLOW, Action.HOLD): ledger.allowed["lookup"],
        (Action.BLOCK, Action.HOLD): ledger.blocked,
    }
    assert report.changes[(Action.HOLD, Action.ALLOW)].outcomes == Counter(h.outcome for h in emails)
    assert report.changes[(Action.ALLOW, Action.HOLD)].outcomes == {"allowed": 5}
    assert report.groups()[0].loosens


def test_stored_overrides_apply_to_the_candidate(
    store: Store, gateway: Gateway, ledger: Ledger, policy_dir: Path
) -> None:
    gateway.overrides.set("lookup", risk=Risk.LOW, action=Action.HOLD, reason="audit week", actor="ada")
    report = replay(store, load_policy(policy_dir), make_registry(), overrides=stored_overrides(store))
    assert report.changes[(Action.ALLOW, Action.HOLD)].count == 5


def test_replay_progress_reaches_the_total(store: Store, ledger: Ledger, policy_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    replay(store, load_policy(policy_dir), make_registry(), on_progress=lambda d, t: seen.append((d, t)), batch=7)
    total = len(ledger.held) + 5 + 2
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_a_what_if_on_an_unknown_rule_is_refused(policy_dir: Path) -> None:
    with pytest.raises(KeyError):
        what_if(load_policy(policy_dir), rule_actions={"no-such-rule": Action.ALLOW})


def test_cli_replay_prints_the_same_summary(store: Store, ledger: Ledger, policy_dir: Path, database_url: str) -> None:
    result = CliRunner().invoke(
        app,
        ["policy", "replay", "--policies", policy_dir.name, "--database-url", database_url, "--tool", "refund=allow"],
        env={"COUNTERSIGN_POLICY_REPLAY_ROOT": str(policy_dir.parent)},
    )
    assert result.exit_code == 0, result.output
    assert "25 changed" in result.output
    assert "hold -> allow: 25 calls (then: 25 approved)" in result.output
