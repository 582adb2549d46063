"""Record maintenance: correcting a customer's details, and deleting a record (kept whole in the deletion log)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy.engine import Connection, RowMapping

from tools.act import checks
from tools.act.deletion import RecordType, apply_delete, plan_delete
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_data
from tools.contract import Hints, Preview, SubjectArg, ToolInputError, ToolRegistry
from tools.dossier import customer_brief
from tools.fields import CustomerId, Reason, RecordId
from tools.signals import Signal, refused

registry = ToolRegistry()

EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
PHONE = re.compile(r"^\+?[0-9 ()-]{6,40}$")
TIERS = ("free", "pro", "enterprise")
# ISO 3166 codes of the markets the company sells to.
COUNTRIES = frozenset({
    "AT", "BE", "BG", "CH", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU", "IE", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK", "US", "CA", "AU",
})  # fmt: skip
EDITABLE = ("name", "email", "phone", "tier", "country")
# Fields this tool never touches, with the reason the model is told.
PROTECTED = {
    "compliance_hold": "compliance holds are set and lifted by compliance, not by this tool",
    "hold_reason": "compliance holds are set and lifted by compliance, not by this tool",
    "id": "ids never change",
    "created_on": "the creation date is history",
}

Changes = Annotated[
    dict[str, str],
    Field(
        min_length=1,
        description="Field -> new value. Editable: name, email, phone, tier (free, pro, enterprise), "
        'country (ISO code such as DE). Example: {"email": "ap@acme.example"}.',
    ),
]


@dataclass(frozen=True)
class UpdatePlan:
    customer: RowMapping
    changes: dict[str, tuple[Any, str]]  # field -> (current value, new value), only fields that change


def _clean(conn: Connection, customer: RowMapping, key: str, value: object) -> str:
    where = f"changes.{key}"
    if key == "name":
        return checks.text(value, where, min_length=2, max_length=200, one_line=True)
    text = checks.text(value, where, max_length=320, one_line=True)
    if key == "email":
        text = text.lower()
        if not EMAIL.match(text):
            raise ToolInputError(f"{where}: {text!r} is not an e-mail address", field=where)
        other = conn.execute(
            t.customers.select().where(t.customers.c.email == text, t.customers.c.id != customer["id"])
        ).first()
        if other is not None:
            raise ToolInputError(f"{where}: {text} already belongs to customer {other.id}", field=where)
    elif key == "phone" and not PHONE.match(text):
        raise ToolInputError(f"{where}: {text!r} is not a phone number", field=where)
    elif key == "tier" and text not in TIERS:
        raise ToolInputError(f"{where}: must be one of {', '.join(TIERS)}", field=where)
    elif key == "country":
        text = text.upper()
        if text not in COUNTRIES:
            raise ToolInputError(f"{where}: {text!r} is not a country we sell to", field=where)
    return text


def plan_update(conn: Connection, customer_id: object, changes: object, *, lock: bool = False) -> UpdatePlan:
    """Check a customer update; ToolInputError naming the field (``changes.<key>``) if it must not be made."""
    if not isinstance(changes, dict) or not changes:
        raise ToolInputError("changes: name at least one field to change", field="changes")
    customer = q.require(conn, t.customers, customer_id, field="customer_id", for_update=lock)
    planned: dict[str, tuple[Any, str]] = {}
    for key, value in changes.items():
        if key in PROTECTED:
            raise ToolInputError(f"changes.{key}: {PROTECTED[key]}", field=f"changes.{key}")
        if key not in EDITABLE:
            raise ToolInputError(
                f"changes.{key}: not a field; editable are {', '.join(EDITABLE)}", field=f"changes.{key}"
            )
        new = _clean(conn, customer, key, value)
        if new != customer[key]:
            planned[key] = (customer[key], new)
    if not planned:
        raise ToolInputError("changes: every value equals the current one; nothing would change", field="changes")
    return UpdatePlan(customer, planned)


def update_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """Changes that open doors: a new e-mail (where resets and invoices go), a new country (tax), a hold."""
    try:
        plan = plan_update(conn, args.get("customer_id"), args.get("changes"))
    except ToolInputError as exc:
        return [refused(exc)]
    signals: list[Signal] = []
    if "email" in plan.changes:
        signals.append(
            Signal(
                "email_change",
                0.3,
                "New e-mail address: messages and invoices would go there; confirm through the address on file",
            )
        )
    if "country" in plan.changes:
        signals.append(Signal("country_change", 0.2, "Country changes: tax treatment and currency may change"))
    if "name" in plan.changes:
        signals.append(Signal("name_change", 0.15, "Legal name changes: check a registry extract"))
    if "tier" in plan.changes:
        signals.append(
            Signal("tier_change", 0.1, f"Tier {plan.changes['tier'][0]} -> {plan.changes['tier'][1]} changes pricing")
        )
    if plan.customer["compliance_hold"]:
        signals.append(
            Signal("compliance_hold", 0.3, f"Customer is on compliance hold: {plan.customer['hold_reason']}")
        )
    return signals


def preview_update(office: BackOffice, args: dict[str, Any]) -> Preview:
    """The customer's current values beside the proposed ones, for the fields that would change."""
    with office.read() as conn:
        customer = q.one(conn, t.customers, args.get("customer_id"))
        warnings = [s.message for s in update_signals(conn, office.now(), args)]
    changes = args.get("changes") if isinstance(args.get("changes"), dict) else {}
    assert isinstance(changes, dict)
    before = {k: customer[k] if customer is not None and k in EDITABLE else None for k in changes}
    context = {"customer": customer_brief(customer)} if customer is not None else {}
    who = f"{customer['name']} ({customer['id']})" if customer is not None else f"customer {args.get('customer_id')}"
    summary = f"Update {', '.join(changes) or 'nothing'} of {who}"
    return Preview(summary=summary, before=before, after=dict(changes), context=context, warnings=warnings)


