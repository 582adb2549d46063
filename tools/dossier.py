"""A record with what belongs to it (an order with its refunds, a vendor with its bank history...).

Shared by the read tools, the prepare tools and the reviewer previews, so all three show the same
facts. Every function takes an open connection and raises ToolInputError naming ``field`` when the
record does not exist.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.views import Data, as_data, as_list
from tools.money import plain


def customer_brief(row: RowMapping) -> Data:
    keys = ("id", "name", "email", "tier", "country", "compliance_hold", "hold_reason")
    return {k: row[k] for k in keys}


def vendor_brief(row: RowMapping) -> Data:
    keys = ("id", "name", "email", "country", "iban", "bic", "account_holder")
    return {k: row[k] for k in keys}


def invoice_data(conn: Connection, row: RowMapping) -> Data:
    """The invoice with what has been paid on it and what is still open."""
    paid = q.paid_cents(conn, row["id"])
    return {**as_data(row), "paid": plain(paid), "open_amount": plain(row["amount_cents"] - paid)}


def customer_file(conn: Connection, customer_id: str, *, field: str = "customer_id") -> Data:
    customer = q.require(conn, t.customers, customer_id, field=field)
    orders = q.rows(conn, t.orders, t.orders.c.customer_id == customer_id, order_by=[t.orders.c.placed_on.desc()])
    refunds = q.rows(conn, t.refunds, t.refunds.c.customer_id == customer_id, order_by=[t.refunds.c.created_at])
    contracts = q.rows(conn, t.contracts, t.contracts.c.customer_id == customer_id)
    totals: dict[str, dict[str, int]] = {}
    for order in orders:
        if order["status"] != "cancelled":
            totals.setdefault(order["currency"], {"ordered": 0, "refunded": 0})["ordered"] += order["total_cents"]
    for refund in refunds:
        if refund["status"] == "issued":
            totals.setdefault(refund["currency"], {"ordered": 0, "refunded": 0})["refunded"] += refund["amount_cents"]
    return {
        "customer": as_data(customer),
        "orders": as_list(orders),
        "refunds": as_list(refunds),
        "contracts": [{k: c[k] for k in ("id", "title", "status")} for c in contracts],
        "totals": {cur: {k: plain(v) for k, v in sums.items()} for cur, sums in sorted(totals.items())},
    }


def order_file(conn: Connection, order_id: str, *, field: str = "order_id") -> Data:
    order = q.require(conn, t.orders, order_id, field=field)
    customer = q.require(conn, t.customers, order["customer_id"], field=field)
    refunded = q.refunded_cents(conn, order_id)
    return {
        "order": as_data(order),
        "customer": customer_brief(customer),
        "refunds": as_list(q.refunds_of_order(conn, order_id)),
        "refunded": plain(refunded),
        "refundable": plain(max(0, order["total_cents"] - refunded)),
    }


def invoice_file(conn: Connection, invoice_id: str, *, field: str = "invoice_id") -> Data:
    invoice = q.require(conn, t.invoices, invoice_id, field=field)
    vendor = q.require(conn, t.vendors, invoice["vendor_id"], field=field)
    return {
        "invoice": invoice_data(conn, invoice),
        "vendor": vendor_brief(vendor),
        "payments": as_list(q.payments_of_invoice(conn, invoice_id)),
        "pending_bank_changes": as_list(q.bank_changes_of(conn, vendor["id"], status="pending")),
    }


def vendor_file(conn: Connection, vendor_id: str, *, field: str = "vendor_id") -> Data:
    vendor = q.require(conn, t.vendors, vendor_id, field=field)
    invoices = q.rows(conn, t.invoices, t.invoices.c.vendor_id == vendor_id, order_by=[t.invoices.c.issued_on.desc()])
    paid = conn.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(t.payments.c.amount_cents), 0)).where(
            t.payments.c.vendor_id == vendor_id
        )
    ).one()
    return {
        "vendor": as_data(vendor),
        "bank_changes": as_list(q.bank_changes_of(conn, vendor_id)),
        "invoices": [invoice_data(conn, inv) for inv in invoices],
        "payments": {"count": int(paid[0]), "total": plain(int(paid[1]))},
    }


def contract_file(conn: Connection, contract_id: str, *, field: str = "contract_id") -> Data:
    contract = q.require(conn, t.contracts, contract_id, field=field)
    customer = q.require(conn, t.customers, contract["customer_id"], field=field)
    revisions = q.rows(
        conn,
        t.clause_revisions,
        t.clause_revisions.c.contract_id == contract_id,
        order_by=[t.clause_revisions.c.changed_at],
    )
    return {
        "contract": as_data(contract),
        "customer": customer_brief(customer),
        "clauses": [
            {k: c[k] for k in ("clause_id", "position", "heading", "text")} for c in q.clauses_of(conn, contract_id)
        ],
        "revisions": as_list(revisions),
    }


def page_file(conn: Connection, page_id: str, *, field: str = "page_id") -> Data:
    page = q.require(conn, t.pricing_pages, page_id, field=field)
    return {"page": as_data(page), "claims": as_list(q.claims_of(conn, page_id))}
