"""Customer e-mail: messages are queued in the outbox for the mailer; the preview shows the whole message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.engine import Connection, RowMapping

from tools.act import checks
from tools.act.once import fingerprint, key_columns, run_once
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_list
from tools.backoffice.vocabulary import COMPANY
from tools.contract import Preview, SubjectArg, ToolInputError, ToolRegistry
from tools.dossier import customer_brief
from tools.fields import CustomerId
from tools.signals import Signal, refused

registry = ToolRegistry()

SENDER = f"{COMPANY} customer care <care@fernhill.example>"
LINK = re.compile(r"https?://[^\s<>\"')]+", re.IGNORECASE)
MONEY_WORDS = re.compile(
    r"\b(refund\w*|reimburs\w*|compensat\w*|discount\w*|credit note|free of charge|waive\w*|money back)\b", re.I
)
LEGAL_WORDS = re.compile(r"\b(lawyer|legal|liab\w*|lawsuit|court|admit\w*|fault|negligen\w*|settle\w*)\b", re.I)
OWN_DOMAIN = "fernhill.example"

Subject = Annotated[str, Field(min_length=1, max_length=200, description="Subject line, one line of plain text.")]
Body = Annotated[
    str,
    Field(
        min_length=1,
        max_length=20000,
        description="Plain-text body exactly as the customer will read it, greeting and signature included.",
    ),
]


@dataclass(frozen=True)
class EmailPlan:
    customer: RowMapping
    subject: str
    body: str


def plan_email(conn: Connection, customer_id: object, subject: object, body: object) -> EmailPlan:
    """Check a message; ToolInputError naming the field if it must not be sent."""
    # One line only: a line break in a subject is how mail headers get injected.
    title = checks.text(subject, "subject", max_length=200, one_line=True)
    text = checks.text(body, "body", max_length=20000)
    customer = q.require(conn, t.customers, customer_id, field="customer_id")
    if customer["compliance_hold"]:
        raise ToolInputError(
            f"customer_id: {customer['name']} ({customer['id']}) is on compliance hold; outbound messages go "
            "through compliance, not this tool",
            field="customer_id",
        )
    return EmailPlan(customer, title, text)


def email_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """What a reviewer should read twice: promises of money, legal language, links, invisible characters."""
    signals: list[Signal] = []
    try:
        plan_email(conn, args.get("customer_id"), args.get("subject"), args.get("body"))
    except ToolInputError as exc:
        signals.append(refused(exc))
    text = f"{args.get('subject', '')}\n{args.get('body', '')}"
    if hidden := checks.hidden_characters(text):
        signals.append(Signal("hidden_characters", 0.4, f"Contains invisible characters {', '.join(hidden)}"))
    if money := sorted({m.lower() for m in MONEY_WORDS.findall(text)}):
        signals.append(
            Signal("promises_money", 0.2, f"Mentions {', '.join(money)}: check a matching refund or credit is approved")
        )
    if legal := sorted({m.lower() for m in LEGAL_WORDS.findall(text)}):
        signals.append(Signal("legal_language", 0.2, f"Touches legal matters ({', '.join(legal)})"))
    foreign = sorted({link for link in LINK.findall(text) if OWN_DOMAIN not in link.lower()})
    if foreign:
        signals.append(Signal("external_links", 0.15, f"Links outside {OWN_DOMAIN}: {', '.join(foreign)}"))
    return signals


def preview_email(office: BackOffice, args: dict[str, Any]) -> Preview:
    """The whole message as it would be sent (sender, recipient, subject, body) and the recent conversation."""
    with office.read() as conn:
        customer = q.one(conn, t.customers, args.get("customer_id"))
        context: dict[str, Any] = {}
        if customer is not None:
            context["customer"] = customer_brief(customer)
            outbox = t.outbox.c
            recent = q.rows(conn, t.outbox, outbox.customer_id == customer["id"], order_by=[outbox.created_at.desc()])
            context["recent_emails"] = as_list(recent[:5])
        warnings = [s.message for s in email_signals(conn, office.now(), args)]
    after = {
        "from": SENDER,
        "to": customer["email"] if customer is not None else None,
        "subject": args.get("subject"),
        "body": args.get("body"),
    }
    who = f"{customer['name']} ({customer['id']})" if customer is not None else f"customer {args.get('customer_id')}"
    return Preview(summary=f"E-mail {who}: {args.get('subject')!r}", after=after, context=context, warnings=warnings)


def describe_email(args: dict[str, Any]) -> str:
    subject = str(args["subject"])
    shown = subject if len(subject) <= 60 else subject[:57] + "..."
    return f"E-mail customer {args['customer_id']}: {shown!r}"


@registry.tool(
    category="act",
    risk="medium",
    action="hold",
    subject=SubjectArg("customer_id", "customer"),
    idempotent=True,
    preview=preview_email,
    describe=describe_email,
    minutes_saved=6,
)
def send_customer_email(
    office: BackOffice, customer_id: CustomerId, subject: Subject, body: Body, idempotency_key: str
) -> dict[str, Any]:
    """Send an e-mail to a customer's address on file (queued in the outbox; the mailer delivers it).

    The recipient is always the customer's own address: you cannot choose another. Refused, with
    nothing queued, when the customer is unknown or on compliance hold, or the subject spans lines.
    Use draft_reply to prepare the text first. A repeat with the same idempotency key returns the
    first result and queues nothing more. Returns {"message_id", "customer_id", "to", "subject",
    "status": "queued"}.
    """
    request = {
        "customer_id": customer_id,
        "subject": checks.text(subject, "subject", max_length=200, one_line=True),
        "body": checks.text(body, "body", max_length=20000),
    }

    def act(conn: Connection) -> dict[str, Any]:
        plan = plan_email(conn, customer_id, subject, body)
        result = {
            "message_id": q.new_id("M"),
            "customer_id": plan.customer["id"],
            "to": plan.customer["email"],
            "subject": plan.subject,
            "status": "queued",
        }
        conn.execute(
            t.outbox.insert().values(
                id=result["message_id"],
                customer_id=plan.customer["id"],
                to_address=plan.customer["email"],
                subject=plan.subject,
                body=plan.body,
                status="queued",
                created_at=office.now(),
                **key_columns(idempotency_key, request_hash, result),
            )
        )
        return result

    request_hash = fingerprint("send_customer_email", request)
    return run_once(
        office,
        t.outbox,
        idempotency_key,
        request_hash,
        act,
        lock=lambda conn: q.one(conn, t.customers, customer_id, for_update=True),
    )
