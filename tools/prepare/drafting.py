"""Draft a customer reply for a person (or send_customer_email) to use. Drafting sends nothing."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from tools.act.messaging import SENDER, email_signals
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.vocabulary import COMPANY
from tools.contract import ToolInputError, ToolRegistry
from tools.fields import CustomerId

registry = ToolRegistry()

Topic = Annotated[
    str,
    Field(min_length=2, max_length=150, description="What the reply is about, e.g. 'your refund for order O-1001'."),
]
Points = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=1000)]],
    Field(min_length=1, max_length=10, description="What the reply must say, one point per item, in order."),
]


def compose(name: str, topic: str, points: list[str]) -> tuple[str, str]:
    """Subject and body of a plain, polite reply that makes each point once."""
    cleaned = [" ".join(p.split()) for p in points if p.strip()]
    if not cleaned:
        raise ToolInputError("points: give at least one non-empty point", field="points")
    middle = cleaned[0] if len(cleaned) == 1 else "\n".join(f"- {p}" for p in cleaned)
    body = (
        f"Dear {name} team,\n\n"
        f"Thank you for getting in touch about {topic}.\n\n"
        f"{middle}\n\n"
        "If anything is unclear, simply reply to this e-mail.\n\n"
        f"Kind regards,\n{COMPANY} customer care"
    )
    subject = f"Re: {topic[0].upper()}{topic[1:]}"
    return subject, body


@registry.tool(category="prepare", risk="low", action="allow", minutes_saved=7)
def draft_reply(office: BackOffice, customer_id: CustomerId, topic: Topic, points: Points) -> dict[str, Any]:
    """Write a reply e-mail to a customer from the points it must make. Nothing is sent.

    The draft comes with the warnings a reviewer would see if it were sent as is (compliance hold,
    promises of money, legal wording, links), and the exact send_customer_email arguments to send it.
    Returns {"customer_id", "from", "to", "subject", "body", "sent": false, "warnings",
    "send_with": {"tool": "send_customer_email", "arguments": {...}}}.
    """
    with office.read() as conn:
        customer = q.require(conn, t.customers, customer_id, field="customer_id")
        subject, body = compose(customer["name"], " ".join(topic.split()), points)
        arguments = {"customer_id": customer["id"], "subject": subject, "body": body}
        warnings = [s.message for s in email_signals(conn, office.now(), arguments)]
    return {
        "customer_id": customer["id"],
        "from": SENDER,
        "to": customer["email"],
        "subject": subject,
        "body": body,
        "sent": False,
        "warnings": warnings,
        "send_with": {"tool": "send_customer_email", "arguments": arguments},
    }
