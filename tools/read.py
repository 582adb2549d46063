"""Read tools: look records up. They never change anything, so the policy lets them run at once."""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import Field

from tools import dossier
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_list
from tools.contract import ToolInputError, ToolRegistry
from tools.fields import ContractId, CustomerId, InvoiceId, OrderId, PageId, VendorId

registry = ToolRegistry()

ORDER_STATUSES = ("processing", "shipped", "delivered", "cancelled", "refunded")
INVOICE_STATUSES = ("open", "paid")
SEARCH_CAP = 100  # searches return at most this many rows; "count" says how many matched

Query = Annotated[
    str,
    Field(
        max_length=200,
        description="Text to look for in the name, e-mail, id or country code (case-insensitive); empty lists all.",
    ),
]


def _matches(query: str, *columns: sa.Column[Any]) -> sa.ColumnElement[bool]:
    needle = query.strip().lower()
    return sa.or_(*(sa.func.lower(col).contains(needle, autoescape=True) for col in columns))


def _check_status(value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise ToolInputError(f"status: unknown status {value!r}; use one of {', '.join(allowed)}", field="status")


@registry.tool(category="read", risk="low", action="allow", minutes_saved=1)
def search_customers(
    office: BackOffice,
    query: Query,
    limit: Annotated[int, Field(ge=1, le=SEARCH_CAP, description="Most customers to return.")] = 10,
) -> dict[str, Any]:
    """Find customers by name, e-mail, id or country (case-insensitive substring), sorted by name.

    Returns {"customers": [{id, name, email, tier, country, compliance_hold, ...}], "count": number
    matched (may exceed the number returned)}. Use get_customer for orders, refunds and contracts.
    """
    c = t.customers.c
    where = _matches(query, c.name, c.email, c.id, c.country)
    with office.read() as conn:
        found = conn.execute(t.customers.select().where(where).order_by(c.name, c.id).limit(limit)).mappings()
        return {"customers": as_list(found), "count": q.count(conn, t.customers, where)}


@registry.tool(category="read", risk="low", action="allow", minutes_saved=2)
def get_customer(office: BackOffice, customer_id: CustomerId) -> dict[str, Any]:
    """One customer with their orders (newest first), refunds, contracts and totals per currency.

    Returns {"customer", "orders", "refunds", "contracts", "totals": {currency: {ordered, refunded}}}.
    Money is a decimal string ("940.00") beside its currency. Check "compliance_hold" before acting:
    refunds and e-mails to a customer on hold are refused.
    """
    with office.read() as conn:
        return dossier.customer_file(conn, customer_id)


@registry.tool(category="read", risk="low", action="allow", minutes_saved=1)
def search_orders(
    office: BackOffice,
    customer_id: Annotated[
        str | None, Field(description="Only this customer's orders (e.g. C-1001); omit for all.", max_length=40)
    ] = None,
    status: Annotated[
        str | None,
        Field(description="Only orders in this status: processing, shipped, delivered, cancelled or refunded."),
    ] = None,
) -> dict[str, Any]:
    """List orders, newest first, optionally for one customer and/or one status (at most 100).

    Returns {"orders": [{id, customer_id, status, items, total, currency, placed_on}], "count"}.
    """
    _check_status(status, ORDER_STATUSES)
    c = t.orders.c
    where = [c.customer_id == customer_id] if customer_id is not None else []
    if status is not None:
        where.append(c.status == status)
    with office.read() as conn:
        found = q.rows(conn, t.orders, *where, order_by=[c.placed_on.desc(), c.id.desc()])
    return {"orders": as_list(found[:SEARCH_CAP]), "count": len(found)}


@registry.tool(category="read", risk="low", action="allow", minutes_saved=1)
def get_order(office: BackOffice, order_id: OrderId) -> dict[str, Any]:
    """One order with its customer, its refunds (issued and requested) and what can still be refunded.

    Returns {"order", "customer", "refunds", "refunded", "refundable"}: "refunded" sums issued refunds
    only; a refund may not take "refunded" above the order total.
    """
    with office.read() as conn:
        return dossier.order_file(conn, order_id)


@registry.tool(category="read", risk="low", action="allow", minutes_saved=1)
def search_invoices(
    office: BackOffice,
    vendor_id: Annotated[
        str | None, Field(description="Only this vendor's invoices (e.g. V-302); omit for all.", max_length=40)
    ] = None,
    status: Annotated[str | None, Field(description="Only invoices in this status: open or paid.")] = None,
) -> dict[str, Any]:
    """List vendor invoices (money we owe), soonest due first, optionally by vendor and/or status (at most 100).

    Returns {"invoices": [{id, vendor_id, number, description, amount, currency, due_on, status,
    paid, open_amount}], "count"}. Pay with pay_invoice using exactly the open_amount.
    """
    _check_status(status, INVOICE_STATUSES)
    c = t.invoices.c
    where = [c.vendor_id == vendor_id] if vendor_id is not None else []
    if status is not None:
        where.append(c.status == status)
    with office.read() as conn:
        found = q.rows(conn, t.invoices, *where, order_by=[c.due_on, c.id])
        invoices = [dossier.invoice_data(conn, row) for row in found[:SEARCH_CAP]]
    return {"invoices": invoices, "count": len(found)}


@registry.tool(category="read", risk="low", action="allow", minutes_saved=2)
def get_invoice(office: BackOffice, invoice_id: InvoiceId) -> dict[str, Any]:
    """One vendor invoice with its payments, its vendor's current bank details and any pending bank change.

    Returns {"invoice" (with paid and open_amount), "vendor", "payments", "pending_bank_changes"}.
    """
    with office.read() as conn:
        return dossier.invoice_file(conn, invoice_id)


@registry.tool(category="read", risk="low", action="allow", minutes_saved=1)
def search_vendors(office: BackOffice, query: Query) -> dict[str, Any]:
    """Find vendors (suppliers we pay) by name, e-mail, id or country, sorted by name (at most 100).

    Returns {"vendors": [{id, name, email, country, iban, bic, account_holder, created_on}], "count"}.
    """
    c = t.vendors.c
    with office.read() as conn:
        found = q.rows(conn, t.vendors, _matches(query, c.name, c.email, c.id, c.country), order_by=[c.name, c.id])
    return {"vendors": as_list(found[:SEARCH_CAP]), "count": len(found)}


@registry.tool(category="read", risk="low", action="allow", minutes_saved=2)
def get_vendor(office: BackOffice, vendor_id: VendorId) -> dict[str, Any]:
    """One vendor with its bank details, bank-change history (pending requests included) and invoices.

    Returns {"vendor", "bank_changes": [{status: pending|applied|rejected, iban, requested_by, ...}],
    "invoices" (newest first, with open_amount), "payments": {count, total}}.
    """
    with office.read() as conn:
        return dossier.vendor_file(conn, vendor_id)


@registry.tool(category="read", risk="low", action="allow", minutes_saved=2)
def get_contract(office: BackOffice, contract_id: ContractId) -> dict[str, Any]:
    """One customer contract with its clauses in order and the history of clause changes.

    Returns {"contract", "customer", "clauses": [{clause_id, position, heading, text}], "revisions"}.
    Use a clause_id from here with change_contract_clause.
    """
    with office.read() as conn:
        return dossier.contract_file(conn, contract_id)


@registry.tool(category="read", risk="low", action="allow", minutes_saved=1)
def get_pricing_page(office: BackOffice, page_id: PageId) -> dict[str, Any]:
    """One public pricing page with its list price and the claims published on it, oldest first.

    Returns {"page": {id, title, url, product, list_price, currency}, "claims": [{id, text, published_at}]}.
    """
    with office.read() as conn:
        return dossier.page_file(conn, page_id)
