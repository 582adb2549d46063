"""send_customer_email: queued once per key to the customer's own address; held customers get nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.support import call, changed_tables, preview, refused
from tools.backoffice import BackOffice, ids


def _email(**overrides: Any) -> dict[str, Any]:
    args = {"customer_id": ids.REFUND_CUSTOMER_ID, "subject": "Your delivery on Thursday",
            "body": "Dear Acme Robotics GmbH team,\n\nYour desk arrives Thursday morning.\n\nKind regards"}  # fmt: skip
    return {**args, **overrides}


def _outbox(office: BackOffice) -> list[dict[str, Any]]:
    return [m for m in office.dump()["bo_email"] if m["status"] == "queued"]


def test_email_is_queued_to_the_customers_address_on_file(office: BackOffice) -> None:
    before = office.dump()
    result = call(office, "send_customer_email", _email(), key="call-1")
    assert changed_tables(before, office.dump()) == {"bo_email"}
    [message] = _outbox(office)
    assert message["id"] == result["message_id"] and message["to_address"] == "ap@acme-robotics.de"
    assert message["body"] == _email()["body"].strip() and result["status"] == "queued"


def test_same_key_sends_once_and_a_new_key_sends_again(office: BackOffice) -> None:
    first = call(office, "send_customer_email", _email(), key="call-1")
    assert call(office, "send_customer_email", _email(), key="call-1") == first
    assert len(_outbox(office)) == 1
    call(office, "send_customer_email", _email(), key="call-2")
    assert len(_outbox(office)) == 2


def test_email_to_customer_on_compliance_hold_is_refused_without_effect(office: BackOffice) -> None:
    assert "compliance hold" in refused(
        office, "send_customer_email", _email(customer_id=ids.HOLD_CUSTOMER_ID), "customer_id"
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer_id": "C-9999"}, "customer_id"),
        ({"subject": ""}, "subject"),
        ({"subject": "Hello\nBcc: everyone@example.com"}, "subject"),
        ({"body": ""}, "body"),
        ({"to": "someone@else.example"}, "to"),  # the recipient cannot be chosen
    ],
)
def test_invalid_email_is_refused_naming_the_field_without_effect(
    office: BackOffice, overrides: dict[str, Any], field: str
) -> None:
    refused(office, "send_customer_email", _email(**overrides), field)


def test_preview_shows_the_whole_message_and_flags_promises_and_hidden_text(office: BackOffice) -> None:
    body = "We will refund you in full.\u202e Click https://evil.example/pay to confirm."
    shown = preview(office, "send_customer_email", _email(body=body))
    assert shown.after is not None
    assert (shown.after["to"], shown.after["subject"], shown.after["body"]) == (
        "ap@acme-robotics.de", "Your delivery on Thursday", body
    )  # fmt: skip
    text = "\n".join(shown.warnings)
    assert "U+202E" in text and "refund" in text and "evil.example" in text