def describe_update(args: dict[str, Any]) -> str:
    return f"Update customer {args['customer_id']}: {', '.join(sorted(args['changes']))}"


@registry.tool(
    category="act",
    risk="medium",
    action="hold",
    subject=SubjectArg("customer_id", "customer"),
    preview=preview_update,
    describe=describe_update,
    minutes_saved=4,
)
def update_customer_record(office: BackOffice, customer_id: CustomerId, changes: Changes) -> dict[str, Any]:
    """Correct a customer's name, e-mail, phone, tier or country; each change is logged with its old value.

    Refused, with nothing changed, for an unknown field, a compliance field (holds are for compliance
    to set and lift), an invalid value (e-mail, phone, tier, country), an e-mail another customer
    uses, or when nothing would change. Values equal to the current ones are skipped.
    Returns {"customer_id", "changed": {field: {"from", "to"}}}.
    """
    with office.write() as conn:
        plan = plan_update(conn, customer_id, changes, lock=True)
        cid, now = plan.customer["id"], office.now()
        conn.execute(
            t.customers.update().where(t.customers.c.id == cid).values({k: v[1] for k, v in plan.changes.items()})
        )
        for key, (old, new) in plan.changes.items():
            conn.execute(
                t.record_changes.insert().values(
                    id=q.new_id("RC"),
                    record_type="customer",
                    record_id=cid,
                    field=key,
                    old_value=None if old is None else str(old),
                    new_value=new,
                    changed_at=now,
                )
            )
    return {"customer_id": cid, "changed": {k: {"from": old, "to": new} for k, (old, new) in plan.changes.items()}}


RecordTypeArg = Annotated[RecordType, Field(description="Kind of record: customer, order, invoice, vendor or note.")]


def delete_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """Deletion is permanent; more so when it takes related records with it."""
    try:
        plan = plan_delete(conn, args.get("record_type"), args.get("record_id"))
    except ToolInputError as exc:
        return [refused(exc)]
    signals = [Signal("permanent", 0.4, f"Permanently deletes {plan.record_type} {plan.record['id']}")]
    if related := plan.related_count():
        signals.append(Signal("cascade", min(0.4, 0.1 + 0.03 * related), f"Also removes {related} related records"))
    return signals


def preview_delete(office: BackOffice, args: dict[str, Any]) -> Preview:
    """The record and every related row the delete would remove (or why the delete would be refused)."""
    with office.read() as conn:
        warnings = [s.message for s in delete_signals(conn, office.now(), args)]
        try:
            plan = plan_delete(conn, args.get("record_type"), args.get("record_id"))
        except ToolInputError:
            plan = None
    summary = f"Delete {args.get('record_type')} {args.get('record_id')}"
    if plan is None:
        return Preview(summary=summary, warnings=warnings)
    context = {
        "would_remove": plan.ids(),
        "rows": {name: [as_data(r) for r in rows] for name, rows in plan.rows.items()},
    }
    return Preview(
        summary=summary,
        before={"record": as_data(plan.record)},
        after={"record": None},
        context=context,
        warnings=warnings,
    )


def describe_delete(args: dict[str, Any]) -> str:
    return f"Delete {args['record_type']} {args['record_id']}"


@registry.tool(
    category="act",
    risk="critical",
    action="hold",
    subject=SubjectArg("record_id", "record"),
    hints=Hints(destructive=True),
    preview=preview_delete,
    describe=describe_delete,
    minutes_saved=5,
)
def delete_record(
    office: BackOffice, record_type: RecordTypeArg, record_id: RecordId, reason: Reason
) -> dict[str, Any]:
    """Permanently delete a customer, order, invoice, vendor or CRM note, with what exists only because of it.

    A customer goes with its orders, open refund requests and notes; a vendor with its unpaid invoices
    and bank-change history. Refused, with nothing deleted, when financial history must be kept (issued
    refunds, payments), the customer is on compliance hold or has contracts, or the id does not match
    the record type. Every removed row is kept in the deletion log.
    Returns {"deletion_id", "record_type", "record_id", "removed": {table: [ids]}}.
    """
    why = checks.text(reason, "reason", min_length=3)
    with office.write() as conn:
        plan = plan_delete(conn, record_type, record_id)
        deletion_id = apply_delete(conn, plan, why, office.now())
    return {"deletion_id": deletion_id, "record_type": record_type, "record_id": record_id, "removed": plan.ids()}
