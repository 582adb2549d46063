"""Prepare tools that read: everything about one record in one call, and a record in a paragraph."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection

from tools import dossier
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import Data, as_data, as_list
from tools.contract import ToolInputError, ToolRegistry
from tools.fields import RecordId
from tools.money import display

registry = ToolRegistry()

GATHERABLE = ("customer", "vendor", "order", "invoice", "contract", "pricing_page")


def _notes(conn: Connection, *subject_ids: str) -> list[Data]:
    return as_list(q.rows(conn, t.notes, t.notes.c.subject_id.in_(subject_ids), order_by=[t.notes.c.created_at]))


def _emails(conn: Connection, customer_id: str) -> list[Data]:
    c = t.outbox.c
    return as_list(q.rows(conn, t.outbox, c.customer_id == customer_id, order_by=[c.created_at.desc()])[:10])


def gather(conn: Connection, subject_id: str, *, field: str = "subject_id") -> Data:
    """The documents of a customer, vendor, order, invoice, contract or pricing page (shared with the packet)."""
    kind = q.kind_of(subject_id)
    if kind not in GATHERABLE:
        raise ToolInputError(
            f"{field}: {subject_id!r} is not a customer (C-), vendor (V-), order (O-), invoice (INV-), contract "
            "(CTR-) or pricing page (PG-) id",
            field=field,
        )
    docs: Data = {}
    if kind == "customer":
        docs["customer"] = dossier.customer_file(conn, subject_id, field=field)
        docs["notes"] = _notes(conn, subject_id)
        docs["emails"] = _emails(conn, subject_id)
    elif kind == "order":
        docs["order"] = dossier.order_file(conn, subject_id, field=field)
        customer_id = docs["order"]["order"]["customer_id"]
        docs["customer"] = dossier.customer_file(conn, customer_id, field=field)
        docs["notes"] = _notes(conn, subject_id, customer_id)
        docs["emails"] = _emails(conn, customer_id)
    elif kind == "vendor":
        docs["vendor"] = dossier.vendor_file(conn, subject_id, field=field)
        docs["notes"] = _notes(conn, subject_id)
    elif kind == "invoice":
        docs["invoice"] = dossier.invoice_file(conn, subject_id, field=field)
        vendor_id = docs["invoice"]["vendor"]["id"]
        docs["vendor"] = dossier.vendor_file(conn, vendor_id, field=field)
        docs["notes"] = _notes(conn, subject_id, vendor_id)
    elif kind == "contract":
        docs["contract"] = dossier.contract_file(conn, subject_id, field=field)
        customer_id = docs["contract"]["customer"]["id"]
        docs["customer"] = dossier.customer_file(conn, customer_id, field=field)
        docs["notes"] = _notes(conn, subject_id, customer_id)
    else:
        docs["pricing_page"] = dossier.page_file(conn, subject_id, field=field)
    return {"subject": {"kind": kind, "id": subject_id}, "documents": docs}


@registry.tool(category="prepare", risk="low", action="allow", minutes_saved=8)
def gather_documents(office: BackOffice, subject_id: RecordId) -> dict[str, Any]:
    """Collect everything a person would open before deciding about a customer, vendor, order, invoice or contract.

    An order comes with its customer file; an invoice with its vendor (bank details and bank-change
    history included); a contract with its customer; every subject with its CRM notes, and customers
    with their latest e-mails. Returns {"subject": {"kind", "id"}, "documents": {"customer"|"order"|
    "vendor"|"invoice"|"contract"|"pricing_page": file, "notes": [...], "emails": [...]}}.
    """
    with office.read() as conn:
        return gather(conn, subject_id)


def _summarize_customer(conn: Connection, record_id: str) -> str:
    f = dossier.customer_file(conn, record_id, field="record_id")
    c = f["customer"]
    ordered = "; ".join(
        f"{v['ordered']} {cur} ordered, {v['refunded']} {cur} refunded" for cur, v in f["totals"].items()
    )
    hold = f" ON COMPLIANCE HOLD: {c['hold_reason']}" if c["compliance_hold"] else " No compliance hold."
    return (
        f"{c['name']} ({c['id']}), {c['tier']} customer in {c['country']} since {c['created_on']}, {c['email']}. "
        f"{len(f['orders'])} orders ({ordered or 'nothing ordered'}); {len(f['contracts'])} contracts.{hold}"
    )


def _summarize_order(conn: Connection, record_id: str) -> str:
    f = dossier.order_file(conn, record_id, field="record_id")
    o, cur = f["order"], f["order"]["currency"]
    requests = [r for r in f["refunds"] if r["status"] == "requested"]
    asked = "".join(f" Customer asks for {r['amount']} {cur} ({r['id']}): {r['reason']}" for r in requests)
    return (
        f"Order {o['id']} for {f['customer']['name']} ({f['customer']['id']}): {o['items']}. {o['total']} {cur}, "
        f"{o['status']}, placed {o['placed_on']}. Refunded {f['refunded']} {cur}; {f['refundable']} {cur} "
        f"refundable.{asked}"
    )


def _summarize_invoice(conn: Connection, record_id: str) -> str:
    f = dossier.invoice_file(conn, record_id, field="record_id")
    i, v, cur = f["invoice"], f["vendor"], f["invoice"]["currency"]
    pending = (
        f" {len(f['pending_bank_changes'])} pending bank change(s) on the vendor." if f["pending_bank_changes"] else ""
    )
    return (
        f"Invoice {i['id']} ({i['number']}) from {v['name']} ({v['id']}): {i['description']}. {i['amount']} {cur}, "
        f"issued {i['issued_on']}, due {i['due_on']}, {i['status']}; {i['open_amount']} {cur} open.{pending}"
    )


def _summarize_vendor(conn: Connection, record_id: str) -> str:
    f = dossier.vendor_file(conn, record_id, field="record_id")
    v = f["vendor"]
    pending = [b for b in f["bank_changes"] if b["status"] == "pending"]
    flag = "".join(f" Pending bank change {b['id']} to {b['iban']} from {b['requested_by']}." for b in pending)
    open_invoices = [i for i in f["invoices"] if i["status"] == "open"]
    return (
        f"{v['name']} ({v['id']}), {v['country']}, {v['email']}. Paid {f['payments']['count']} times "
        f"({f['payments']['total']} in total); {len(open_invoices)} open invoices. Bank: {v['iban']} "
        f"({v['account_holder']}).{flag}"
    )


def _summarize_contract(conn: Connection, record_id: str) -> str:
    f = dossier.contract_file(conn, record_id, field="record_id")
    c = f["contract"]
    clauses = ", ".join(cl["clause_id"] for cl in f["clauses"])
    return (
        f"{c['title']} ({c['id']}), {c['status']}, {c['annual_value']} {c['currency']} a year, {c['starts_on']} to "
        f"{c['ends_on']}. Clauses: {clauses}. {len(f['revisions'])} clause changes so far."
    )


def _summarize_page(conn: Connection, record_id: str) -> str:
    f = dossier.page_file(conn, record_id, field="record_id")
    p = f["page"]
    claims = "; ".join(c["text"] for c in f["claims"])
    price = f"{p['list_price']} {p['currency']}"
    return f"Pricing page {p['title']} ({p['id']}, {p['url']}): list price {price}. Claims: {claims}."


SUMMARIZERS: dict[str, Callable[[Connection, str], str]] = {
    "customer": _summarize_customer,
    "order": _summarize_order,
    "invoice": _summarize_invoice,
    "vendor": _summarize_vendor,
    "contract": _summarize_contract,
    "pricing_page": _summarize_page,
}


def _summarize_other(conn: Connection, kind: str, record_id: str) -> tuple[str, Data]:
    row = q.require(conn, q.TABLE_OF_KIND[kind], record_id, field="record_id")
    facts = as_data(row)
    if "amount_cents" in row:
        money = display(row["amount_cents"], row["currency"])
        return f"{kind.replace('_', ' ').capitalize()} {record_id}: {money}, {row.get('status', 'recorded')}.", facts
    text = str(row.get("body") or row.get("text") or row.get("subject") or "")
    return f"{kind.replace('_', ' ').capitalize()} {record_id}: {text[:200]}", facts


@registry.tool(category="prepare", risk="low", action="allow", minutes_saved=3)
def summarize_record(office: BackOffice, record_id: RecordId) -> dict[str, Any]:
    """Describe any record in a short paragraph a person can read at a glance (amounts, dates, status, red flags).

    Works for every id kind (C-, O-, R-, INV-, PAY-, V-, BC-, CTR-, PG-, CL-, N-, M-).
    Returns {"record_id", "kind", "summary": text, "facts": the record's fields}.
    """
    kind = q.kind_of(record_id)
    if kind is None:
        raise ToolInputError(f"record_id: {record_id!r} has no known id prefix", field="record_id")
    with office.read() as conn:
        row = q.require(conn, q.TABLE_OF_KIND[kind], record_id, field="record_id")
        if kind in SUMMARIZERS:
            return {
                "record_id": record_id,
                "kind": kind,
                "summary": SUMMARIZERS[kind](conn, record_id),
                "facts": as_data(row),
            }
        summary, facts = _summarize_other(conn, kind, record_id)
    return {"record_id": record_id, "kind": kind, "summary": summary, "facts": facts}
