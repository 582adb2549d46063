"""classify(): the evaluation order written in server/policy/classify.py, case by case."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.policy import classify, load_policy
from server.policy.classify import _contest, _decide
from server.policy.types import Action, CallFacts, Evidence, Exposure, Impact, Justification, Risk, ToolOverride
from tests.policy.builders import facts, policy_with

_DEFAULT_POLICY = load_policy(Path(__file__).resolve().parents[2] / "policies")


@pytest.mark.parametrize(
    ("tool", "expected"),
    [("refund", Action.HOLD), ("lookup", Action.ALLOW), ("wipe", Action.BLOCK)],
)
def test_tool_default_applies_when_no_rule_matches(tmp_path: Path, tool: str, expected: Action) -> None:
    policy = policy_with(tmp_path, "- {id: never, when: 'false', action: block}")
    verdict = classify(policy, facts(tool))
    assert verdict.action == expected
    assert verdict.matched_rules == ()
    assert verdict.reasons[0].startswith(f"default for {tool}: {expected}")


@pytest.mark.parametrize(
    ("tool", "rule_action", "expected"),
    [
        ("refund", "allow", Action.ALLOW),  # a matching rule replaces a holding default...
        ("lookup", "hold", Action.HOLD),  # ...and an allowing one
        ("wipe", "allow", Action.ALLOW),  # the default is not a vote: only rules and overrides vote
    ],
)
def test_tool_default_is_ignored_once_a_rule_matches(
    tmp_path: Path, tool: str, rule_action: str, expected: Action
) -> None:
    policy = policy_with(tmp_path, f"- {{id: r, action: {rule_action}}}")
    verdict = classify(policy, facts(tool))
    assert verdict.action == expected
    assert verdict.matched_rules == ("r",)


@pytest.mark.parametrize(
    ("actions", "expected"),
    [
        (["allow", "allow"], Action.ALLOW),
        (["allow", "hold"], Action.HOLD),
        (["hold", "allow"], Action.HOLD),
        (["allow", "block"], Action.BLOCK),
        (["block", "hold", "allow"], Action.BLOCK),
        (["hold", "hold"], Action.HOLD),
    ],
)
def test_strictest_matching_action_wins(tmp_path: Path, actions: list[str], expected: Action) -> None:
    rules = "".join(f"- {{id: r{i}, action: {a}}}\n" for i, a in enumerate(actions))
    verdict = classify(policy_with(tmp_path, rules), facts("lookup"))
    assert verdict.action == expected
    assert verdict.matched_rules == tuple(f"r{i}" for i, a in enumerate(actions) if a == expected)


def test_overruled_rules_are_named_in_the_reasons(tmp_path: Path) -> None:
    rules = """
    - {id: small, action: allow, reason: small refund}
    - {id: doubt, action: hold, reason: not sure}
    """
    verdict = classify(policy_with(tmp_path, rules), facts())
    assert verdict.reasons == ("rule doubt: not sure", "overruled by the stricter hold: small (allow)")


@pytest.mark.parametrize(
    ("rule_tools", "tool", "applies"),
    [
        ("[refund]", "refund", True),
        ("[refund]", "lookup", False),
        ("[refund, lookup]", "lookup", True),
        (None, "wipe", True),  # no `tools:` means every tool
    ],
)
def test_rule_applies_only_to_the_tools_it_lists(
    tmp_path: Path, rule_tools: str | None, tool: str, applies: bool
) -> None:
    selector = f", tools: {rule_tools}" if rule_tools else ""
    policy = policy_with(tmp_path, f"- {{id: r{selector}, action: hold}}")
    assert ("r" in classify(policy, facts(tool)).matched_rules) is applies


def test_routing_comes_from_the_winning_rules_then_the_tool_then_the_defaults(tmp_path: Path) -> None:
    rules = """
    - {id: loose, action: allow, queue: general, required_approvals: 3, category: ignored, sla: 5m}
    - {id: first, action: hold, required_approvals: 2, sla: 3h, expires: 30h, reason: big}
    - {id: second, action: hold, queue: finance-senior, category: big-refund, sla: 90m, expires: 12h}
    """
    verdict = classify(policy_with(tmp_path, rules), facts(amount=5000.0, customer="C-1"))
    assert verdict.action == Action.HOLD
    assert verdict.matched_rules == ("first", "second")
    assert verdict.queue == "finance-senior"  # first winner that names a queue; the losing allow rule is ignored
    assert verdict.owner == "finance-leads"  # the queue's owner
    assert verdict.required_approvals == 2  # the largest among winners and tool
    assert verdict.category == "big-refund"  # first winner that names one, before the tool's `refund`
    assert verdict.sla_seconds == 3600  # the smallest of winners (3h, 90m) and the queue (1h)
    assert verdict.expires_in_seconds == 12 * 3600  # the smallest of winners (30h, 12h) and the queue (48h)
    assert verdict.customer == "C-1"
    assert verdict.exposure is not None and verdict.exposure.amount == 5000.0


def test_tool_default_routing_uses_the_tool_entry_and_its_queue(tmp_path: Path) -> None:
    verdict = classify(policy_with(tmp_path), facts())
    assert (verdict.queue, verdict.owner, verdict.category) == ("finance", "finance-team", "refund")
    assert verdict.sla_seconds == 2 * 3600  # the finance queue's SLA
    assert verdict.expires_in_seconds == 24 * 3600  # nothing stated: the defaults
    assert verdict.required_approvals == 1


def test_tool_without_routing_falls_back_to_the_default_queue(tmp_path: Path) -> None:
    verdict = classify(policy_with(tmp_path, "- {id: r, tools: [lookup], action: hold}"), facts("lookup"))
    assert (verdict.queue, verdict.owner, verdict.category) == ("general", "ops", None)
    assert verdict.sla_seconds == 4 * 3600


@pytest.mark.parametrize(
    ("rule_extra", "risk", "impact"),
    [
        ("", Risk.HIGH, Impact.MEDIUM),  # the tool's
        (", risk: critical, customer_impact: high", Risk.CRITICAL, Impact.HIGH),  # a winner raises them
        (", risk: low, customer_impact: none", Risk.HIGH, Impact.MEDIUM),  # but never lowers them
    ],
)
def test_winning_rules_can_raise_risk_and_impact(tmp_path: Path, rule_extra: str, risk: Risk, impact: Impact) -> None:
    verdict = classify(policy_with(tmp_path, f"- {{id: r, action: hold{rule_extra}}}"), facts())
    assert (verdict.risk, verdict.customer_impact) == (risk, impact)


def test_verdict_records_the_policy_version(tmp_path: Path) -> None:
    policy = policy_with(tmp_path)
    assert classify(policy, facts()).policy_version == policy.version


# --- admin overrides ------------------------------------------------------------------------------


def _override(action: Action, risk: Risk = Risk.MEDIUM, tool: str = "refund") -> ToolOverride:
    return ToolOverride(tool=tool, risk=risk, action=action, reason="incident 42", actor="alice")


@pytest.mark.parametrize(
    ("rule_action", "override_action", "expected"),
    [
        # an override to block blocks everything for the tool
        ("allow", Action.BLOCK, Action.BLOCK),
        ("hold", Action.BLOCK, Action.BLOCK),
        (None, Action.BLOCK, Action.BLOCK),
        # an override to hold holds even where an allow rule matches
        ("allow", Action.HOLD, Action.HOLD),
        (None, Action.HOLD, Action.HOLD),
        # an override to allow loosens the default only, never a holding or blocking rule
        (None, Action.ALLOW, Action.ALLOW),
        ("hold", Action.ALLOW, Action.HOLD),
        ("block", Action.ALLOW, Action.BLOCK),
    ],
)
def test_override_votes_in_the_strictest_wins_contest(
    tmp_path: Path, rule_action: str | None, override_action: Action, expected: Action
) -> None:
    rules = f"- {{id: r, tools: [refund], action: {rule_action}}}" if rule_action else ""
    verdict = classify(policy_with(tmp_path, rules), facts(), _override(override_action))
    assert verdict.action == expected
    assert any("admin override" in reason for reason in verdict.reasons)


def test_override_replaces_the_tools_default_risk(tmp_path: Path) -> None:
    verdict = classify(policy_with(tmp_path), facts(), _override(Action.HOLD, Risk.LOW))
    assert verdict.risk == Risk.LOW
    assert verdict.reasons == ("admin override by alice: hold (incident 42)",)


def test_override_for_another_tool_blocks(tmp_path: Path) -> None:
    verdict = classify(policy_with(tmp_path), facts("lookup"), _override(Action.ALLOW, tool="refund"))
    assert verdict.action == Action.BLOCK
    assert verdict.category == "policy-error"


# --- failing closed -------------------------------------------------------------------------------


def test_no_policy_blocks_every_call() -> None:
    verdict = classify(None, facts("lookup"))
    assert verdict.action == Action.BLOCK
    assert verdict.category == "no-policy"
    assert "no valid policy" in verdict.reason


def test_unknown_tool_blocks_and_says_so(tmp_path: Path) -> None:
    verdict = classify(policy_with(tmp_path, "- {id: anything, action: allow}"), facts("transfer_all_funds"))
    assert verdict.action == Action.BLOCK
    assert verdict.category == "unknown-tool"
    assert "'transfer_all_funds' has no entry in the policy" in verdict.reason


@pytest.mark.parametrize(
    ("when", "call", "cause"),
    [
        ("args.amount > 10.0", facts(args={}), "no key 'amount'"),  # missing key
        ("args.note > 10.0", facts(args={"note": "hi"}), "No such overload"),  # type mismatch
        ("args.amount", facts(args={"amount": 3}), "condition returned int 3, not a bool"),
        (
            "args.note.matches(args.pattern)",
            facts(args={"note": "x", "pattern": "["}),
            "not a valid regular expression",
        ),
        ("exposure.amount <= 50.0", facts(amount=None), "`exposure` is null"),  # money we cannot read
    ],
)
def test_rule_that_cannot_be_evaluated_blocks_naming_rule_file_and_line(
    tmp_path: Path, when: str, call: object, cause: str
) -> None:
    rules = f"""
    - {{id: fine, action: allow}}
    - id: broken
      when: "{when}"
      action: allow
    """
    policy = policy_with(tmp_path, rules)
    verdict = classify(policy, call)  # type: ignore[arg-type]
    assert verdict.action == Action.BLOCK
    assert verdict.category == "policy-error"
    assert verdict.matched_rules == ("broken",)
    line = policy.files[0].read_text().splitlines().index("  - id: broken") + 1
    assert f"rule broken ({policy.files[0]}:{line}) could not be evaluated" in verdict.reason
    assert cause in verdict.reason


def test_arguments_the_policy_cannot_read_block(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, "- {id: r, action: allow, when: 'has(args.ids)'}")
    verdict = classify(policy, facts("lookup", args={"ids": {1, 2}}))
    assert verdict.action == Action.BLOCK
    assert "cannot be read by the policy" in verdict.reason


def test_context_holds_only_the_variables_the_tools_rules_read(tmp_path: Path) -> None:
    """Converting a value costs about a microsecond, so unread variables are left out of the context."""
    policy = policy_with(tmp_path, "- {id: r, tools: [refund], action: allow, when: 'exposure != null'}")
    assert policy.reads_for("refund").variables == {"exposure"}
    assert policy.reads_for("lookup").variables == set()
    # Nothing reads the arguments of `lookup`, so ones CEL could not hold do not matter.
    assert classify(policy, facts("lookup", args={"ids": {1, 2}})).action == Action.ALLOW


def test_one_policy_classifies_from_many_threads_at_once(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, "- {id: word, action: block, when: \"args.note.matches('(?i)refund')\"}")
    results: list[Action] = []

    def work() -> None:
        results.extend(classify(policy, facts(args={"note": "Refund please"})).action for _ in range(200))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert results == [Action.BLOCK] * 1600


@settings(max_examples=200, deadline=None)
@given(
    tool=st.sampled_from(sorted(_DEFAULT_POLICY.tools)),
    amount=st.none() | st.floats(0, 1e9),
    customer=st.none() | st.sampled_from(["C-1001", "C-2002"]),
    confidence=st.none() | st.floats(0, 1),
    evidence=st.integers(0, 2),
)
def test_a_call_nothing_voted_on_gets_the_verdict_worked_out_afresh(
    tool: str, amount: float | None, customer: str | None, confidence: float | None, evidence: int
) -> None:
    # The default verdict is worked out once per policy and tool; each call's own facts must still show.
    justification = Justification(confidence=confidence, evidence=[Evidence(source=f"t:{n}") for n in range(evidence)])
    exposure = Exposure(amount=amount, currency="EUR") if amount is not None else None
    call = CallFacts(tool=tool, args={}, exposure=exposure, customer=customer, justification=justification)
    entry = _DEFAULT_POLICY.tools[tool]
    for _ in range(2):  # the first call fills the memo, the second reads it
        assert _decide(_DEFAULT_POLICY, call, entry, [], None) == _contest(_DEFAULT_POLICY, call, entry, [], None)


def test_a_policy_made_from_another_does_not_share_its_default_verdicts() -> None:
    stricter = dataclasses.replace(
        _DEFAULT_POLICY, tools={**_DEFAULT_POLICY.tools, "get_customer": _DEFAULT_POLICY.tools["issue_refund"]}
    )
    call = CallFacts(tool="get_customer", args={})
    assert classify(_DEFAULT_POLICY, call).action == Action.ALLOW  # fills the first policy's memo
    assert classify(stricter, call).action == _DEFAULT_POLICY.tools["issue_refund"].action
