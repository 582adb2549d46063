"""pay_invoice: pays the open amount once, to the IBAN on file, never twice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.tools.support import call, changed_tables, preview, refused
from tools.backoffice import BackOffice, ids


def _pay(**overrides: Any) -> dict[str, Any]:
    args = {"vendor_id": ids.PAYABLE_VENDOR_ID, "invoice_id": ids.PAYABLE_INVOICE_ID,
            "amount": float(ids.PAYABLE_INVOICE_AMOUNT), "currency": "EUR"}  # fmt: skip
    return {**args, **overrides}


def _invoice(office: BackOffice, invoice_id: str) -> dict[str, Any]:
    return next(i for i in office.dump()["bo_invoice"] if i["id"] == invoice_id)


def test_invoice_is_paid_to_the_vendors_iban_and_marked_paid(office: BackOffice) -> None:
    before = office.dump()
    result = call(office, "pay_invoice", _pay(), key="call-1")
    vendor = next(v for v in before["bo_vendor"] if v["id"] == ids.PAYABLE_VENDOR_ID)
    assert result["paid_to_iban"] == vendor["iban"] and result["amount"] == "1284.50"
    assert changed_tables(before, office.dump()) == {"bo_payment", "bo_invoice"}
    assert _invoice(office, ids.PAYABLE_INVOICE_ID)["status"] == "paid"
    [payment] = [p for p in office.dump()["bo_payment"] if p["invoice_id"] == ids.PAYABLE_INVOICE_ID]
    assert payment["amount_cents"] == 128450 and payment["idempotency_key"] == "call-1"


def test_same_key_pays_once_and_returns_the_original_result(office: BackOffice) -> None:
    first = call(office, "pay_invoice", _pay(), key="call-1")
    snapshot = office.dump()
    assert call(office, "pay_invoice", _pay(), key="call-1") == first
    assert office.dump() == snapshot


def test_a_new_key_cannot_pay_a_paid_invoice_again(office: BackOffice) -> None:
    call(office, "pay_invoice", _pay(), key="call-1")
    assert "already paid" in refused(office, "pay_invoice", _pay(), "invoice_id", key="call-2")


def test_partly_paid_invoice_takes_exactly_its_open_amount(office: BackOffice) -> None:
    args = _pay(invoice_id=ids.PARTLY_PAID_INVOICE_ID, amount=2000.0)
    assert "1,500.00 EUR" in refused(office, "pay_invoice", args, "amount")
    result = call(office, "pay_invoice", {**args, "amount": float(ids.PARTLY_PAID_OPEN_AMOUNT)})
    assert result["invoice_status"] == "paid"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 1284.49}, "amount"),
        ({"amount": 1284.505}, "amount"),
        ({"amount": 0}, "amount"),
        ({"currency": "GBP"}, "currency"),
        ({"currency": "EURO"}, "currency"),
        ({"vendor_id": "V-999"}, "vendor_id"),
        ({"invoice_id": "INV-9999"}, "invoice_id"),
        ({"invoice_id": ids.FRAUD_INVOICE_ID}, "invoice_id"),  # another vendor's invoice
        ({"invoice_id": ids.PAID_INVOICE_ID, "amount": 860.0}, "invoice_id"),
    ],
)
def test_invalid_payment_is_refused_naming_the_field_without_effect(
    office: BackOffice, overrides: dict[str, Any], field: str
) -> None:
    refused(office, "pay_invoice", _pay(**overrides), field)


def test_payment_preview_warns_about_the_pending_fraudulent_bank_change(office: BackOffice) -> None:
    args = _pay(vendor_id=ids.FRAUD_VENDOR_ID, invoice_id=ids.FRAUD_INVOICE_ID, amount=float(ids.FRAUD_INVOICE_AMOUNT))
    shown = preview(office, "pay_invoice", args)
    assert shown.before is not None and shown.before["open_amount"] == "48,750.00 EUR"
    assert shown.after is not None and shown.after["invoice_status"] == "paid"
    assert shown.context["pays_to"]["iban"].startswith("DE")
    assert any("lookalike" in w and ids.FRAUD_BANK_CHANGE_ID in w for w in shown.warnings)


def test_first_payment_to_a_new_vendor_is_flagged(office: BackOffice) -> None:
    args = _pay(vendor_id=ids.NEW_VENDOR_ID, invoice_id=ids.NEW_VENDOR_INVOICE_ID, amount=3960.0)
    shown = preview(office, "pay_invoice", args)
    assert any(w.startswith("First payment") for w in shown.warnings)


def test_an_unusually_large_payment_names_the_currency_of_the_usual_amount(office: BackOffice) -> None:
    args = {"vendor_id": ids.FRAUD_VENDOR_ID, "invoice_id": ids.FRAUD_INVOICE_ID,
            "amount": float(ids.FRAUD_INVOICE_AMOUNT), "currency": "EUR"}  # fmt: skip
    shown = preview(office, "pay_invoice", args)
    unusual = [w for w in shown.warnings if "above the usual" in w]
    assert len(unusual) == 1
    assert re.search(r"\(mean [\d,]+\.\d\d EUR\)$", unusual[0]), unusual[0]
