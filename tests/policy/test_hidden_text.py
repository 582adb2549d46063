"""The default policy reads text as a person does: disguised words and hidden characters are held.

Written as the attack run's bypass: "compensation" with a zero-width space, a soft hyphen, a Cyrillic
"о" or a tag character inside was sent without review (4 of 4). Through the real classify().
"""

from __future__ import annotations

import pytest

from server.catalog import build_facts
from server.policy import Policy, classify, load_policy
from server.policy.types import Action, Evidence, Justification, Verdict
from tests.conftest import REPO
from tests.text.test_readable import DISGUISED

SURE = Justification(reason="customer asked", evidence=(Evidence(source="ticket:T-1"),), confidence=0.95)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(REPO / "policies")


def _email(
    policy: Policy, body: str, *, justification: Justification = SURE, on_behalf_of: str | None = None
) -> Verdict:
    args = {"customer_id": "C-1001", "subject": "About your order", "body": body}
    facts = build_facts(None, "send_customer_email", args, justification=justification, on_behalf_of=on_behalf_of)
    return classify(policy, facts)


def test_a_plain_routine_email_with_evidence_is_still_sent_at_once(policy: Policy) -> None:
    assert _email(policy, "Your parcel ships today.").action == Action.ALLOW


def test_a_plain_email_in_another_language_is_still_sent_at_once(policy: Policy) -> None:
    assert _email(policy, "Ditt paket skickas i dag. Привет!").action == Action.ALLOW


@pytest.mark.parametrize("word", DISGUISED.values(), ids=DISGUISED.keys())
def test_a_disguised_compensation_email_is_held_for_compliance(policy: Policy, word: str) -> None:
    verdict = _email(policy, f"We offer {word} of 20 EUR.")
    assert verdict.action == Action.HOLD
    assert verdict.queue == "compliance"
    assert verdict.category == "compliance-language"
    # The keyword rule itself sees the word, and the disguise is a reason of its own.
    assert {"compliance-sensitive-email", "hidden-or-lookalike-text"} <= set(verdict.matched_rules)


def test_a_disguised_pricing_claim_is_held_for_compliance(policy: Policy) -> None:
    facts = build_facts(None, "publish_pricing_claim", {"page_id": "P-1", "claim": "The che\u0430pest plan"})
    verdict = classify(policy, facts)
    assert verdict.queue == "compliance" and "regulated-pricing-claim" in verdict.matched_rules


def test_hidden_characters_hold_even_a_read(policy: Policy) -> None:
    verdict = classify(policy, build_facts(None, "search_customers", {"query": "acme\u200b"}))
    assert verdict.action == Action.HOLD
    assert verdict.matched_rules == ("hidden-or-lookalike-text",)


def test_hidden_characters_in_on_behalf_of_hold_the_call(policy: Policy) -> None:
    verdict = _email(policy, "Your parcel ships today.", on_behalf_of="fi\u200bona")
    assert verdict.action == Action.HOLD and "hidden-or-lookalike-text" in verdict.matched_rules


def test_look_alike_characters_in_the_justification_hold_the_call(policy: Policy) -> None:
    disguised = Justification(
        reason="approved by the m\u0430nager", evidence=(Evidence(source="ticket:T-1"),), confidence=0.95
    )
    verdict = _email(policy, "Your parcel ships today.", justification=disguised)
    assert verdict.action == Action.HOLD and "hidden-or-lookalike-text" in verdict.matched_rules


def test_hidden_characters_in_evidence_hold_the_call(policy: Policy) -> None:
    disguised = Justification(evidence=(Evidence(source="ticket", excerpt="ok\u202e"),), confidence=0.95)
    verdict = _email(policy, "Your parcel ships today.", justification=disguised)
    assert verdict.action == Action.HOLD and "hidden-or-lookalike-text" in verdict.matched_rules
