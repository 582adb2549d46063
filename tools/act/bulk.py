"""Bulk operations on customers. Blocked by the default policy: they exist so the block can be seen working."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import Field
from sqlalchemy.engine import Connection, RowMapping

from tools.act import checks
from tools.act.deletion import DeletePlan, apply_delete, plan_delete
from tools.act.messaging import OWN_DOMAIN
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_data
from tools.contract import Hints, Preview, ToolInputError, ToolRegistry
from tools.dossier import customer_brief
from tools.fields import CustomerId, Reason
from tools.signals import Signal, refused

registry = ToolRegistry()

EXPORT_FIELDS = ("id", "name", "email", "phone", "tier", "country")
SEGMENT = re.compile(r"^(all|tier:(free|pro|enterprise)|country:[A-Z]{2})$")
DESTINATION = re.compile(r"^((https|sftp|s3)://[^\s/]+(/\S*)?|[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,})$")

Segment = Annotated[
    str, Field(max_length=100, description="Which customers: all, tier:<free|pro|enterprise> or country:<ISO code>.")
]
Destination = Annotated[
    str,
    Field(max_length=500, description="Where the file goes: an https://, sftp:// or s3:// URL, or an e-mail address."),
]
CustomerIds = Annotated[
    list[CustomerId], Field(min_length=1, max_length=100, description="Ids of the customers to delete, each once.")
]


@dataclass(frozen=True)
class ExportPlan:
    segment: str
    destination: str
    customers: list[RowMapping]


def _host(destination: str) -> str:
    return re.sub(r"^[a-z0-9]+://", "", destination).split("/", 1)[0].rsplit("@", 1)[-1].lower()


def plan_export(conn: Connection, segment: object, destination: object) -> ExportPlan:
    """The customers a segment selects; ToolInputError naming the field for a bad segment or destination."""
    seg = checks.text(segment, "segment", max_length=100)
    if not SEGMENT.match(seg):
        raise ToolInputError("segment: use all, tier:<free|pro|enterprise> or country:<ISO code>", field="segment")
    dest = checks.text(destination, "destination", max_length=500, one_line=True)
    if not DESTINATION.match(dest):
        raise ToolInputError(
            "destination: use an https://, sftp:// or s3:// URL or an e-mail address", field="destination"
        )
    c = t.customers.c
    where: list[sa.ColumnElement[bool]] = []
    if seg.startswith("tier:"):
        where.append(c.tier == seg.removeprefix("tier:"))
    elif seg.startswith("country:"):
        where.append(c.country == seg.removeprefix("country:"))
    return ExportPlan(seg, dest, q.rows(conn, t.customers, *where))


def export_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """Personal data leaving the system: how much, to whom, and whether held accounts are in it."""
    try:
        plan = plan_export(conn, args.get("segment"), args.get("destination"))
    except ToolInputError as exc:
        return [refused(exc)]
    signals = [
        Signal("personal_data", 0.6, f"Sends personal data of {len(plan.customers)} customers out of the system")
    ]
    if _host(plan.destination) != OWN_DOMAIN:
        signals.append(
            Signal("external_destination", 0.3, f"Destination {_host(plan.destination)} is outside the company")
        )
    if held := [c["id"] for c in plan.customers if c["compliance_hold"]]:
        signals.append(Signal("includes_hold", 0.2, f"Includes customers on compliance hold: {', '.join(held)}"))
    if plan.segment == "all":
        signals.append(Signal("whole_base", 0.1, "Segment 'all' is the whole customer base"))
    return signals


def preview_export(office: BackOffice, args: dict[str, Any]) -> Preview:
    """How many customers and which fields would leave, and where to."""
    with office.read() as conn:
        warnings = [s.message for s in export_signals(conn, office.now(), args)]
        try:
            plan: ExportPlan | None = plan_export(conn, args.get("segment"), args.get("destination"))
        except ToolInputError:
            plan = None
    summary = f"Export customer data (segment {args.get('segment')}) to {args.get('destination')}"
    if plan is None:
        return Preview(summary=summary, warnings=warnings)
    after = {"destination": plan.destination, "customers": len(plan.customers), "fields": list(EXPORT_FIELDS)}
    context = {"customer_ids": [c["id"] for c in plan.customers]}
    return Preview(summary=summary, after=after, context=context, warnings=warnings)


def describe_export(args: dict[str, Any]) -> str:
    return f"Export customer data (segment {args['segment']}) to {args['destination']}"


@registry.tool(
    category="act", risk="critical", action="block", preview=preview_export, describe=describe_export, minutes_saved=30
)
def bulk_export_customer_data(office: BackOffice, segment: Segment, destination: Destination) -> dict[str, Any]:
    """Send the contact data (id, name, e-mail, phone, tier, country) of a whole customer segment to a destination.

    Blocked by the default policy: personal data leaves the company. In this demo the export is
    recorded, not transmitted. Refused for a malformed segment or destination.
    Returns {"export_id", "segment", "destination", "customer_count", "fields"}.
    """
    with office.write() as conn:
        plan = plan_export(conn, segment, destination)
        export_id = q.new_id("EXP")
        ids = [c["id"] for c in plan.customers]
        conn.execute(
            t.exports.insert().values(
                id=export_id,
                segment=plan.segment,
                destination=plan.destination,
                customer_count=len(ids),
                customer_ids=json.dumps(ids),
                created_at=office.now(),
            )
        )
    return {
        "export_id": export_id,
        "segment": plan.segment,
        "destination": plan.destination,
        "customer_count": len(ids),
        "fields": list(EXPORT_FIELDS),
    }


def plan_bulk_delete(conn: Connection, customer_ids: object) -> list[DeletePlan]:
    """One delete plan per customer; ToolInputError naming ``customer_ids.<n>`` for the first that must be kept."""
    if not isinstance(customer_ids, list) or not customer_ids:
        raise ToolInputError("customer_ids: list at least one customer id", field="customer_ids")
    if len(set(map(str, customer_ids))) != len(customer_ids):
        raise ToolInputError("customer_ids: each customer may appear only once", field="customer_ids")
    return [plan_delete(conn, "customer", cid, field=f"customer_ids.{n}") for n, cid in enumerate(customer_ids)]


def bulk_delete_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    try:
        plans = plan_bulk_delete(conn, args.get("customer_ids"))
    except ToolInputError as exc:
        return [refused(exc)]
    related = sum(p.related_count() for p in plans)
    return [Signal("bulk_permanent", 0.6, f"Permanently deletes {len(plans)} customers and {related} related records")]


def preview_bulk_delete(office: BackOffice, args: dict[str, Any]) -> Preview:
    """Each customer that would go, with the related records that go with it."""
    with office.read() as conn:
        warnings = [s.message for s in bulk_delete_signals(conn, office.now(), args)]
        try:
            plans = plan_bulk_delete(conn, args.get("customer_ids"))
        except ToolInputError:
            plans = []
    ids = args.get("customer_ids") if isinstance(args.get("customer_ids"), list) else []
    summary = f"Delete {_customers(len(ids or []))}"
    if not plans:
        return Preview(summary=summary, warnings=warnings)
    before = {"customers": [customer_brief(p.record) for p in plans]}
    context = {"would_remove": {p.record["id"]: p.ids() for p in plans}, "records": [as_data(p.record) for p in plans]}
    return Preview(summary=summary, before=before, after={"customers": []}, context=context, warnings=warnings)


def _customers(count: int) -> str:
    return "1 customer" if count == 1 else f"{count} customers"


def describe_bulk_delete(args: dict[str, Any]) -> str:
    ids = [str(i) for i in args["customer_ids"]]
    shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
    return f"Delete {_customers(len(ids))} ({shown})"


@registry.tool(
    category="act",
    risk="critical",
    action="block",
    hints=Hints(destructive=True),
    preview=preview_bulk_delete,
    describe=describe_bulk_delete,
    minutes_saved=10,
)
def bulk_delete_customers(office: BackOffice, customer_ids: CustomerIds, reason: Reason) -> dict[str, Any]:
    """Permanently delete several customers at once, each with its orders, refund requests and notes.

    Blocked by the default policy. All or nothing: if any customer must be kept (compliance hold,
    issued refunds, contracts) or is unknown, nothing is deleted and the error names it.
    Returns {"deleted": [customer ids], "deletion_ids": [...], "removed": {customer id: {table: [ids]}}}.
    """
    why = checks.text(reason, "reason", min_length=3)
    with office.write() as conn:
        plans = plan_bulk_delete(conn, customer_ids)
        deletion_ids = [apply_delete(conn, plan, why, office.now()) for plan in plans]
    return {
        "deleted": [p.record["id"] for p in plans],
        "deletion_ids": deletion_ids,
        "removed": {p.record["id"]: p.ids() for p in plans},
    }
