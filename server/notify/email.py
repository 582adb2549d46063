"""E-mail over SMTP: one message per event, plain text and HTML, linking to the packet.

``COUNTERSIGN_SMTP_URL`` says where and how: ``smtp://user:pass@host:587?starttls=true`` (STARTTLS),
``smtps://user:pass@host:465`` (TLS from the start) or ``smtp://host:25`` (a local relay). The mail
never carries the call's arguments or any secret, and nothing is decided by following its link: the
link opens the packet after sign-in.
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from server.notify.channels import DeliveryFailed, Message
from server.notify.digest import DIGEST_EVENT
from server.notify.plain import shown

HEADLINES = {
    "call.held": "Waiting for your decision",
    "call.decided": "Decided",
    "call.executed": "Executed",
    "call.failed": "Failed",
    "call.expired": "Expired: nobody decided in time",
    "call.sla_at_risk": "SLA at risk: 80% of the time to decide is used",
    "call.escalated": "Escalated: the SLA has passed",
}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    implicit_tls: bool

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        """Parse ``COUNTERSIGN_SMTP_URL``.

        Raises:
            ValueError: not an smtp:// or smtps:// URL with a host.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("COUNTERSIGN_SMTP_URL must look like smtp://user:pass@host:587?starttls=true")
        query = parse_qs(parts.query)
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 587),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            starttls=not implicit and query.get("starttls", ["false"])[0].lower() in ("true", "1", "yes"),
            implicit_tls=implicit,
        )


def compose(message: Message, *, sender: str, to: str) -> EmailMessage:
    """The mail for one event: subject, plain text and HTML alternative."""
    call = message.payload.get("call") or {}
    headline = HEADLINES.get(message.event_type, message.event_type)
    summary = shown(str(call.get("summary") or call.get("tool") or "a call"), limit=120)
    facts = _facts(message)
    mail = EmailMessage()
    mail["Subject"] = f"[Countersign] {headline}: {summary}"
    mail["From"] = sender
    mail["To"] = to
    mail["Message-ID"] = make_msgid(idstring=message.event_id[:16], domain="countersign")
    mail["X-Countersign-Event-Id"] = message.event_id
    link = message.packet_url or ""
    text_lines = [f"{headline}", "", summary, "", *(f"{k}: {v}" for k, v in facts)]
    if link:
        text_lines += ["", f"Open the packet (sign-in required): {link}"]
    text_lines += ["", "Nothing is approved by following this link; decide on the packet page."]
    mail.set_content("\n".join(text_lines) + "\n")
    rows = "".join(f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
    button = f'<p><a href="{html.escape(link)}">Open the packet</a> (sign-in required)</p>' if link else ""
    mail.add_alternative(
        f"<html><body><h2>{html.escape(headline)}</h2><p>{html.escape(summary)}</p>"
        f"<table>{rows}</table>{button}"
        "<p><small>Nothing is approved by following this link; decide on the packet page.</small></p>"
        "</body></html>",
        subtype="html",
    )
    return mail


def compose_digest(message: Message, *, sender: str, to: str) -> EmailMessage:
    """The daily digest: every held call of the person's queues, most urgent first, each with its link."""
    calls = list(message.payload.get("calls") or [])
    day = str(message.payload.get("day", ""))
    mail = EmailMessage()
    mail["Subject"] = f"[Countersign] Daily digest {day}: {len(calls)} call(s) waiting for a decision"
    mail["From"] = sender
    mail["To"] = to
    mail["Message-ID"] = make_msgid(idstring=message.event_id[:16], domain="countersign")
    mail["X-Countersign-Event-Id"] = message.event_id
    lines = [f"{len(calls)} call(s) in your queues are waiting for a decision.", ""]
    items = []
    for call in calls:
        summary = shown(str(call.get("summary") or call.get("tool") or "a call"), limit=120)
        facts = f"{shown(str(call.get('queue', '')))}, risk {shown(str(call.get('risk', '')))}"
        exposure = call.get("exposure")
        if exposure:
            facts += ", " + shown(f"{exposure.get('amount')} {exposure.get('currency') or ''}".strip())
        if call.get("sla_due_at"):
            facts += f", SLA due {call['sla_due_at']}"
        link = str(call.get("url") or "")
        lines += [f"- {summary} ({facts})", f"  {link}"]
        items.append(
            f"<li>{html.escape(summary)} ({html.escape(facts)})"
            + (f' <a href="{html.escape(link)}">Open</a>' if link else "")
            + "</li>"
        )
    lines += ["", "Links open the packet after sign-in; nothing is approved by following them."]
    mail.set_content("\n".join(lines) + "\n")
    mail.add_alternative(
        f"<html><body><h2>Daily digest {html.escape(day)}</h2><ul>{''.join(items)}</ul>"
        "<p><small>Links open the packet after sign-in; nothing is approved by following them.</small></p>"
        "</body></html>",
        subtype="html",
    )
    return mail


def _facts(message: Message) -> list[tuple[str, str]]:
    call = message.payload.get("call") or {}
    facts = [
        ("Tool", shown(str(call.get("tool", "")))),
        ("Queue", shown(message.queue_label)),
        ("Risk", shown(str(call.get("risk", "")))),
        ("Agent", shown(str(call.get("agent", "")))),
        ("Status", shown(str(call.get("status", "")))),
    ]
    exposure = call.get("exposure")
    if exposure:
        facts.append(("Exposure", shown(f"{exposure.get('amount')} {exposure.get('currency') or ''}".strip())))
    if call.get("sla_due_at"):
        facts.append(("SLA due", str(call["sla_due_at"])))
    if message.payload.get("actor") and message.event_type == "call.decided":
        facts.append(("By", shown(str(message.payload["actor"]))))
    if message.payload.get("reason"):
        facts.append(("Reason", shown(str(message.payload["reason"]))))
    return facts


class EmailChannel:
    def __init__(self, settings: SmtpSettings, *, sender: str, timeout: float) -> None:
        self.settings = settings
        self.sender = sender
        self.timeout = timeout

    def send(self, message: Message, target: str) -> str | None:
        writer = compose_digest if message.event_type == DIGEST_EVENT else compose
        mail = writer(message, sender=self.sender, to=target)
        s = self.settings
        try:
            if s.implicit_tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
            with client:
                if s.starttls:
                    client.starttls(context=ssl.create_default_context())
                if s.username is not None:
                    client.login(s.username, s.password or "")
                client.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {s.host}:{s.port}: {type(exc).__name__}: {exc}") from exc
        return None
