"""Public pricing claims: what the company promises in public, where an unfounded claim is a legal risk."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.engine import Connection, RowMapping

from tools.act import checks
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_data
from tools.contract import Preview, SubjectArg, ToolInputError, ToolRegistry
from tools.fields import PageId
from tools.money import display, to_cents
from tools.signals import Signal, refused

registry = ToolRegistry()

ABSOLUTES = re.compile(
    r"(\bbest\b|\bcheapest\b|\blowest\b|\bguarantee\w*|#1\b|\bnumber one\b|\b100 ?%|\bforever\b|\bunlimited\b|"
    r"\balways\b|\bnever\b|\bno\.? ?1\b|\bclinically\b|\bproven\b)",
    re.IGNORECASE,
)
PRICE = re.compile(
    r"(?:(€|EUR|£|GBP|\$|USD)\s?(\d+(?:[.,]\d{1,2})?)|(\d+(?:[.,]\d{1,2})?)\s?(€|EUR|£|GBP|\$|USD))", re.I
)
DISCOUNT = re.compile(r"\b\d{1,3}\s?%\s?(off|discount|cheaper|less)\b|\bsave\b|\bsale\b", re.IGNORECASE)

Claim = Annotated[
    str,
    Field(
        min_length=5,
        max_length=280,
        description="The claim exactly as it will appear on the page, one line, e.g. '30-day free returns'.",
    ),
]


@dataclass(frozen=True)
class ClaimPlan:
    page: RowMapping
    claim: str


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


def plan_claim(conn: Connection, page_id: object, claim: object) -> ClaimPlan:
    """Check a claim; ToolInputError naming the field if it must not be published."""
    text = checks.text(claim, "claim", min_length=5, max_length=280, one_line=True)
    page = q.require(conn, t.pricing_pages, page_id, field="page_id")
    if any(_normal(c["text"]) == _normal(text) for c in q.claims_of(conn, page["id"])):
        raise ToolInputError(f"claim: page {page['id']} already states {text!r}", field="claim")
    return ClaimPlan(page, text)


def claim_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """Claims that need substantiation: absolutes, prices that differ from the list price, discounts."""
    try:
        plan = plan_claim(conn, args.get("page_id"), args.get("claim"))
    except ToolInputError as exc:
        return [refused(exc)]
    signals: list[Signal] = []
    if absolutes := sorted({m.lower() for m in ABSOLUTES.findall(plan.claim)}):
        signals.append(
            Signal("absolute_claim", 0.35, f"Absolute or superlative wording ({', '.join(absolutes)}) needs proof")
        )
    list_price = plan.page["list_price_cents"]
    for match in PRICE.finditer(plan.claim):
        figure = (match.group(2) or match.group(3)).replace(",", ".")
        if to_cents(Decimal(figure)) != list_price:
            shown = display(list_price, plan.page["currency"])
            signals.append(Signal("price_differs", 0.3, f"Mentions {match.group(0)} but the list price is {shown}"))
    if DISCOUNT.search(plan.claim):
        signals.append(Signal("discount", 0.2, "Promises a discount: check a promotion exists and when it ends"))
    if checks.hidden_characters(plan.claim):
        signals.append(Signal("hidden_characters", 0.4, "Contains invisible characters"))
    return signals


def preview_claim(office: BackOffice, args: dict[str, Any]) -> Preview:
    """The page's current claims beside the claims after publishing this one."""
    with office.read() as conn:
        page = q.one(conn, t.pricing_pages, args.get("page_id"))
        current = [c["text"] for c in q.claims_of(conn, page["id"])] if page is not None else []
        context = {"page": as_data(page)} if page is not None else {}
        warnings = [s.message for s in claim_signals(conn, office.now(), args)]
    before = {"claims": current} if page is not None else None
    after = {"claims": [*current, args.get("claim")]}
    where = f"{page['title']} ({page['id']})" if page is not None else f"page {args.get('page_id')}"
    return Preview(
        summary=f"Publish on {where}: {args.get('claim')!r}",
        before=before,
        after=after,
        context=context,
        warnings=warnings,
    )


def describe_claim(args: dict[str, Any]) -> str:
    return f"Publish on pricing page {args['page_id']}: {args['claim']!r}"


@registry.tool(
    category="act",
    risk="medium",
    action="hold",
    subject=SubjectArg("page_id", "page"),
    preview=preview_claim,
    describe=describe_claim,
    minutes_saved=8,
)
def publish_pricing_claim(office: BackOffice, page_id: PageId, claim: Claim) -> dict[str, Any]:
    """Publish a new claim on a public pricing page, live for every visitor (e.g. a warranty or delivery promise).

    Claims must be true and provable: avoid absolutes ("best", "guaranteed") and prices other than the
    page's list price unless a promotion exists. Refused, with nothing published, when the page does not
    exist, the claim spans lines, or the page already states it.
    Returns {"page_id", "claim_id", "claim", "published_at"}.
    """
    with office.write() as conn:
        plan = plan_claim(conn, page_id, claim)
        claim_id, now = q.new_id("CL"), office.now()
        conn.execute(
            t.pricing_claims.insert().values(id=claim_id, page_id=plan.page["id"], text=plan.claim, published_at=now)
        )
    return {"page_id": plan.page["id"], "claim_id": claim_id, "claim": plan.claim, "published_at": now.isoformat()}
