"""The variables a condition sees, and what absent values look like (see policies/README.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from server.policy import classify
from server.policy.expressions import TEXT_FIELDS, compile_condition
from server.policy.matches import METHOD_ALIAS
from server.policy.types import Action, CallFacts
from tests.policy.builders import facts, policy_with

FULL = facts(
    "refund",
    {"amount": 40, "currency": "EUR", "tags": ["vip"], "changes": {"email": "a@b.c"}},
    amount=40.0,
    confidence=0.95,
    evidence=("crm", "email"),
    reason="Parcel lost in transit",
    agent="support-bot",
    customer="C-1001",
    category="act",
)
BARE = facts("refund")
# The same call as an attacker would write it: a zero-width space, a Cyrillic о, a soft hyphen.
DISGUISED = facts(
    "refund",
    {"note": "c\u200bomp", "lines": ["c\u043emp"], "k\u00adey": 1},
    reason="Parcel lo\u200bst",
    evidence=("cr\u043em",),
).model_copy(update={"on_behalf_of": "\u0430lice"})


@pytest.mark.parametrize(
    ("when", "call", "matches"),
    [
        ("tool == 'refund'", FULL, True),
        ("agent == 'support-bot'", FULL, True),
        ("server == 'countersign'", FULL, True),
        # args: the call's arguments as given; ints compare with doubles
        ("args.amount <= 50.0 && args.currency == 'EUR'", FULL, True),
        ("'vip' in args.tags", FULL, True),
        ("'email' in args.changes", FULL, True),
        ("has(args.discount)", FULL, False),
        ("'discount' in args", FULL, False),
        # justification
        ("justification.reason.matches('(?i)lost')", FULL, True),
        ("justification.confidence >= 0.9 && justification.has_confidence", FULL, True),
        ("size(justification.evidence) == 2", FULL, True),
        ("justification.evidence.exists(e, e.source == 'crm')", FULL, True),
        ("justification.evidence.all(e, e.url == '' && e.excerpt == '')", FULL, True),
        # exposure, customer, category
        ("exposure.amount == 40.0 && exposure.currency == 'EUR'", FULL, True),
        ("customer == 'C-1001'", FULL, True),
        ("customer.startsWith('C-')", FULL, True),
        ("category == 'act'", FULL, True),
        # absent values: text is "", confidence is 0.0, evidence is [], exposure is null
        ("justification.reason == ''", BARE, True),
        ("justification.confidence == 0.0 && !justification.has_confidence", BARE, True),
        ("size(justification.evidence) == 0", BARE, True),
        ("exposure == null", BARE, True),
        ("exposure != null && exposure.amount > 100.0", BARE, False),
        ("customer == '' && category == ''", BARE, True),
        # text: every string as a person reads it, and what it carried
        ("text.args == args && text.reason == justification.reason", FULL, True),
        ("!text.hidden && !text.mixed_script && text.on_behalf_of == ''", FULL, True),
        ("text.args.note == 'comp' && text.args.lines[0] == 'comp' && 'key' in text.args", DISGUISED, True),
        ("text.reason == 'Parcel lost' && text.evidence[0].source == 'crom'", DISGUISED, True),
        ("text.on_behalf_of == 'alice'", DISGUISED, True),
        ("text.hidden && text.mixed_script", DISGUISED, True),
        ("args.note == 'comp'", DISGUISED, False),
        ("text.reason == '' && !text.hidden && size(text.evidence) == 0", BARE, True),
        # cel-go string extensions are available
        ("justification.reason.lowerAscii().contains('parcel')", FULL, True),
        ("justification.reason.split(' ').size() == 4", FULL, True),
    ],
)
def test_condition_sees_the_call_through_its_variables(
    tmp_path: Path, when: str, call: CallFacts, matches: bool
) -> None:
    policy = policy_with(tmp_path, f'- id: probe\n  when: "{when}"\n  action: allow')
    verdict = classify(policy, call)
    assert verdict.category != "policy-error", verdict.reason
    assert (verdict.action == Action.ALLOW) is matches


def test_missing_confidence_never_passes_a_confidence_threshold(tmp_path: Path) -> None:
    policy = policy_with(tmp_path, "- {id: sure, when: 'justification.confidence >= 0.5', action: allow}")
    assert classify(policy, facts(confidence=None)).action == Action.HOLD
    assert classify(policy, facts(confidence=0.5)).action == Action.ALLOW


@pytest.mark.parametrize(
    ("when", "fields"),
    [
        ("text.hidden || text.mixed_script", {"hidden", "mixed_script"}),
        ("text . args.subject.contains('x') && has(text.reason)", {"args", "reason"}),
        ("size(text) == 6", TEXT_FIELDS),  # the whole map: every field is built
        ("'args' in text && text.hidden", TEXT_FIELDS),
        ("text.novel == 1", TEXT_FIELDS),  # a name we do not know: build everything, let CEL say what is missing
        ("args.text == 'x'", set()),  # a field named text is not the variable
        ("args.items.exists(text, text.size() > 2)", TEXT_FIELDS),  # a bound name we cannot tell apart: everything
    ],
)
def test_a_condition_names_the_fields_of_text_it_reads(when: str, fields: set[str]) -> None:
    assert compile_condition(when).reads.text_fields == fields


def test_a_call_context_holds_every_field_of_text_some_rule_of_the_tool_reads(tmp_path: Path) -> None:
    policy = policy_with(
        tmp_path,
        """
        - {id: hidden, when: "text.hidden", action: hold}
        - {id: lost, when: "text.reason.contains('lost')", action: hold}
        """,
    )
    assert policy.reads_for("refund").text_fields == {"hidden", "reason"}
    assert classify(policy, facts(reason="Parcel lost")).matched_rules == ("lost",)
    assert classify(policy, DISGUISED).matched_rules == ("hidden", "lost")  # "lo\u200bst" read as a person reads it


@pytest.mark.parametrize(
    ("when", "functions"),
    [
        ("text.hidden || size(args) > 0", set()),  # CEL's own functions are not ours to give
        ("args.note.lowerAscii() == 'urgent'", {"lowerAscii"}),
        ("args.note.matches('^re')", {METHOD_ALIAS}),  # routed to the function that compiles each pattern once
        ("matches(args.note, '^re')", {"matches"}),
        ("args.items.exists(i, i.split(',').size() > 1)", {"split"}),  # inside a macro too
    ],
)
def test_a_condition_names_the_functions_of_ours_it_calls(when: str, functions: set[str]) -> None:
    assert compile_condition(when).reads.functions == functions


def test_a_call_context_gives_the_functions_the_tools_rules_call_and_no_others(tmp_path: Path) -> None:
    policy = policy_with(
        tmp_path,
        """
        - {id: shouted, tools: [refund], when: "args.note.lowerAscii() == 'urgent'", action: hold}
        - {id: looked-up, tools: [lookup], when: "args.id.matches('^C-')", action: hold}
        - {id: hidden, when: "text.hidden", action: block}
        """,
    )
    assert policy.reads_for("refund").functions == {"lowerAscii"}
    assert policy.reads_for("lookup").functions == {METHOD_ALIAS}
    assert policy.reads_for("wipe").functions == set()
    assert classify(policy, facts("refund", {"note": "URGENT"})).matched_rules == ("shouted",)
    assert classify(policy, facts("lookup", {"id": "C-1001"})).matched_rules == ("looked-up",)
    assert classify(policy, facts("wipe", {"note": "x\u200by"})).matched_rules == ("hidden",)


def test_a_context_without_a_function_a_rule_calls_blocks_the_call_rather_than_skip_the_rule(tmp_path: Path) -> None:
    policy = policy_with(
        tmp_path, "- {id: shouted, tools: [refund], when: \"args.note.lowerAscii() == 'x'\", action: allow}"
    )
    assert classify(policy, facts("refund", {"note": "X"})).matched_rules == ("shouted",)
    refund = dataclasses.replace(policy.reads_for("refund"), functions=frozenset())
    starved = dataclasses.replace(policy, _reads_by_tool={"refund": refund})
    verdict = classify(starved, facts("refund", {"note": "X"}))
    assert verdict.action == Action.BLOCK and verdict.category == "policy-error"
