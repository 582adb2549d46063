"""Small query helpers shared by the tools and their previews. Each takes an open connection."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from tools.backoffice import tables as t
from tools.contract import ToolInputError

# Record ids start with a prefix naming their kind: C-1001 is a customer, INV-2001 an invoice.
KINDS: dict[str, tuple[str, sa.Table]] = {
    "C": ("customer", t.customers),
    "O": ("order", t.orders),
    "R": ("refund", t.refunds),
    "INV": ("invoice", t.invoices),
    "PAY": ("payment", t.payments),
    "V": ("vendor", t.vendors),
    "BC": ("bank_change", t.bank_changes),
    "CTR": ("contract", t.contracts),
    "PG": ("pricing_page", t.pricing_pages),
    "CL": ("pricing_claim", t.pricing_claims),
    "N": ("note", t.notes),
    "M": ("email", t.outbox),
}
TABLE_OF_KIND: dict[str, sa.Table] = dict(KINDS.values())


def kind_of(record_id: str) -> str | None:
    """The kind of record an id names ("customer", "invoice"...), from its prefix; None if unknown."""
    prefix, sep, _ = record_id.partition("-")
    entry = KINDS.get(prefix.upper()) if sep else None
    return entry[0] if entry else None


def new_id(prefix: str) -> str:
    """A fresh id for a row a tool creates (random, so concurrent writers never collide)."""
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def one(conn: Connection, table: sa.Table, record_id: object, *, for_update: bool = False) -> RowMapping | None:
    """The row with this id, or None. ``for_update`` locks it on PostgreSQL (SQLite writers already hold the lock)."""
    if not isinstance(record_id, str):
        return None
    stmt = sa.select(table).where(table.c.id == record_id)
    if for_update:
        stmt = stmt.with_for_update()
    return conn.execute(stmt).mappings().first()


def require(
    conn: Connection, table: sa.Table, record_id: object, *, field: str, for_update: bool = False
) -> RowMapping:
    """The row with this id, or ToolInputError naming ``field``."""
    row = one(conn, table, record_id, for_update=for_update)
    if row is None:
        kind = kind_of(record_id) if isinstance(record_id, str) else None
        label = kind or str(table.name).removeprefix("bo_")
        raise ToolInputError(f"{field}: no {label} with id {record_id!r}", field=field)
    return row


def rows(conn: Connection, table: sa.Table, *where: Any, order_by: Sequence[Any] = ()) -> list[RowMapping]:
    stmt = sa.select(table).where(*where).order_by(*(order_by or table.primary_key.columns))
    return list(conn.execute(stmt).mappings())


def count(conn: Connection, table: sa.Table, *where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one())


def refunds_of_order(conn: Connection, order_id: str) -> list[RowMapping]:
    return rows(conn, t.refunds, t.refunds.c.order_id == order_id, order_by=[t.refunds.c.created_at, t.refunds.c.id])


def refunded_cents(conn: Connection, order_id: str) -> int:
    """Money already returned on an order (issued refunds only; requests are not money yet)."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(t.refunds.c.amount_cents), 0)).where(
        t.refunds.c.order_id == order_id, t.refunds.c.status == "issued"
    )
    return int(conn.execute(stmt).scalar_one())


def payments_of_invoice(conn: Connection, invoice_id: str) -> list[RowMapping]:
    return rows(conn, t.payments, t.payments.c.invoice_id == invoice_id, order_by=[t.payments.c.paid_at])


def paid_cents(conn: Connection, invoice_id: str) -> int:
    stmt = sa.select(sa.func.coalesce(sa.func.sum(t.payments.c.amount_cents), 0)).where(
        t.payments.c.invoice_id == invoice_id
    )
    return int(conn.execute(stmt).scalar_one())


def bank_changes_of(conn: Connection, vendor_id: str, *, status: str | None = None) -> list[RowMapping]:
    where = [t.bank_changes.c.vendor_id == vendor_id]
    if status is not None:
        where.append(t.bank_changes.c.status == status)
    return rows(conn, t.bank_changes, *where, order_by=[t.bank_changes.c.requested_at, t.bank_changes.c.id])


def notes_about(conn: Connection, subject_id: str) -> list[RowMapping]:
    return rows(conn, t.notes, t.notes.c.subject_id == subject_id, order_by=[t.notes.c.created_at, t.notes.c.id])


def clauses_of(conn: Connection, contract_id: str) -> list[RowMapping]:
    return rows(conn, t.clauses, t.clauses.c.contract_id == contract_id, order_by=[t.clauses.c.position])


def claims_of(conn: Connection, page_id: str) -> list[RowMapping]:
    c = t.pricing_claims.c
    return rows(conn, t.pricing_claims, c.page_id == page_id, order_by=[c.published_at, c.id])
