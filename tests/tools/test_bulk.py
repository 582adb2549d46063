"""Bulk export and bulk delete: blocked by default policy, but correct and all-or-nothing when run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.tools.support import REGISTRY, call, changed_tables, preview, refused
from tools.backoffice import BackOffice, ids


def test_bulk_tools_are_blocked_by_default() -> None:
    assert REGISTRY["bulk_export_customer_data"].action == "block"
    assert REGISTRY["bulk_delete_customers"].action == "block"
    assert REGISTRY["bulk_delete_customers"].hints.destructive


def test_export_records_which_customers_were_exported_and_where(office: BackOffice) -> None:
    before = office.dump()
    result = call(office, "bulk_export_customer_data", {"segment": "country:DE", "destination": "s3://bucket/x.csv"})
    assert changed_tables(before, office.dump()) == {"bo_export"}
    german = sorted(c["id"] for c in before["bo_customer"] if c["country"] == "DE")
    [export] = office.dump()["bo_export"]
    assert sorted(json.loads(export["customer_ids"])) == german and result["customer_count"] == len(german)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"segment": "everyone", "destination": "s3://b/x"}, "segment"),
        ({"segment": "all", "destination": "ftp://somewhere"}, "destination"),
        ({"segment": "all", "destination": ""}, "destination"),
    ],
)
def test_invalid_export_is_refused_naming_the_field_without_effect(
    office: BackOffice, arguments: dict[str, Any], field: str
) -> None:
    refused(office, "bulk_export_customer_data", arguments, field)


def test_export_preview_counts_the_customers_and_warns_about_external_destinations(office: BackOffice) -> None:
    shown = preview(
        office, "bulk_export_customer_data", {"segment": "all", "destination": "https://files.example.net/"}
    )
    assert shown.after is not None and shown.after["customers"] == len(office.dump()["bo_customer"])
    text = "\n".join(shown.warnings)
    assert "outside the company" in text and ids.HOLD_CUSTOMER_ID in text


def _deletable(office: BackOffice) -> list[str]:
    data = office.dump()
    kept = {r["customer_id"] for r in data["bo_refund"] if r["status"] == "issued"}
    kept |= {c["customer_id"] for c in data["bo_contract"]}
    return [c["id"] for c in data["bo_customer"] if not c["compliance_hold"] and c["id"] not in kept]


def test_bulk_delete_removes_every_listed_customer(office: BackOffice) -> None:
    deletable = _deletable(office)[:2]
    assert ids.DELETABLE_CUSTOMER_ID in _deletable(office)
    result = call(office, "bulk_delete_customers", {"customer_ids": deletable, "reason": "Requested erasure"})
    assert result["deleted"] == deletable
    assert not {c["id"] for c in office.dump()["bo_customer"]} & set(deletable)
    assert len(office.dump()["bo_deletion"]) == 2


def test_bulk_delete_is_all_or_nothing(office: BackOffice) -> None:
    args = {"customer_ids": [ids.DELETABLE_CUSTOMER_ID, ids.HOLD_CUSTOMER_ID], "reason": "Cleanup"}
    assert "compliance hold" in refused(office, "bulk_delete_customers", args, "customer_ids.1")
    refused(office, "bulk_delete_customers", {"customer_ids": ["C-1004", "C-1004"], "reason": "Dup"}, "customer_ids")
    refused(office, "bulk_delete_customers", {"customer_ids": ["1004"], "reason": "Dup"}, "customer_ids.0")
