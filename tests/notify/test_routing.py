"""Routing is policy: `queues: NAME: notify:` is checked by the loader and read by the worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.notify.decide_in import decide_in
from server.notify.routing import Route, routes
from server.policy import PolicyError, load_policy
from tests.notify.support import write_policy


def _problems(directory: Path) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    return [p.message for p in caught.value.problems]


def test_escalation_to_an_undeclared_queue_is_a_policy_problem(tmp_path: Path) -> None:
    write_policy(tmp_path, webhook="https://hooks.example.com/x")
    text = (tmp_path / "policy.yaml").read_text().replace("escalate_to: finance-senior", "escalate_to: finanse-senior")
    (tmp_path / "policy.yaml").write_text(text)
    assert any("'finanse-senior' is not declared" in m for m in _problems(tmp_path))


@pytest.mark.parametrize(
    "webhook", ["ftp://hooks.example.com/x", "https://user:pw@hooks.example.com/x", "javascript:alert(1)"]
)
def test_webhook_that_is_not_plain_http_is_a_policy_problem(tmp_path: Path, webhook: str) -> None:
    write_policy(tmp_path, webhook=webhook)
    assert any("webhooks" in m for m in _problems(tmp_path))


def test_unknown_event_name_is_a_policy_problem(tmp_path: Path) -> None:
    write_policy(tmp_path, webhook="https://hooks.example.com/x", events="      events: [call.helt]\n")
    assert any("events" in m for m in _problems(tmp_path))


def test_queue_hears_only_its_events_and_the_escalation_queue_hears_the_escalation(tmp_path: Path) -> None:
    url = "https://hooks.example.com/x"
    policy = load_policy(write_policy(tmp_path, webhook=url, events="      events: [call.held, call.escalated]\n"))
    assert routes(policy, "finance", "call.held") == [Route("webhook", url)]
    assert routes(policy, "finance", "call.decided") == []
    assert routes(policy, "finance", "call.escalated") == [Route("email", "leads@example.com"), Route("webhook", url)]
    assert routes(policy, "general", "call.held") == []


def test_an_escalated_calls_first_slack_message_is_updated_only_with_the_events_its_queue_sends(
    tmp_path: Path,
) -> None:
    events = "      slack_channel: '#finance'\n      events: [call.held, call.decided]\n"
    policy = load_policy(write_policy(tmp_path, webhook="https://hooks.example.com/x", events=events))
    first = [("finance", "#finance")]  # the call was posted there, then moved to finance-senior
    assert Route("slack", "#finance") in routes(policy, "finance-senior", "call.decided", slack_messages=first)
    assert routes(policy, "finance-senior", "call.executed", slack_messages=first) == [
        Route("email", "leads@example.com")
    ]
    # A channel that queue no longer sends to (the policy changed since) is left alone.
    assert routes(policy, "finance-senior", "call.decided", slack_messages=[("finance", "#elsewhere")]) == [
        Route("email", "leads@example.com")
    ]


def test_email_entries_name_people_or_addresses_and_escalation_may_name_a_person(tmp_path: Path) -> None:
    write_policy(tmp_path, webhook="https://hooks.example.com/x")
    text = (tmp_path / "policy.yaml").read_text()
    text = text.replace("[leads@example.com]", "[ana, leads@example.com]")
    (tmp_path / "policy.yaml").write_text(text.replace("escalate_to: finance-senior", "escalate_to: {person: lena}"))
    policy = load_policy(tmp_path)
    assert routes(policy, "finance-senior", "call.held") == [Route("email", "ana"), Route("email", "leads@example.com")]
    assert Route("email", "lena") in routes(policy, "finance", "call.escalated")
    assert Route("email", "lena") not in routes(policy, "finance", "call.held")


@pytest.mark.parametrize("entry", ["'ana smith'", "'<ana>'", "'ana@'"])
def test_email_entry_that_is_neither_a_person_nor_an_address_is_a_policy_problem(tmp_path: Path, entry: str) -> None:
    write_policy(tmp_path, webhook="https://hooks.example.com/x")
    text = (tmp_path / "policy.yaml").read_text().replace("[leads@example.com]", f"[{entry}]")
    (tmp_path / "policy.yaml").write_text(text)
    assert any("email" in m for m in _problems(tmp_path))


def test_rule_decide_in_replaces_the_queues_and_several_rules_keep_only_what_all_allow(tmp_path: Path) -> None:
    write_policy(tmp_path, webhook="https://hooks.example.com/x")
    text = (
        (tmp_path / "policy.yaml").read_text().replace("    sla: 1h\n", "    sla: 1h\n    decide_in: [page, slack]\n")
    )
    text += (
        "rules:\n"
        "  - {id: page-only, tools: [issue_refund], action: hold, decide_in: [page]}\n"
        "  - {id: slack-too, tools: [issue_refund], action: hold, decide_in: [page, slack]}\n"
    )
    (tmp_path / "policy.yaml").write_text(text)
    policy = load_policy(tmp_path)
    assert decide_in(policy, queue="finance") == {"page", "slack"}
    assert decide_in(policy, queue="finance", matched_rules=["page-only"]) == {"page"}
    assert decide_in(policy, queue="finance-senior", matched_rules=["slack-too"]) == {"page", "slack"}
    assert decide_in(policy, queue="finance", matched_rules=["page-only", "slack-too"]) == {"page"}
