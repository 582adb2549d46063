"""update_customer_record and delete_record: logged changes, kept financial history, a full deletion log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.tools.support import call, changed_tables, preview, refused
from tools.backoffice import BackOffice, ids


def _customer(office: BackOffice, customer_id: str) -> dict[str, Any] | None:
    return next((c for c in office.dump()["bo_customer"] if c["id"] == customer_id), None)


def test_customer_fields_change_and_each_change_is_logged(office: BackOffice) -> None:
    before = office.dump()
    changes = {"email": "Finance@Acme-Robotics.de", "tier": "enterprise", "phone": "+49 89 5550 2000"}
    result = call(office, "update_customer_record", {"customer_id": ids.REFUND_CUSTOMER_ID, "changes": changes})
    # The tier was already "enterprise": only real changes are made and logged.
    assert result["changed"] == {
        "email": {"from": "ap@acme-robotics.de", "to": "finance@acme-robotics.de"},
        "phone": {"from": "+49 89 5550 1001", "to": "+49 89 5550 2000"},
    }
    assert changed_tables(before, office.dump()) == {"bo_customer", "bo_record_change"}
    assert _customer(office, ids.REFUND_CUSTOMER_ID)["email"] == "finance@acme-robotics.de"  # type: ignore[index]
    logged = {(c["field"], c["old_value"], c["new_value"]) for c in office.dump()["bo_record_change"]}
    assert ("email", "ap@acme-robotics.de", "finance@acme-robotics.de") in logged and len(logged) == 2


@pytest.mark.parametrize(
    ("changes", "field", "why"),
    [
        ({}, "changes", ""),
        ({"compliance_hold": "false"}, "changes.compliance_hold", "compliance"),
        ({"favourite_colour": "blue"}, "changes.favourite_colour", "editable"),
        ({"email": "not-an-address"}, "changes.email", "e-mail"),
        ({"email": "orders@bluebell-florists.co.uk"}, "changes.email", ids.OVER_REFUND_CUSTOMER_ID),
        ({"tier": "platinum"}, "changes.tier", "free, pro, enterprise"),
        ({"country": "XX"}, "changes.country", "country"),
        ({"phone": "call me"}, "changes.phone", "phone"),
        ({"name": "Acme Robotics GmbH"}, "changes", "nothing would change"),
    ],
)
def test_invalid_customer_update_is_refused_naming_the_field_without_effect(
    office: BackOffice, changes: dict[str, str], field: str, why: str
) -> None:
    args = {"customer_id": ids.REFUND_CUSTOMER_ID, "changes": changes}
    assert why in refused(office, "update_customer_record", args, field)


def test_update_preview_shows_current_values_beside_new_ones(office: BackOffice) -> None:
    args = {"customer_id": ids.REFUND_CUSTOMER_ID, "changes": {"email": "new@acme.example", "country": "AT"}}
    shown = preview(office, "update_customer_record", args)
    assert shown.before == {"email": "ap@acme-robotics.de", "country": "DE"}
    assert shown.after == {"email": "new@acme.example", "country": "AT"}
    assert any("e-mail" in w for w in shown.warnings) and any("Country" in w for w in shown.warnings)


def test_deleting_a_customer_removes_its_orders_and_notes_and_logs_them(office: BackOffice) -> None:
    before = office.dump()
    args = {"record_type": "customer", "record_id": ids.DELETABLE_CUSTOMER_ID, "reason": "Duplicate account"}
    result = call(office, "delete_record", args)
    assert result["removed"] == {
        "bo_customer": [ids.DELETABLE_CUSTOMER_ID],
        "bo_order": [ids.DELETABLE_ORDER_ID],
        "bo_note": [ids.DELETABLE_NOTE_ID],
    }
    assert changed_tables(before, office.dump()) == {"bo_customer", "bo_order", "bo_note", "bo_deletion"}
    assert _customer(office, ids.DELETABLE_CUSTOMER_ID) is None
    [log] = office.dump()["bo_deletion"]
    assert json.loads(log["removed"])["bo_customer"][0]["email"] == "bonjour@juniper-cafe.fr"


def test_deleting_a_note_removes_only_the_note(office: BackOffice) -> None:
    before = office.dump()
    call(office, "delete_record", {"record_type": "note", "record_id": ids.DELETABLE_NOTE_ID, "reason": "Obsolete"})
    assert changed_tables(before, office.dump()) == {"bo_note", "bo_deletion"}


@pytest.mark.parametrize(
    ("record_type", "record_id", "why"),
    [
        ("customer", ids.HOLD_CUSTOMER_ID, "compliance hold"),
        ("customer", ids.REFUND_CUSTOMER_ID, "issued refunds"),
        ("order", "O-1002", "issued refunds"),
        ("invoice", ids.PAID_INVOICE_ID, "payments"),
        ("vendor", ids.PAYABLE_VENDOR_ID, "been paid"),
        ("customer", "C-9999", "no customer"),
        ("customer", ids.REFUND_ORDER_ID, "not a customer id"),
    ],
)
def test_delete_that_would_lose_kept_records_is_refused_without_effect(
    office: BackOffice, record_type: str, record_id: str, why: str
) -> None:
    args = {"record_type": record_type, "record_id": record_id, "reason": "Cleanup"}
    assert why in refused(office, "delete_record", args, "record_id")


def test_unknown_record_type_is_refused(office: BackOffice) -> None:
    refused(office, "delete_record", {"record_type": "contract", "record_id": ids.CONTRACT_ID, "reason": "x y z"},
            "record_type")  # fmt: skip


def test_delete_preview_lists_everything_the_delete_would_remove(office: BackOffice) -> None:
    shown = preview(office, "delete_record", {"record_type": "vendor", "record_id": ids.NEW_VENDOR_ID, "reason": "Dup"})
    assert shown.before is not None and shown.before["record"]["id"] == ids.NEW_VENDOR_ID
    assert shown.after == {"record": None}
    assert shown.context["would_remove"]["bo_invoice"] == [ids.NEW_VENDOR_INVOICE_ID]
    refused_preview = preview(office, "delete_record", {"record_type": "customer", "record_id": ids.HOLD_CUSTOMER_ID})
    assert refused_preview.warnings[0].startswith("Would be refused: record_id:")
