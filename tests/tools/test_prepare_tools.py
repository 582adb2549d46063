"""Prepare tools: gather, classify, summarize, draft, score and assemble, without any effect."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.tools.support import call, refused
from tools.backoffice import BackOffice, ids
from tools.prepare.classify import classify


def _prepare(office: BackOffice, tool: str, arguments: dict[str, Any]) -> Any:
    before = office.dump()
    result = call(office, tool, arguments)
    assert office.dump() == before
    json.dumps(result)
    return result


FRAUD_CHANGE = {"vendor_id": ids.FRAUD_VENDOR_ID, "iban": ids.FRAUD_NEW_IBAN, "bic": ids.FRAUD_NEW_BIC,
                "account_holder": "Nordlicht Logistik GmbH", "reason": "Vendor e-mailed new details"}  # fmt: skip


@pytest.mark.parametrize(
    ("subject_id", "documents"),
    [
        (ids.REFUND_CUSTOMER_ID, {"customer", "notes", "emails"}),
        (ids.OVER_REFUND_ORDER_ID, {"order", "customer", "notes", "emails"}),
        (ids.FRAUD_INVOICE_ID, {"invoice", "vendor", "notes"}),
        (ids.FRAUD_VENDOR_ID, {"vendor", "notes"}),
        (ids.CONTRACT_ID, {"contract", "customer", "notes"}),
        (ids.PRICING_PAGE_ID, {"pricing_page"}),
    ],
)
def test_gather_documents_collects_the_related_records(
    office: BackOffice, subject_id: str, documents: set[str]
) -> None:
    result = _prepare(office, "gather_documents", {"subject_id": subject_id})
    assert set(result["documents"]) == documents


def test_gathered_order_includes_the_note_about_the_over_refund_request(office: BackOffice) -> None:
    result = _prepare(office, "gather_documents", {"subject_id": ids.OVER_REFUND_ORDER_ID})
    assert "N-7003" in {n["id"] for n in result["documents"]["notes"]}


def test_gather_documents_refuses_ids_it_cannot_gather(office: BackOffice) -> None:
    refused(office, "gather_documents", {"subject_id": "N-7001"}, "subject_id")
    refused(office, "gather_documents", {"subject_id": "C-9999"}, "subject_id")


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Please refund the chair, I want my money back.", "refund"),
        ("Your invoice 1187 is overdue, please arrange payment.", "payment"),
        ("We changed our bank details; new IBAN below. Urgent.", "bank_change"),
        ("I am very disappointed, the desk arrived broken and late.", "complaint"),
        ("Our lawyer says this is a breach of the liability clause.", "legal"),
        ("Can you give us a discount on the list price for 40 chairs?", "pricing"),
        ("Under GDPR, send me a copy of my data and then delete my account.", "data_request"),
        ("Please update our details: new e-mail is ap@acme.example", "account_update"),
        ("Hello there", "general"),
    ],
)
def test_classify_request_picks_the_category(text: str, category: str) -> None:
    assert classify(text)["category"] == category


def test_classify_request_is_deterministic_and_explains_itself(office: BackOffice) -> None:
    text = "URGENT: new bank details, please pay the invoice to our new IBAN today"
    first = _prepare(office, "classify_request", {"text": text})
    assert first == _prepare(office, "classify_request", {"text": text})
    assert first["category"] == "bank_change" and 0 < first["confidence"] < 1
    assert "bank_change: iban" in first["signals"] and "possible_payment_fraud" in first["flags"]


def test_summarize_record_reads_any_record_in_a_paragraph(office: BackOffice) -> None:
    held = _prepare(office, "summarize_record", {"record_id": ids.HOLD_CUSTOMER_ID})
    assert held["kind"] == "customer" and "COMPLIANCE HOLD" in held["summary"]
    vendor = _prepare(office, "summarize_record", {"record_id": ids.FRAUD_VENDOR_ID})
    assert ids.FRAUD_BANK_CHANGE_ID in vendor["summary"]
    others = [ids.OVER_REFUND_ORDER_ID, ids.FRAUD_INVOICE_ID, ids.CONTRACT_ID, ids.PRICING_PAGE_ID, "R-5001"]
    others += ["PAY-6001", ids.FRAUD_BANK_CHANGE_ID, "CL-4001", ids.FRAUD_NOTE_ID, "M-8001"]
    for record_id in others:
        assert _prepare(office, "summarize_record", {"record_id": record_id})["summary"]
    refused(office, "summarize_record", {"record_id": "ZZ-1"}, "record_id")


def test_draft_reply_writes_but_does_not_send(office: BackOffice) -> None:
    points = ["We refund 240.00 EUR for the scratched desk.", "The money arrives within 5 business days."]
    args = {"customer_id": ids.REFUND_CUSTOMER_ID, "topic": "your order O-1001", "points": points}
    draft = _prepare(office, "draft_reply", args)
    assert draft["sent"] is False and draft["to"] == "ap@acme-robotics.de"
    assert all(p in draft["body"] for p in points) and draft["subject"] == "Re: Your order O-1001"
    assert draft["send_with"]["tool"] == "send_customer_email"
    assert any("refund" in w for w in draft["warnings"])
    held = _prepare(office, "draft_reply", {**args, "customer_id": ids.HOLD_CUSTOMER_ID})
    assert held["warnings"][0].startswith("Would be refused: customer_id:")


def test_score_exception_ranks_the_fraudulent_bank_change_high_and_a_routine_refund_low(office: BackOffice) -> None:
    fraud = _prepare(office, "score_exception", {"tool": "change_vendor_bank_details", "arguments": FRAUD_CHANGE})
    assert fraud["level"] == "high" and fraud["score"] >= 0.8
    assert {"iban_country_differs", "lookalike_requester", "requested_before_due"} <= {
        f["code"] for f in fraud["factors"]
    }
    routine = {"customer_id": ids.REFUND_CUSTOMER_ID, "order_id": ids.REFUND_ORDER_ID, "amount": 45.0,
               "currency": "EUR", "reason": "Scratched lamp"}  # fmt: skip
    low = _prepare(office, "score_exception", {"tool": "issue_refund", "arguments": routine})
    assert low["level"] == "low" and low["score"] < fraud["score"]


def test_score_exception_compares_a_refund_with_the_customers_history(office: BackOffice) -> None:
    big = {"customer_id": ids.REFUND_CUSTOMER_ID, "order_id": ids.REFUND_ORDER_ID, "amount": 900.0,
           "currency": "EUR", "reason": "Whole desk returned"}  # fmt: skip
    result = _prepare(office, "score_exception", {"tool": "issue_refund", "arguments": big})
    assert "unusual_for_customer" in {f["code"] for f in result["factors"]}
    assert any("standard deviations" in r for r in result["reasons"])


def test_score_exception_refuses_tools_that_do_not_act(office: BackOffice) -> None:
    refused(office, "score_exception", {"tool": "get_customer", "arguments": {}}, "tool")


def test_approval_packet_bundles_preview_documents_and_score(office: BackOffice) -> None:
    packet = _prepare(
        office, "assemble_approval_packet", {"tool": "change_vendor_bank_details", "arguments": FRAUD_CHANGE}
    )
    assert packet["summary"].startswith(f"Change bank details of vendor {ids.FRAUD_VENDOR_ID}")
    assert packet["validation"] == {"valid": True, "error": None, "field": None}
    assert packet["preview"]["before"]["iban_country"] == "DE" and packet["preview"]["warnings"]
    assert packet["documents"]["subject"] == {"kind": "vendor", "id": ids.FRAUD_VENDOR_ID}
    assert packet["exception"]["level"] == "high" and packet["risk"] == "critical"


def test_approval_packet_reports_a_call_the_tool_would_refuse(office: BackOffice) -> None:
    over = {"customer_id": ids.OVER_REFUND_CUSTOMER_ID, "order_id": ids.OVER_REFUND_ORDER_ID, "amount": 560.0,
            "currency": "GBP", "reason": "Customer request"}  # fmt: skip
    packet = _prepare(office, "assemble_approval_packet", {"tool": "issue_refund", "arguments": over})
    assert packet["validation"]["valid"] is False and "above the order total" in packet["validation"]["error"]
    schema_bad = _prepare(office, "assemble_approval_packet", {"tool": "issue_refund", "arguments": {"amount": -1}})
    assert schema_bad["validation"]["valid"] is False and schema_bad["validation"]["field"]
    refused(office, "assemble_approval_packet", {"tool": "search_orders", "arguments": {}}, "tool")


def test_score_exception_names_the_currency_of_a_customers_usual_refund(office: BackOffice) -> None:
    big = {"customer_id": ids.REFUND_CUSTOMER_ID, "order_id": ids.REFUND_ORDER_ID, "amount": 900.0,
           "currency": "EUR", "reason": "Whole desk returned"}  # fmt: skip
    result = _prepare(office, "score_exception", {"tool": "issue_refund", "arguments": big})
    reasons = [r for r in result["reasons"] if "customer's past refunds" in r]
    assert len(reasons) == 1
    assert re.search(r"\(mean [\d,]+\.\d\d EUR\)$", reasons[0]), reasons[0]
