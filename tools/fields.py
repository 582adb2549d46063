"""Argument types shared by the tools: the JSON schema the model reads is built from these.

Patterns name the id format so a model that guesses ("1001", "acme") is told the shape to use.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tools.money import MINOR_UNITS


def _id(kind: str, prefix: str, example: str) -> object:
    return Field(
        description=f"{kind} id, e.g. {example} (find one with the search tools).",
        pattern=rf"^{prefix}-[0-9A-Z]+$",
        max_length=40,
    )


CustomerId = Annotated[str, _id("Customer", "C", "C-1001")]
OrderId = Annotated[str, _id("Order", "O", "O-1001")]
InvoiceId = Annotated[str, _id("Vendor invoice", "INV", "INV-2002")]
VendorId = Annotated[str, _id("Vendor", "V", "V-302")]
ContractId = Annotated[str, _id("Contract", "CTR", "CTR-501")]
PageId = Annotated[str, _id("Pricing page", "PG", "PG-101")]
RecordId = Annotated[
    str,
    Field(
        description="Any record id: C- customer, O- order, R- refund, INV- invoice, PAY- payment, V- vendor, "
        "BC- bank change, CTR- contract, PG- pricing page, CL- pricing claim, N- note, M- e-mail.",
        pattern=r"^[A-Z]{1,3}-[0-9A-Z]+$",
        max_length=40,
    ),
]

# The decimals an amount may have depend on its currency, which one schema cannot say per value: the
# description says it, and the tool's input model checks it exactly (tools.contract, tools.money).
_NO_DECIMALS = ", ".join(code for code, places in MINOR_UNITS.items() if places == 0)
Amount = Annotated[
    float,
    Field(
        gt=0,
        le=1_000_000_000,
        description="Amount in major units with no more decimals than the currency has: at most 2 "
        f"(e.g. 940.10 EUR), none for {_NO_DECIMALS}. More decimals are refused, never rounded.",
    ),
]
Currency = Annotated[
    str,
    Field(
        description="ISO 4217 code; must match the order's or invoice's currency: " + ", ".join(MINOR_UNITS) + ".",
        min_length=3,
        max_length=3,
    ),
]
Reason = Annotated[
    str,
    Field(
        min_length=3,
        max_length=1000,
        description="Why, in a sentence the reviewer and the audit trail will read.",
    ),
]
