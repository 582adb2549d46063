"""Vendor payments: paying an open invoice to the vendor's bank account on file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection, RowMapping

from tools.act.once import fingerprint, key_columns, run_once
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_list
from tools.banking import sender_domain_check
from tools.contract import ExposureArgs, Preview, SubjectArg, ToolInputError, ToolRegistry
from tools.dossier import invoice_data, vendor_brief
from tools.fields import Amount, Currency, InvoiceId, VendorId
from tools.money import (
    amount_text,
    cents_or_none,
    display,
    display_amount,
    parse_money,
    plain,
    to_cents,
)
from tools.signals import Signal, refused, unusual_amount

registry = ToolRegistry()

RECENT_BANK_CHANGE_DAYS = 60


@dataclass(frozen=True)
class PaymentPlan:
    vendor: RowMapping
    invoice: RowMapping
    amount_cents: int
    currency: str


def plan_payment(
    conn: Connection, vendor_id: object, invoice_id: object, amount: object, currency: object, *, lock: bool = False
) -> PaymentPlan:
    """Check an invoice payment against the records; ToolInputError naming the field if it must not happen."""
    value, code = parse_money(amount, currency)
    cents = to_cents(value)
    vendor = q.require(conn, t.vendors, vendor_id, field="vendor_id")
    invoice = q.require(conn, t.invoices, invoice_id, field="invoice_id", for_update=lock)
    if invoice["vendor_id"] != vendor["id"]:
        raise ToolInputError(
            f"invoice_id: invoice {invoice['id']} is from vendor {invoice['vendor_id']}, not {vendor['id']}",
            field="invoice_id",
        )
    if invoice["status"] == "paid":
        raise ToolInputError(f"invoice_id: invoice {invoice['id']} is already paid", field="invoice_id")
    if code != invoice["currency"]:
        raise ToolInputError(
            f"currency: invoice {invoice['id']} is in {invoice['currency']}, not {code}", field="currency"
        )
    paid = q.paid_cents(conn, invoice["id"])
    open_cents = invoice["amount_cents"] - paid
    if cents != open_cents:
        raise ToolInputError(
            f"amount: must equal the open amount {display(open_cents, code)} (invoice total "
            f"{display(invoice['amount_cents'], code)}, already paid {display(paid, code)}), "
            f"got {display(cents, code)}",
            field="amount",
        )
    return PaymentPlan(vendor, invoice, cents, code)


def payment_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """What makes this payment unusual: a new payee, fresh or pending bank changes, an odd amount."""
    signals: list[Signal] = []
    vendor = q.one(conn, t.vendors, args.get("vendor_id"))
    if vendor is not None:
        past = q.rows(conn, t.payments, t.payments.c.vendor_id == vendor["id"])
        if not past:
            signals.append(Signal("first_payment", 0.3, f"First payment ever to {vendor['name']}"))
        cents = cents_or_none(args.get("amount"))
        if cents is not None:
            currencies = {p["currency"] for p in past}
            found = unusual_amount(
                "unusual_for_vendor",
                cents / 100,
                [p["amount_cents"] / 100 for p in past],
                "This payment, against past payments to the vendor,",
                currencies.pop() if len(currencies) == 1 else "",
            )
            if found is not None:
                signals.append(found)
        for change in q.bank_changes_of(conn, vendor["id"]):
            signals.extend(_bank_change_signals(vendor, change, now))
    try:
        plan_payment(conn, args.get("vendor_id"), args.get("invoice_id"), args.get("amount"), args.get("currency"))
    except ToolInputError as exc:
        signals.insert(0, refused(exc))  # the verdict first, then the reasons
    return signals


def _bank_change_signals(vendor: RowMapping, change: RowMapping, now: datetime) -> list[Signal]:
    if change["status"] == "applied" and change["decided_at"] is not None:
        days = (now - change["decided_at"]).days
        if 0 <= days <= RECENT_BANK_CHANGE_DAYS:
            return [Signal("recent_bank_change", 0.35, f"Bank details changed {days} days ago ({change['id']})")]
    if change["status"] == "pending":
        origin = sender_domain_check(change["requested_by"], vendor["email"])
        weight = {"lookalike": 0.45, "unfamiliar": 0.3}.get(origin or "", 0.15)
        source = f" ({origin} domain)" if origin else ""
        return [
            Signal(
                "pending_bank_change",
                weight,
                f"Pending bank change {change['id']} from {change['requested_by']}{source} asks to redirect payments "
                f"to {change['iban']}; this payment would still go to the current IBAN {vendor['iban']}",
            )
        ]
    return []


def preview_payment(office: BackOffice, args: dict[str, Any]) -> Preview:
    """The invoice's open amount before and after, where the money goes, and the vendor's bank history."""
    with office.read() as conn:
        vendor = q.one(conn, t.vendors, args.get("vendor_id"))
        invoice = q.one(conn, t.invoices, args.get("invoice_id"))
        context: dict[str, Any] = {}
        before = after = None
        if vendor is not None:
            context["vendor"] = vendor_brief(vendor)
            context["pays_to"] = {
                "iban": vendor["iban"],
                "bic": vendor["bic"],
                "account_holder": vendor["account_holder"],
            }
            context["bank_changes"] = as_list(q.bank_changes_of(conn, vendor["id"]))
            context["payment_history"] = as_list(q.rows(conn, t.payments, t.payments.c.vendor_id == vendor["id"]))
        if invoice is not None:
            data = invoice_data(conn, invoice)
            context["invoice"] = data
            cur = invoice["currency"]
            paid = q.paid_cents(conn, invoice["id"])
            before = {
                "invoice_status": invoice["status"],
                "paid": display(paid, cur),
                "open_amount": display(invoice["amount_cents"] - paid, cur),
                "due_on": data["due_on"],
            }
            cents = cents_or_none(args.get("amount"))
            if cents is not None:
                remaining = invoice["amount_cents"] - paid - cents
                after = {
                    "invoice_status": "paid" if remaining == 0 else invoice["status"],
                    "paid": display(paid + cents, cur),
                    "open_amount": display(remaining, cur),
                    "due_on": data["due_on"],
                }
        warnings = [s.message for s in payment_signals(conn, office.now(), args)]
    who = f"{vendor['name']} ({vendor['id']})" if vendor is not None else f"vendor {args.get('vendor_id')}"
    summary = f"Pay {amount_text(args)} to {who} for invoice {args.get('invoice_id')}"
    return Preview(summary=summary, before=before, after=after, context=context, warnings=warnings)


def describe_payment(args: dict[str, Any]) -> str:
    amount = display_amount(args["amount"], args["currency"])
    return f"Pay {amount} to vendor {args['vendor_id']} (invoice {args['invoice_id']})"


@registry.tool(
    category="act",
    risk="high",
    action="hold",
    exposure=ExposureArgs("amount", "currency"),
    subject=SubjectArg("vendor_id", "vendor"),
    idempotent=True,
    preview=preview_payment,
    describe=describe_payment,
    minutes_saved=10,
)
def pay_invoice(
    office: BackOffice,
    vendor_id: VendorId,
    invoice_id: InvoiceId,
    amount: Amount,
    currency: Currency,
    idempotency_key: str,
) -> dict[str, Any]:
    """Pay a vendor invoice in full by bank transfer to the vendor's current IBAN (money leaves the company).

    The amount must equal the invoice's open amount exactly (search_invoices or get_invoice shows
    "open_amount") in the invoice's currency. Refused, with nothing paid, when the invoice is not from
    this vendor or is already paid. A pending bank-change request does not redirect the payment: it
    always goes to the IBAN on file. A repeat with the same idempotency key returns the first result.
    Returns {"payment_id", "invoice_id", "vendor_id", "amount", "currency", "paid_to_iban",
    "account_holder", "invoice_status": "paid"}.
    """
    value, code = parse_money(amount, currency)
    request = {
        "vendor_id": vendor_id,
        "invoice_id": invoice_id,
        "amount": str(value),
        "currency": code,
    }

    def act(conn: Connection) -> dict[str, Any]:
        plan = plan_payment(conn, vendor_id, invoice_id, amount, currency, lock=True)
        result = {
            "payment_id": q.new_id("PAY"),
            "invoice_id": plan.invoice["id"],
            "vendor_id": plan.vendor["id"],
            "amount": plain(plan.amount_cents),
            "currency": plan.currency,
            "paid_to_iban": plan.vendor["iban"],
            "account_holder": plan.vendor["account_holder"],
            "invoice_status": "paid",
        }
        conn.execute(
            t.payments.insert().values(
                id=result["payment_id"],
                invoice_id=plan.invoice["id"],
                vendor_id=plan.vendor["id"],
                amount_cents=plan.amount_cents,
                currency=plan.currency,
                paid_to_iban=plan.vendor["iban"],
                paid_at=office.now(),
                **key_columns(idempotency_key, request_hash, result),
            )
        )
        conn.execute(t.invoices.update().where(t.invoices.c.id == plan.invoice["id"]).values(status="paid"))
        return result

    request_hash = fingerprint("pay_invoice", request)
    return run_once(
        office,
        t.payments,
        idempotency_key,
        request_hash,
        act,
        lock=lambda conn: q.one(conn, t.invoices, invoice_id, for_update=True),
    )
