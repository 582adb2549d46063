"""Vendor bank details: the change invoice-redirection fraud aims at, so its preview says the most."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.engine import Connection, RowMapping

from tools.act import checks
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_list
from tools.banking import bic_country, compact, iban_country, parse_bic, parse_iban, sender_domain_check
from tools.contract import Preview, SubjectArg, ToolInputError, ToolRegistry
from tools.dossier import invoice_data
from tools.fields import Reason, VendorId
from tools.money import display
from tools.signals import Signal, refused

registry = ToolRegistry()

DUE_SOON_DAYS = 14
URGENCY = re.compile(r"\b(urgent|urgently|immediately|asap|today|before friday|closes?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class BankChangePlan:
    vendor: RowMapping
    iban: str
    bic: str
    account_holder: str
    reason: str
    request: RowMapping | None  # the pending request this change fulfils, if any


def plan_bank_change(
    conn: Connection,
    vendor_id: object,
    iban: object,
    bic: object,
    account_holder: object,
    reason: object,
    *,
    lock: bool = False,
) -> BankChangePlan:
    """Check new bank details; ToolInputError naming the field if they must not be applied."""
    new_iban = parse_iban(iban)
    new_bic = parse_bic(bic)
    holder = checks.text(account_holder, "account_holder", min_length=2, max_length=200, one_line=True)
    why = checks.text(reason, "reason", min_length=3)
    vendor = q.require(conn, t.vendors, vendor_id, field="vendor_id", for_update=lock)
    if (new_iban, new_bic, holder) == (vendor["iban"], vendor["bic"], vendor["account_holder"]):
        raise ToolInputError(f"iban: these are already the bank details of vendor {vendor['id']}", field="iban")
    request = next((r for r in q.bank_changes_of(conn, vendor["id"], status="pending") if r["iban"] == new_iban), None)
    return BankChangePlan(vendor, new_iban, new_bic, holder, why, request)


def bank_change_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """The marks of payment-redirection fraud: foreign account, lookalike sender, big invoice due soon."""
    signals: list[Signal] = []
    try:
        plan_bank_change(
            conn,
            args.get("vendor_id"),
            args.get("iban"),
            args.get("bic"),
            args.get("account_holder"),
            args.get("reason"),
        )
    except ToolInputError as exc:
        signals.append(refused(exc))
    vendor = q.one(conn, t.vendors, args.get("vendor_id"))
    if vendor is None:
        return signals
    new_iban = compact(args["iban"]) if isinstance(args.get("iban"), str) else ""
    new_country = new_iban[:2]
    if new_country and new_country != vendor["country"]:
        signals.append(
            Signal(
                "iban_country_differs",
                0.35,
                f"New IBAN country {new_country} differs from the vendor's country {vendor['country']}",
            )
        )
    elif new_country and new_country != iban_country(vendor["iban"]):
        signals.append(
            Signal("iban_country_changes", 0.2, f"Account moves from {iban_country(vendor['iban'])} to {new_country}")
        )
    if isinstance(args.get("bic"), str) and new_country and bic_country(args["bic"]) != new_country:
        signals.append(
            Signal(
                "bic_country_mismatch",
                0.2,
                f"BIC country {bic_country(args['bic'])} does not match IBAN country {new_country}",
            )
        )
    holder = args.get("account_holder")
    if isinstance(holder, str) and holder.strip().casefold() != vendor["name"].casefold():
        signals.append(
            Signal(
                "holder_differs",
                0.2,
                f"Account holder {holder.strip()!r} differs from the vendor name {vendor['name']!r}",
            )
        )
    signals.extend(_request_signals(conn, vendor, new_iban))
    signals.extend(_due_soon_signals(conn, vendor, now))
    if URGENCY.search(str(args.get("reason", ""))):
        signals.append(Signal("urgency", 0.1, "The reason presses for urgency, a common pressure tactic"))
    return signals


def _request_signals(conn: Connection, vendor: RowMapping, new_iban: str) -> list[Signal]:
    pending = [r for r in q.bank_changes_of(conn, vendor["id"], status="pending") if r["iban"] == new_iban]
    if not pending:
        return [
            Signal(
                "no_request_on_file",
                0.15,
                "No pending request from the vendor matches this IBAN: confirm by calling a known number",
            )
        ]
    request = pending[-1]
    out: list[Signal] = []
    origin = sender_domain_check(request["requested_by"], vendor["email"])
    if origin is not None:
        weight = 0.5 if origin == "lookalike" else 0.3
        out.append(
            Signal(
                f"{origin}_requester",
                weight,
                f"Requested by {request['requested_by']}, a {origin} domain (vendor writes from "
                f"{vendor['email'].rsplit('@', 1)[-1]})",
            )
        )
    if URGENCY.search(request["reason"]):
        out.append(Signal("urgent_request", 0.1, f"Request {request['id']} presses for urgency"))
    for invoice in _open_invoices(conn, vendor["id"]):
        days = (invoice["due_on"] - request["requested_at"].date()).days
        if 0 <= days <= 7:
            out.append(
                Signal(
                    "requested_before_due",
                    0.25,
                    f"Requested {days} days before invoice {invoice['id']} "
                    f"({display(invoice['amount_cents'], invoice['currency'])}) falls due",
                )
            )
    return out


def _due_soon_signals(conn: Connection, vendor: RowMapping, now: datetime) -> list[Signal]:
    horizon = now.date() + timedelta(days=DUE_SOON_DAYS)
    soon = [inv for inv in _open_invoices(conn, vendor["id"]) if inv["due_on"] <= horizon]
    if not soon:
        return []
    listed = ", ".join(
        f"{inv['id']} {display(inv['amount_cents'], inv['currency'])} due {inv['due_on']}" for inv in soon
    )
    return [
        Signal(
            "invoices_due_soon",
            0.2,
            f"Open invoices due within {DUE_SOON_DAYS} days would be paid to the new account: {listed}",
        )
    ]


def _open_invoices(conn: Connection, vendor_id: str) -> list[RowMapping]:
    c = t.invoices.c
    return q.rows(conn, t.invoices, c.vendor_id == vendor_id, c.status == "open", order_by=[c.due_on])


def _details(iban: object, bic: object, holder: object) -> dict[str, Any]:
    shown = compact(iban) if isinstance(iban, str) else iban
    return {
        "iban": shown,
        "iban_country": shown[:2] if isinstance(shown, str) else None,
        "bic": compact(bic) if isinstance(bic, str) else bic,
        "account_holder": holder,
    }


def preview_bank_change(office: BackOffice, args: dict[str, Any]) -> Preview:
    """The vendor's current bank details beside the proposed ones, pending requests and invoices that would follow."""
    with office.read() as conn:
        vendor = q.one(conn, t.vendors, args.get("vendor_id"))
        context: dict[str, Any] = {}
        before = None
        if vendor is not None:
            before = _details(vendor["iban"], vendor["bic"], vendor["account_holder"])
            context["vendor"] = {k: vendor[k] for k in ("id", "name", "email", "country")}
            context["bank_changes"] = as_list(q.bank_changes_of(conn, vendor["id"]))
            context["open_invoices"] = [invoice_data(conn, inv) for inv in _open_invoices(conn, vendor["id"])]
            context["notes"] = as_list(q.notes_about(conn, vendor["id"]))
        warnings = [s.message for s in bank_change_signals(conn, office.now(), args)]
    after = _details(args.get("iban"), args.get("bic"), args.get("account_holder"))
    who = f"{vendor['name']} ({vendor['id']})" if vendor is not None else f"vendor {args.get('vendor_id')}"
    summary = f"Change bank details of {who} to IBAN {after['iban']}"
    return Preview(summary=summary, before=before, after=after, context=context, warnings=warnings)


