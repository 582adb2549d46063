"""Sort an incoming request into a work queue by weighted keywords: deterministic, explainable, no model."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import Field

from tools.backoffice.store import BackOffice
from tools.contract import ToolRegistry

registry = ToolRegistry()

# Category -> (pattern, weight). A phrase that settles the category alone weighs 3; a hint weighs 1.
KEYWORDS: dict[str, tuple[tuple[str, float], ...]] = {
    "refund": (
        (r"refund\w*", 2.5), (r"money back", 2.5), (r"reimburs\w*", 2), (r"chargeback", 2.5),
        (r"return(ed|ing)?\b", 1), (r"credit note", 1.5),
    ),
    "payment": (
        (r"invoice\w*", 1.5), (r"payment\w*", 1.5), (r"\bpaid\b|\bpay\b", 1), (r"overdue", 2), (r"remittance", 2),
        (r"outstanding", 1), (r"due date", 1),
    ),
    "bank_change": (
        (r"bank (details|account)", 3), (r"\biban\b", 2.5), (r"account number", 2), (r"new bank", 3),
        (r"change of bank", 3), (r"banking (provider|partner)", 2.5), (r"\b(swift|bic)\b", 1.5), (r"sort code", 2),
    ),
    "complaint": (
        (r"complain\w*", 2.5), (r"unhappy|disappointed|frustrated|angry", 1.5),
        (r"unacceptable|terrible|awful|worst", 1.5), (r"broken|cracked|damaged|defective", 1),
        (r"\blate\b|delay\w*", 1), (r"escalat\w*", 1.5),
    ),
    "legal": (
        (r"lawyer|attorney|solicitor", 3), (r"legal action|lawsuit|\bsue\b|\bcourt\b", 3), (r"breach", 2),
        (r"liabilit\w*", 2), (r"clause", 1.5), (r"terminat\w*", 1.5), (r"contract", 1),
    ),
    "pricing": (
        (r"pric(e|es|ing)", 2), (r"discount\w*", 1.5), (r"\bquote\b", 1.5), (r"cheaper|expensive", 1.5),
        (r"\bcost\w*", 1), (r"upgrade|\bplan\b|\btier\b", 1),
    ),
    "data_request": (
        (r"\bgdpr\b", 3), (r"personal data", 3), (r"subject access|\bdsar\b|data access request", 3),
        (r"delete (my|our) (data|account)", 3), (r"erasure|\berase\b", 2.5), (r"right to be forgotten", 3),
        (r"copy of (my|our|the) data", 3),
    ),
    "account_update": (
        (r"(change|update) (of )?(my|our) (e-?mail|address|phone|details)", 2.5), (r"new (e-?mail|address|phone)", 2),
        (r"\bmoved\b|relocat\w*", 1),
    ),
}  # fmt: skip
FLAGS: dict[str, str] = {
    "urgency": r"\burgent\w*|\bimmediately\b|\basap\b|\bright away\b|\btoday\b|before (friday|monday|end of day)",
    "secrecy": r"\bconfidential\b|keep this between|do not (tell|share)|don't (tell|share)",
    "authority": r"\bceo\b|\bcfo\b|managing director|on behalf of",
}
NEXT_TOOLS: dict[str, list[str]] = {
    "refund": ["get_order", "score_exception", "issue_refund"],
    "payment": ["search_invoices", "get_invoice", "pay_invoice"],
    "bank_change": ["get_vendor", "score_exception", "change_vendor_bank_details"],
    "complaint": ["get_customer", "draft_reply", "send_customer_email"],
    "legal": ["get_contract", "gather_documents"],
    "pricing": ["get_pricing_page", "draft_reply"],
    "data_request": ["get_customer", "gather_documents"],
    "account_update": ["get_customer", "update_customer_record"],
    "general": ["search_customers", "draft_reply"],
}

_COMPILED = {cat: [(re.compile(p, re.IGNORECASE), w) for p, w in pairs] for cat, pairs in KEYWORDS.items()}
_FLAGS = {name: re.compile(p, re.IGNORECASE) for name, p in FLAGS.items()}


def classify(text: str) -> dict[str, Any]:
    scores: dict[str, float] = {}
    signals: list[str] = []
    for category, patterns in _COMPILED.items():
        for pattern, weight in patterns:
            found = sorted({m.group(0).lower() for m in pattern.finditer(text)})
            if found:
                scores[category] = scores.get(category, 0.0) + weight
                signals.extend(f"{category}: {term}" for term in found)
    flags = [name for name, pattern in _FLAGS.items() if pattern.search(text)]
    if "bank_change" in scores and "urgency" in flags:
        flags.append("possible_payment_fraud")  # urgency plus new bank details is the classic pattern
    if not scores:
        return {"category": "general", "confidence": 0.2, "signals": [], "scores": {}, "flags": flags,
                "secondary": None, "suggested_tools": NEXT_TOOLS["general"]}  # fmt: skip
    # Ties go to the category listed first in KEYWORDS, so the answer never depends on dict order.
    ranked = sorted(scores, key=lambda c: (-scores[c], list(KEYWORDS).index(c)))
    top = scores[ranked[0]]
    # Share of the evidence times its strength: one strong phrase gives ~0.7, two give ~0.9.
    confidence = round((top / sum(scores.values())) * (1 - math.exp(-top / 2.5)), 2)
    return {
        "category": ranked[0],
        "confidence": max(0.05, min(0.99, confidence)),
        "signals": signals,
        "scores": {c: round(scores[c], 2) for c in ranked},
        "flags": flags,
        "secondary": ranked[1] if len(ranked) > 1 else None,
        "suggested_tools": NEXT_TOOLS[ranked[0]],
    }


@registry.tool(category="prepare", risk="low", action="allow", minutes_saved=2)
def classify_request(
    office: BackOffice,
    text: Annotated[
        str, Field(min_length=1, max_length=20000, description="The request as received: e-mail, ticket or chat text.")
    ],
) -> dict[str, Any]:
    """Classify an incoming request into a work category, with the phrases that decided it.

    Categories: refund, payment, bank_change, complaint, legal, pricing, data_request, account_update,
    or general when nothing matches. Deterministic keyword scoring, so the same text always gets the
    same answer. Returns {"category", "confidence" (0..1), "signals": ["category: matched phrase"],
    "scores": {category: points}, "flags": ["urgency", "secrecy", "authority", "possible_payment_fraud"],
    "secondary": runner-up category or null, "suggested_tools": tools to call next}.
    """
    return classify(text)
