"""change_vendor_bank_details: valid identifiers only, history kept, fraud made visible in the preview."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.support import call, changed_tables, preview, refused
from tools.backoffice import BackOffice, ids
from tools.banking import make_iban


def _change(**overrides: Any) -> dict[str, Any]:
    args = {"vendor_id": ids.PAYABLE_VENDOR_ID, "iban": "NL91 ABNA 0417 1643 00", "bic": "ABNANL2A",
            "account_holder": "Brightdesk BV", "reason": "Vendor moved banks; confirmed by call-back"}  # fmt: skip
    return {**args, **overrides}


def _vendor(office: BackOffice, vendor_id: str) -> dict[str, Any]:
    return next(v for v in office.dump()["bo_vendor"] if v["id"] == vendor_id)


def test_bank_details_change_and_the_old_ones_are_kept_in_history(office: BackOffice) -> None:
    old = _vendor(office, ids.PAYABLE_VENDOR_ID)
    before = office.dump()
    result = call(office, "change_vendor_bank_details", _change())
    assert changed_tables(before, office.dump()) == {"bo_vendor", "bo_bank_change"}
    vendor = _vendor(office, ids.PAYABLE_VENDOR_ID)
    assert (vendor["iban"], vendor["bic"]) == ("NL91ABNA0417164300", "ABNANL2A")
    assert result["previous"]["iban"] == old["iban"] and result["fulfilled_request"] is None
    change = next(c for c in office.dump()["bo_bank_change"] if c["id"] == result["change_id"])
    assert (change["status"], change["previous_iban"], change["iban"]) == ("applied", old["iban"], vendor["iban"])


def test_applying_a_pending_request_marks_it_applied(office: BackOffice) -> None:
    args = _change(vendor_id=ids.FRAUD_VENDOR_ID, iban=ids.FRAUD_NEW_IBAN, bic=ids.FRAUD_NEW_BIC,
                   account_holder="Nordlicht Logistik GmbH")  # fmt: skip
    result = call(office, "change_vendor_bank_details", args)
    assert result["fulfilled_request"] == ids.FRAUD_BANK_CHANGE_ID
    change = next(c for c in office.dump()["bo_bank_change"] if c["id"] == ids.FRAUD_BANK_CHANGE_ID)
    assert change["status"] == "applied" and change["previous_iban"].startswith("DE")


@pytest.mark.parametrize(
    ("overrides", "field", "why"),
    [
        ({"iban": "NL91ABNA0417164301"}, "iban", "checksum"),
        ({"iban": "NL91ABNA041716430"}, "iban", "18 characters"),
        ({"iban": "ZZ91ABNA0417164300"}, "iban", "not supported"),
        ({"bic": "ABN-NL2A"}, "bic", "not a BIC"),
        ({"account_holder": " "}, "account_holder", "at least"),
        ({"reason": ""}, "reason", ""),
        ({"vendor_id": "V-999"}, "vendor_id", "no vendor"),
        ({"vendor_id": "supplier"}, "vendor_id", "pattern"),
    ],
)
def test_invalid_bank_details_are_refused_naming_the_field_without_effect(
    office: BackOffice, overrides: dict[str, Any], field: str, why: str
) -> None:
    assert why in refused(office, "change_vendor_bank_details", _change(**overrides), field)


def test_current_details_are_refused_as_no_change(office: BackOffice) -> None:
    vendor = _vendor(office, ids.PAYABLE_VENDOR_ID)
    args = _change(iban=vendor["iban"], bic=vendor["bic"], account_holder=vendor["account_holder"])
    assert "already" in refused(office, "change_vendor_bank_details", args, "iban")


def test_preview_of_the_fraudulent_change_shows_both_accounts_and_every_red_flag(office: BackOffice) -> None:
    args = _change(vendor_id=ids.FRAUD_VENDOR_ID, iban=ids.FRAUD_NEW_IBAN, bic=ids.FRAUD_NEW_BIC,
                   account_holder="Nordlicht Logistik GmbH", reason="Vendor e-mailed new details")  # fmt: skip
    shown = preview(office, "change_vendor_bank_details", args)
    assert shown.before is not None and shown.before["iban_country"] == "DE"
    assert shown.after is not None and shown.after["iban"] == ids.FRAUD_NEW_IBAN
    text = "\n".join(shown.warnings)
    assert "New IBAN country LT differs" in text
    assert "lookalike" in text and ids.FRAUD_REQUESTER in text
    assert ids.FRAUD_INVOICE_ID in text and "days before" in text
    assert [n["id"] for n in shown.context["notes"]] == [ids.FRAUD_NOTE_ID]


def test_preview_of_an_unsolicited_change_asks_for_a_call_back(office: BackOffice) -> None:
    shown = preview(office, "change_vendor_bank_details", _change(iban=make_iban("DE", "370400440532013000")))
    assert any("No pending request" in w for w in shown.warnings)
    assert any("differs from the vendor's country NL" in w for w in shown.warnings)