def describe_bank_change(args: dict[str, Any]) -> str:
    return f"Change bank details of vendor {args['vendor_id']} to IBAN {compact(args['iban'])} (BIC {args['bic']})"


@registry.tool(
    category="act",
    risk="critical",
    action="hold",
    subject=SubjectArg("vendor_id", "vendor"),
    preview=preview_bank_change,
    describe=describe_bank_change,
    minutes_saved=15,
)
def change_vendor_bank_details(
    office: BackOffice,
    vendor_id: VendorId,
    iban: Annotated[
        str, Field(min_length=15, max_length=42, description="New IBAN; spaces allowed, checksum verified.")
    ],
    bic: Annotated[str, Field(min_length=8, max_length=14, description="New BIC (SWIFT code), 8 or 11 characters.")],
    account_holder: Annotated[
        str, Field(min_length=2, max_length=200, description="Name of the account holder exactly as the bank has it.")
    ],
    reason: Reason,
) -> dict[str, Any]:
    """Replace a vendor's bank account (IBAN, BIC, holder): every later payment to the vendor goes there.

    Only do this after the vendor confirmed the change through a channel already on file (a call to a
    known number), never on the strength of an e-mail alone. Refused, with nothing changed, when the
    IBAN checksum or BIC format is invalid or the details equal the current ones. A pending request
    from get_vendor with the same IBAN is marked applied; otherwise the change is recorded as new.
    Returns {"vendor_id", "change_id", "previous": {iban, bic, account_holder}, "current": {...},
    "fulfilled_request": id of the pending request applied, or null}.
    """
    with office.write() as conn:
        plan = plan_bank_change(conn, vendor_id, iban, bic, account_holder, reason, lock=True)
        vendor, now = plan.vendor, office.now()
        previous = {"iban": vendor["iban"], "bic": vendor["bic"], "account_holder": vendor["account_holder"]}
        current = {"iban": plan.iban, "bic": plan.bic, "account_holder": plan.account_holder}
        history = {f"previous_{k}": v for k, v in previous.items()}
        if plan.request is not None:
            change_id = plan.request["id"]
            conn.execute(
                t.bank_changes.update()
                .where(t.bank_changes.c.id == change_id)
                .values(status="applied", decided_at=now, **history, **current)
            )
        else:
            change_id = q.new_id("BC")
            conn.execute(
                t.bank_changes.insert().values(
                    id=change_id,
                    vendor_id=vendor["id"],
                    status="applied",
                    requested_by="countersign",
                    requested_at=now,
                    reason=plan.reason,
                    decided_at=now,
                    **history,
                    **current,
                )
            )
        conn.execute(t.vendors.update().where(t.vendors.c.id == vendor["id"]).values(**current))
    return {
        "vendor_id": vendor["id"],
        "change_id": change_id,
        "previous": previous,
        "current": current,
        "fulfilled_request": plan.request["id"] if plan.request is not None else None,
    }
