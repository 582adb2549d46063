"""policies/default.yaml: it loads, covers every demo tool, and makes the decisions the README promises."""

from __future__ import annotations

from typing import Any

import pytest

from server.policy import Policy, classify, load_policy
from server.policy.types import Action, CallFacts, Evidence, Exposure, Justification, Risk, ToolOverride
from tests.conftest import REPO

READ = [
    "search_customers", "get_customer", "search_orders", "get_order", "search_invoices",
    "get_invoice", "search_vendors", "get_vendor", "get_contract", "get_pricing_page",
]  # fmt: skip
PREPARE = [
    "gather_documents", "classify_request", "summarize_record", "draft_reply",
    "score_exception", "assemble_approval_packet",
]  # fmt: skip
ACT = [
    "issue_refund", "pay_invoice", "change_vendor_bank_details", "send_customer_email",
    "change_contract_clause", "publish_pricing_claim", "update_customer_record", "delete_record",
    "bulk_export_customer_data", "bulk_delete_customers",
]  # fmt: skip


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(REPO / "policies")


def _call(
    tool: str,
    args: dict[str, Any] | None = None,
    *,
    amount: float | None = None,
    currency: str = "EUR",
    confidence: float | None = 0.95,
    evidence: int = 1,
) -> CallFacts:
    return CallFacts(
        tool=tool,
        args=args or {},
        justification=Justification(
            confidence=confidence, evidence=tuple(Evidence(source=f"doc-{i}") for i in range(evidence))
        ),
        exposure=Exposure(amount=amount, currency=currency) if amount is not None else None,
    )


def test_default_policy_covers_every_demo_tool(policy: Policy) -> None:
    assert sorted(policy.tools) == sorted(READ + PREPARE + ACT)


def test_default_policy_covers_every_registered_tool(policy: Policy) -> None:
    try:
        from tools import default_registry
    except ImportError:
        pytest.skip("tools.default_registry() is not there yet")
    missing = sorted(spec.name for spec in default_registry() if spec.name not in policy.tools)
    assert missing == [], "registered tools without a policy entry are blocked"


@pytest.mark.parametrize("tool", READ + PREPARE)
def test_reading_and_preparing_run_at_once(policy: Policy, tool: str) -> None:
    assert classify(policy, _call(tool, confidence=None, evidence=0)).action == Action.ALLOW


@pytest.mark.parametrize(
    ("call", "action", "category", "approvals", "queue"),
    [
        (_call("issue_refund", amount=40.0), Action.ALLOW, "refund", 1, "finance"),
        (_call("issue_refund", amount=50.0, currency="JPY"), Action.HOLD, "refund", 1, "finance"),
        (_call("issue_refund", amount=-500.0), Action.HOLD, "refund", 1, "finance"),
        (_call("issue_refund", amount=40.0, confidence=0.8), Action.HOLD, "refund", 1, "finance"),
        (_call("issue_refund", amount=40.0, evidence=0), Action.HOLD, "missing-evidence", 1, "finance"),
        (_call("issue_refund", amount=40.0, confidence=0.5), Action.HOLD, "low-confidence", 1, "finance"),
        (_call("issue_refund", amount=40.0, confidence=None), Action.HOLD, "low-confidence", 1, "finance"),
        (_call("issue_refund", amount=400.0), Action.HOLD, "refund", 1, "finance"),
        (_call("issue_refund", amount=2500.0), Action.HOLD, "large-refund", 1, "finance"),
        (_call("pay_invoice", amount=9999.0), Action.HOLD, "payment", 1, "finance"),
        (_call("pay_invoice", amount=10000.0), Action.HOLD, "high-value-payment", 2, "finance-senior"),
        (_call("change_vendor_bank_details"), Action.HOLD, "vendor-bank-change", 2, "finance-senior"),
        (
            _call("send_customer_email", {"subject": "Your order", "body": "It ships today."}),
            Action.ALLOW,
            "customer-email",
            1,
            "support",
        ),
        (
            _call("send_customer_email", {"subject": "Sorry", "body": "We offer compensation of 20 EUR."}),
            Action.HOLD,
            "compliance-language",
            1,
            "compliance",
        ),
        (
            _call("send_customer_email", {"subject": "Our Guarantee", "body": "Details inside."}),
            Action.HOLD,
            "compliance-language",
            1,
            "compliance",
        ),
        (_call("change_contract_clause", {"new_text": "x"}), Action.HOLD, "contract-change", 1, "legal"),
        (_call("publish_pricing_claim", {"claim": "Plans from 9 EUR"}), Action.HOLD, "pricing-claim", 1, "marketing"),
        (
            _call("publish_pricing_claim", {"claim": "The cheapest plan in Europe"}),
            Action.HOLD,
            "regulated-claim",
            1,
            "compliance",
        ),
        (
            _call("update_customer_record", {"changes": {"segment": "smb"}}),
            Action.HOLD,
            "record-update",
            1,
            "support",
        ),
        (
            _call("update_customer_record", {"changes": {"email": "new@example.com"}}),
            Action.HOLD,
            "personal-data-change",
            1,
            "data-protection",
        ),
        (_call("delete_record"), Action.HOLD, "permanent-deletion", 1, "data-protection"),
        (_call("bulk_export_customer_data"), Action.BLOCK, "bulk-data", 1, "data-protection"),
        (_call("bulk_delete_customers"), Action.BLOCK, "bulk-data", 1, "data-protection"),
    ],
    ids=lambda value: value.tool if isinstance(value, CallFacts) else None,
)
def test_default_policy_key_decisions(
    policy: Policy, call: CallFacts, action: Action, category: str, approvals: int, queue: str
) -> None:
    verdict = classify(policy, call)
    assert (verdict.action, verdict.category, verdict.required_approvals, verdict.queue) == (
        action,
        category,
        approvals,
        queue,
    ), verdict.reasons


def test_refund_whose_amount_cannot_be_read_blocks(policy: Policy) -> None:
    verdict = classify(policy, _call("issue_refund", {"amount": "40"}))
    assert verdict.action == Action.BLOCK


@pytest.mark.parametrize("tool", ["bulk_export_customer_data", "change_vendor_bank_details"])
def test_admin_override_to_allow_cannot_loosen_the_protective_rules(policy: Policy, tool: str) -> None:
    override = ToolOverride(tool=tool, risk=Risk.LOW, action=Action.ALLOW)
    assert classify(policy, _call(tool), override).action != Action.ALLOW
