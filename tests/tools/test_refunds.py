"""issue_refund: refunds money once per key, never beyond the order total, never for a held customer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.support import call, changed_tables, preview, refused
from tools.backoffice import BackOffice, ids
from tools.contract import ToolInputError


def _refund(**overrides: Any) -> dict[str, Any]:
    args = {"customer_id": ids.REFUND_CUSTOMER_ID, "order_id": ids.REFUND_ORDER_ID, "amount": 240.0,
            "currency": "EUR", "reason": "Desk top arrived scratched"}  # fmt: skip
    return {**args, **overrides}


def _issued(office: BackOffice, order_id: str) -> list[dict[str, Any]]:
    return [r for r in office.dump()["bo_refund"] if r["order_id"] == order_id and r["status"] == "issued"]


def test_refund_is_issued_and_recorded_against_the_order(office: BackOffice) -> None:
    before = office.dump()
    result = call(office, "issue_refund", _refund(), key="call-1")
    assert result["status"] == "issued"
    assert (result["amount"], result["refunded_total"], result["remaining_refundable"]) == (
        "240.00",
        "240.00",
        "700.00",
    )
    assert changed_tables(before, office.dump()) == {"bo_refund"}
    [row] = _issued(office, ids.REFUND_ORDER_ID)
    assert (row["id"], row["amount_cents"], row["currency"], row["idempotency_key"]) == (
        result["refund_id"], 24000, "EUR", "call-1"
    )  # fmt: skip


def test_same_key_refunds_once_and_returns_the_original_result(office: BackOffice) -> None:
    first = call(office, "issue_refund", _refund(), key="call-1")
    after_first = office.dump()
    again = call(office, "issue_refund", _refund(amount=240), key="call-1")  # 240 == 240.0: the same request
    assert again == first
    assert office.dump() == after_first


def test_a_new_key_refunds_again_until_the_order_total_is_reached(office: BackOffice) -> None:
    call(office, "issue_refund", _refund(amount=900), key="call-1")
    second = call(office, "issue_refund", _refund(amount=40), key="call-2")
    assert second["remaining_refundable"] == "0.00" and second["order_status"] == "refunded"
    assert len(_issued(office, ids.REFUND_ORDER_ID)) == 2
    message = refused(office, "issue_refund", _refund(amount=0.01), "amount", key="call-3")
    assert "above the order total" in message


def test_reusing_a_key_for_a_different_refund_is_refused_without_effect(office: BackOffice) -> None:
    call(office, "issue_refund", _refund(), key="call-1")
    refused(office, "issue_refund", _refund(amount=10), "idempotency_key", key="call-1")


def test_refund_above_order_total_is_refused_without_effect(office: BackOffice) -> None:
    args = _refund(customer_id=ids.OVER_REFUND_CUSTOMER_ID, order_id=ids.OVER_REFUND_ORDER_ID,
                   amount=float(ids.OVER_REFUND_REQUESTED), currency="GBP")  # fmt: skip
    message = refused(office, "issue_refund", args, "amount")
    assert "480.00 GBP" in message and "560.00 GBP" in message


def test_refund_for_customer_on_compliance_hold_is_refused_without_effect(office: BackOffice) -> None:
    args = _refund(customer_id=ids.HOLD_CUSTOMER_ID, order_id=ids.HOLD_ORDER_ID, amount=100, currency="SEK")
    assert "compliance hold" in refused(office, "issue_refund", args, "customer_id")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -10}, "amount"),
        ({"amount": 10.005}, "amount"),
        ({"amount": "lots"}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"currency": "XXX"}, "currency"),
        ({"reason": ""}, "reason"),
        ({"customer_id": "C-9999"}, "customer_id"),
        ({"customer_id": "acme"}, "customer_id"),
        ({"order_id": "O-9999"}, "order_id"),
        ({"order_id": "O-1005"}, "order_id"),  # another customer's order
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_refund_is_refused_naming_the_field_without_effect(
    office: BackOffice, overrides: dict[str, Any], field: str
) -> None:
    refused(office, "issue_refund", _refund(**overrides), field)


def test_refund_requires_an_idempotency_key(office: BackOffice) -> None:
    with pytest.raises(ToolInputError) as caught:
        call(office, "issue_refund", _refund(), key="")
    assert caught.value.field == "idempotency_key"


def test_refund_preview_shows_order_before_and_after_and_warns_above_total(office: BackOffice) -> None:
    args = _refund(customer_id=ids.OVER_REFUND_CUSTOMER_ID, order_id=ids.OVER_REFUND_ORDER_ID, amount=560.0,
                   currency="GBP")  # fmt: skip
    shown = preview(office, "issue_refund", args)
    assert shown.before == {"order_status": "delivered", "order_total": "480.00 GBP", "refunded": "0.00 GBP",
                              "refundable": "480.00 GBP"}  # fmt: skip
    assert shown.after is not None and shown.after["refundable"] == "-80.00 GBP"
    assert any("above the order total" in w for w in shown.warnings)
    assert shown.warnings[0].startswith("Would be refused: amount:")
    assert [r["id"] for r in shown.context["refunds_on_order"]] == [ids.OVER_REFUND_REQUEST_ID]
