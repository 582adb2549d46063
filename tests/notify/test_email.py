"""E-mail through a real SMTP server (aiosmtpd on 127.0.0.1) with SMTP AUTH from the URL."""

from __future__ import annotations

import pytest

from server.notify.channels import DeliveryFailed, Message
from server.notify.email import EmailChannel, SmtpSettings
from server.store.types import utcnow
from tests.notify.mailserver import PASSWORD, USER, Inbox

SMUGGLED = "Refund O-1\u202e\u200b\r\nBcc: attacker@example.com"


def _message(summary: str = SMUGGLED) -> Message:
    payload = {
        "call": {"id": "c1", "tool": "issue_refund", "summary": summary, "queue": "finance", "risk": "high"},
        "reason": "refunds need a person",
    }
    return Message("ev-123", "call.held", utcnow(), payload, "https://countersign.example/calls/c1")


def _channel(inbox: Inbox, password: str = PASSWORD) -> EmailChannel:
    url = f"smtp://{USER}:{password}@127.0.0.1:{inbox.port}?starttls=false"
    return EmailChannel(SmtpSettings.from_url(url), sender="countersign@example.com", timeout=5)


def test_held_call_mail_reaches_the_recipient_with_the_packet_link_and_nothing_hidden(inbox: Inbox) -> None:
    _channel(inbox).send(_message(), "lead@example.com")
    [(recipients, mail)] = inbox.mails
    assert recipients == ["lead@example.com"]  # the smuggled Bcc line did not add anyone
    assert mail["Bcc"] is None
    subject = str(mail["Subject"])
    assert subject.startswith("[Countersign] Waiting for your decision: Refund O-1[U+202E][U+200B]")
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html_part = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    for body in (subject, text, html_part):
        assert "\u202e" not in body and "\u200b" not in body
        assert PASSWORD not in body
    assert "https://countersign.example/calls/c1" in text and 'href="https://countersign.example/calls/c1"' in html_part
    assert mail["X-Countersign-Event-Id"] == "ev-123"


def test_wrong_smtp_password_is_a_delivery_failure_that_names_no_secret(inbox: Inbox) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        _channel(inbox, password="wrong").send(_message("Refund"), "lead@example.com")
    assert "wrong" not in str(failed.value) and inbox.mails == []


def test_smtp_url_with_starttls_is_understood() -> None:
    s = SmtpSettings.from_url("smtp://u%40x:p%3Aw@mail.example.com:587?starttls=true")
    assert (s.host, s.port, s.username, s.password, s.starttls) == ("mail.example.com", 587, "u@x", "p:w", True)
