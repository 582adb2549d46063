"""What deleting a record removes, and when it must not: shared by delete_record and bulk_delete_customers.

Rules: money history is kept (an order with an issued refund, an invoice or vendor with payments), a
customer under compliance hold or with a contract is kept, and everything that exists only because of
the record goes with it (a customer's orders, open refund requests and notes). The outbox is a record
of what was said and is never deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.views import as_data
from tools.contract import ToolInputError

RecordType = Literal["customer", "order", "invoice", "vendor", "note"]
TABLES: dict[str, sa.Table] = {
    "customer": t.customers,
    "order": t.orders,
    "invoice": t.invoices,
    "vendor": t.vendors,
    "note": t.notes,
}
# Children before parents, so foreign keys never see an orphan.
DELETE_ORDER = (t.notes, t.refunds, t.payments, t.bank_changes, t.orders, t.invoices, t.customers, t.vendors)


@dataclass
class DeletePlan:
    record_type: str
    record: RowMapping
    # Rows to remove, by table name (the record itself included).
    rows: dict[str, list[RowMapping]] = field(default_factory=dict)

    def add(self, table: sa.Table, found: list[RowMapping]) -> None:
        if found:
            self.rows.setdefault(table.name, []).extend(found)

    def ids(self) -> dict[str, list[str]]:
        return {name: [str(row["id"]) for row in found] for name, found in self.rows.items()}

    def related_count(self) -> int:
        return sum(len(found) for found in self.rows.values()) - 1


def plan_delete(conn: Connection, record_type: object, record_id: object, *, field: str = "record_id") -> DeletePlan:
    """Everything deleting this record removes; ToolInputError naming the field if it must be kept."""
    if record_type not in TABLES:
        raise ToolInputError(f"record_type: must be one of {', '.join(TABLES)}", field="record_type")
    assert isinstance(record_type, str)
    kind = q.kind_of(record_id) if isinstance(record_id, str) else None
    if kind != record_type:
        raise ToolInputError(f"{field}: {record_id!r} is not a {record_type} id", field=field)
    record = q.require(conn, TABLES[record_type], record_id, field=field)
    plan = DeletePlan(record_type, record)
    plan.add(TABLES[record_type], [record])
    rid = record["id"]
    if record_type == "customer":
        _keep_customer(conn, record, field)
        orders = q.rows(conn, t.orders, t.orders.c.customer_id == rid)
        plan.add(t.orders, orders)
        plan.add(t.refunds, q.rows(conn, t.refunds, t.refunds.c.customer_id == rid))
        plan.add(t.notes, q.rows(conn, t.notes, t.notes.c.subject_id.in_([rid, *(o["id"] for o in orders)])))
    elif record_type == "order":
        if q.refunded_cents(conn, rid):
            raise ToolInputError(f"{field}: order {rid} has issued refunds; financial records are kept", field=field)
        plan.add(t.refunds, q.refunds_of_order(conn, rid))
        plan.add(t.notes, q.notes_about(conn, rid))
    elif record_type == "invoice":
        if q.payments_of_invoice(conn, rid):
            raise ToolInputError(f"{field}: invoice {rid} has payments; financial records are kept", field=field)
        plan.add(t.notes, q.notes_about(conn, rid))
    elif record_type == "vendor":
        if q.count(conn, t.payments, t.payments.c.vendor_id == rid):
            raise ToolInputError(f"{field}: vendor {rid} has been paid; financial records are kept", field=field)
        invoices = q.rows(conn, t.invoices, t.invoices.c.vendor_id == rid)
        plan.add(t.invoices, invoices)
        plan.add(t.bank_changes, q.bank_changes_of(conn, rid))
        plan.add(t.notes, q.rows(conn, t.notes, t.notes.c.subject_id.in_([rid, *(i["id"] for i in invoices)])))
    return plan


def _keep_customer(conn: Connection, customer: RowMapping, field: str) -> None:
    cid = customer["id"]
    if customer["compliance_hold"]:
        raise ToolInputError(f"{field}: customer {cid} is on compliance hold; its records must be kept", field=field)
    if q.count(conn, t.refunds, t.refunds.c.customer_id == cid, t.refunds.c.status == "issued"):
        raise ToolInputError(f"{field}: customer {cid} has issued refunds; financial records are kept", field=field)
    if q.count(conn, t.contracts, t.contracts.c.customer_id == cid):
        raise ToolInputError(f"{field}: customer {cid} has contracts; end and archive them first", field=field)


def apply_delete(conn: Connection, plan: DeletePlan, reason: str, now: datetime) -> str:
    """Remove the planned rows and log them whole in bo_deletion; return the deletion id."""
    for table in DELETE_ORDER:
        found = plan.rows.get(table.name)
        if found:
            conn.execute(sa.delete(table).where(table.c.id.in_([row["id"] for row in found])))
    deletion_id = q.new_id("DEL")
    removed = {name: [as_data(row) for row in found] for name, found in plan.rows.items()}
    conn.execute(
        t.deletions.insert().values(
            id=deletion_id,
            record_type=plan.record_type,
            record_id=plan.record["id"],
            reason=reason,
            removed=json.dumps(removed, sort_keys=True, default=str),
            deleted_at=now,
        )
    )
    return deletion_id
