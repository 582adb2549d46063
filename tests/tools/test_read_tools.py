"""Read tools: find and fetch records; they never write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.tools.support import call, refused
from tools.backoffice import BackOffice, ids


def _read(office: BackOffice, tool: str, arguments: dict[str, Any]) -> Any:
    before = office.dump()
    result = call(office, tool, arguments)
    assert office.dump() == before
    json.dumps(result)  # what a tool returns must travel as JSON
    return result


def test_search_customers_matches_name_email_and_country_case_insensitively(office: BackOffice) -> None:
    assert [c["id"] for c in _read(office, "search_customers", {"query": "ACME"})["customers"]] == [
        ids.REFUND_CUSTOMER_ID
    ]
    assert _read(office, "search_customers", {"query": "juniper-cafe.fr"})["customers"][0]["id"] == "C-1004"
    found = _read(office, "search_customers", {"query": "", "limit": 5})
    assert len(found["customers"]) == 5 and found["count"] == len(office.dump()["bo_customer"])
    assert _read(office, "search_customers", {"query": "100%_"})["count"] == 0  # wildcards are literal


def test_get_customer_shows_orders_refunds_contracts_and_hold(office: BackOffice) -> None:
    acme = _read(office, "get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID})
    assert {o["id"] for o in acme["orders"]} >= {ids.REFUND_ORDER_ID, "O-1002"}
    assert acme["totals"]["EUR"]["refunded"] == "143.50" and acme["contracts"][0]["id"] == ids.CONTRACT_ID
    held = _read(office, "get_customer", {"customer_id": ids.HOLD_CUSTOMER_ID})
    assert held["customer"]["compliance_hold"] is True and "CMP-2291" in held["customer"]["hold_reason"]


def test_search_orders_filters_by_customer_and_status(office: BackOffice) -> None:
    result = _read(office, "search_orders", {"customer_id": ids.REFUND_CUSTOMER_ID, "status": "delivered"})
    assert result["count"] == 4 and all(o["customer_id"] == ids.REFUND_CUSTOMER_ID for o in result["orders"])
    assert _read(office, "search_orders", {"status": "cancelled"})["count"] >= 1
    refused(office, "search_orders", {"status": "lost"}, "status")


def test_get_order_shows_refunded_and_refundable(office: BackOffice) -> None:
    order = _read(office, "get_order", {"order_id": ids.OVER_REFUND_ORDER_ID})
    assert (order["order"]["total"], order["refunded"], order["refundable"]) == ("480.00", "0.00", "480.00")
    assert order["refunds"][0]["status"] == "requested"


def test_invoices_show_their_open_amount(office: BackOffice) -> None:
    open_invoices = _read(office, "search_invoices", {"vendor_id": ids.PAYABLE_VENDOR_ID, "status": "open"})["invoices"]
    assert {i["id"]: i["open_amount"] for i in open_invoices} == {
        ids.PAYABLE_INVOICE_ID: "1284.50", ids.PARTLY_PAID_INVOICE_ID: "1500.00"
    }  # fmt: skip
    invoice = _read(office, "get_invoice", {"invoice_id": ids.FRAUD_INVOICE_ID})
    assert invoice["pending_bank_changes"][0]["id"] == ids.FRAUD_BANK_CHANGE_ID


def test_vendor_lookup_shows_bank_details_and_pending_changes(office: BackOffice) -> None:
    assert _read(office, "search_vendors", {"query": "nordlicht"})["vendors"][0]["id"] == ids.FRAUD_VENDOR_ID
    vendor = _read(office, "get_vendor", {"vendor_id": ids.FRAUD_VENDOR_ID})
    assert vendor["vendor"]["iban"].startswith("DE") and vendor["payments"]["count"] == 6
    assert [c["status"] for c in vendor["bank_changes"]] == ["pending"]


def test_contract_and_pricing_page_come_with_their_parts(office: BackOffice) -> None:
    contract = _read(office, "get_contract", {"contract_id": ids.CONTRACT_ID})
    assert [c["clause_id"] for c in contract["clauses"]] == list(ids.CONTRACT_CLAUSE_IDS)
    page = _read(office, "get_pricing_page", {"page_id": ids.PRICING_PAGE_ID})
    assert page["page"]["list_price"] == "649.00" and len(page["claims"]) == 3


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("get_customer", {"customer_id": "C-404"}, "customer_id"),
        ("get_order", {"order_id": "1001"}, "order_id"),
        ("get_invoice", {"invoice_id": "INV-1"}, "invoice_id"),
        ("get_vendor", {"vendor_id": "V-1"}, "vendor_id"),
        ("get_contract", {"contract_id": "CTR-1"}, "contract_id"),
        ("get_pricing_page", {"page_id": "PG-1"}, "page_id"),
        ("search_customers", {"query": "a", "limit": 0}, "limit"),
    ],
)
def test_unknown_ids_are_refused_naming_the_field(
    office: BackOffice, tool: str, arguments: dict[str, Any], field: str
) -> None:
    refused(office, tool, arguments, field)
