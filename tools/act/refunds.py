"""Refunds: money back to a customer for (part of) an order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from tools.act import checks
from tools.act.once import fingerprint, key_columns, run_once
from tools.backoffice import queries as q
from tools.backoffice import tables as t
from tools.backoffice.store import BackOffice
from tools.backoffice.views import as_data, as_list
from tools.contract import ExposureArgs, Preview, SubjectArg, ToolInputError, ToolRegistry
from tools.dossier import customer_brief
from tools.fields import Amount, Currency, CustomerId, OrderId, Reason
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


@dataclass(frozen=True)
class RefundPlan:
    customer: RowMapping
    order: RowMapping
    amount_cents: int
    currency: str
    reason: str
    refunded_cents: int  # issued on the order before this refund


def plan_refund(
    conn: Connection,
    customer_id: object,
    order_id: object,
    amount: object,
    currency: object,
    reason: object,
    *,
    lock: bool = False,
) -> RefundPlan:
    """Check a refund against the records; ToolInputError naming the field if it must not happen."""
    value, code = parse_money(amount, currency)
    cents = to_cents(value)
    why = checks.text(reason, "reason", min_length=3)
    customer = q.require(conn, t.customers, customer_id, field="customer_id")
    order = q.require(conn, t.orders, order_id, field="order_id", for_update=lock)
    if order["customer_id"] != customer["id"]:
        raise ToolInputError(
            f"order_id: order {order['id']} belongs to customer {order['customer_id']}, not {customer['id']}",
            field="order_id",
        )
    if customer["compliance_hold"]:
        raise ToolInputError(
            f"customer_id: {customer['name']} ({customer['id']}) is on compliance hold; refunds are frozen "
            "until compliance clears the account",
            field="customer_id",
        )
    if order["status"] == "cancelled":
        raise ToolInputError(f"order_id: order {order['id']} was cancelled before it was charged", field="order_id")
    if code != order["currency"]:
        raise ToolInputError(
            f"currency: order {order['id']} was paid in {order['currency']}, not {code}", field="currency"
        )
    refunded = q.refunded_cents(conn, order["id"])
    if refunded + cents > order["total_cents"]:
        raise ToolInputError(
            f"amount: refunds would total {display(refunded + cents, code)}, above the order total "
            f"{display(order['total_cents'], code)} (already refunded {display(refunded, code)}; at most "
            f"{display(order['total_cents'] - refunded, code)} remains)",
            field="amount",
        )
    return RefundPlan(customer, order, cents, code, why, refunded)


def refund_signals(conn: Connection, now: datetime, args: dict[str, Any]) -> list[Signal]:
    """What makes this refund unusual: size against the order and against the customer's history."""
    signals: list[Signal] = []
    order = q.one(conn, t.orders, args.get("order_id"))
    cents = cents_or_none(args.get("amount"))
    if order is not None and cents is not None:
        total, cur = order["total_cents"], order["currency"]
        if cents > total:
            signals.append(
                Signal(
                    "above_order_total",
                    0.6,
                    f"Refund {display(cents, cur)} is above the order total {display(total, cur)}",
                )
            )
        elif cents * 2 >= total:
            signals.append(Signal("large_share", 0.15, f"Refund is {100 * cents // total}% of the order total"))
        for request in q.refunds_of_order(conn, order["id"]):
            if request["status"] == "requested" and request["amount_cents"] > total:
                signals.append(
                    Signal(
                        "request_above_total",
                        0.2,
                        f"The customer asked for {display(request['amount_cents'], cur)} "
                        f"({request['id']}), more than the order total {display(total, cur)}",
                    )
                )
        past = q.rows(
            conn,
            t.refunds,
            t.refunds.c.customer_id == order["customer_id"],
            t.refunds.c.status == "issued",
            t.refunds.c.currency == cur,
        )
        if not past:
            signals.append(Signal("first_refund", 0.1, "First refund for this customer"))
        history = [r["amount_cents"] / 100 for r in past]
        for found in (
            unusual_amount(
                "unusual_for_customer", cents / 100, history, "This refund, against the customer's past refunds,", cur
            ),
            unusual_amount(
                "unusual_overall", cents / 100, _all_issued(conn, cur), "This refund, against all refunds,", cur
            ),
        ):
            if found is not None:
                signals.append(found)
    try:
        plan_refund(
            conn,
            args.get("customer_id"),
            args.get("order_id"),
            args.get("amount"),
            args.get("currency"),
            args.get("reason"),
        )
    except ToolInputError as exc:
        signals.insert(0, refused(exc))  # the verdict first, then the reasons
    return signals


def _all_issued(conn: Connection, currency: str) -> list[float]:
    stmt = sa.select(t.refunds.c.amount_cents).where(t.refunds.c.status == "issued", t.refunds.c.currency == currency)
    return [cents / 100 for cents in conn.execute(stmt).scalars()]


def preview_refund(office: BackOffice, args: dict[str, Any]) -> Preview:
    """The order and what has been refunded on it, before and after this refund, and the customer's refund history."""
    with office.read() as conn:
        customer = q.one(conn, t.customers, args.get("customer_id"))
        order = q.one(conn, t.orders, args.get("order_id"))
        context: dict[str, Any] = {}
        before = after = None
        if customer is not None:
            context["customer"] = customer_brief(customer)
            context["customer_refunds"] = as_list(q.rows(conn, t.refunds, t.refunds.c.customer_id == customer["id"]))
        if order is not None:
            total, cur, refunded = order["total_cents"], order["currency"], q.refunded_cents(conn, order["id"])
            context["order"] = as_data(order)
            context["refunds_on_order"] = as_list(q.refunds_of_order(conn, order["id"]))
            before = _refund_state(order["status"], total, refunded, cur)
            cents = cents_or_none(args.get("amount"))
            if cents is not None:
                status = "refunded" if refunded + cents == total else order["status"]
                after = _refund_state(status, total, refunded + cents, cur)
        warnings = [s.message for s in refund_signals(conn, office.now(), args)]
    who = f"{customer['name']} ({customer['id']})" if customer is not None else f"customer {args.get('customer_id')}"
    summary = f"Refund {amount_text(args)} to {who} for order {args.get('order_id')}"
    return Preview(summary=summary, before=before, after=after, context=context, warnings=warnings)


def _refund_state(status: str, total: int, refunded: int, currency: str) -> dict[str, Any]:
    return {
        "order_status": status,
        "order_total": display(total, currency),
        "refunded": display(refunded, currency),
        "refundable": display(total - refunded, currency),
    }


def describe_refund(args: dict[str, Any]) -> str:
    amount = display_amount(args["amount"], args["currency"])
    return f"Refund {amount} to customer {args['customer_id']} (order {args['order_id']})"


@registry.tool(
    category="act",
    risk="high",
    action="hold",
    exposure=ExposureArgs("amount", "currency"),
    subject=SubjectArg("customer_id", "customer"),
    idempotent=True,
    preview=preview_refund,
    describe=describe_refund,
    minutes_saved=12,
)
def issue_refund(
    office: BackOffice,
    customer_id: CustomerId,
    order_id: OrderId,
    amount: Amount,
    currency: Currency,
    reason: Reason,
    idempotency_key: str,
) -> dict[str, Any]:
    """Refund part or all of a customer's order to the original payment method (money leaves the company).

    Refused, with nothing done, when the order is not this customer's, the customer is on compliance
    hold, the order was cancelled, the currency is not the order's, or the issued refunds on the order
    plus this one would exceed the order total (get_order shows "refundable"). Several partial refunds
    are fine. A repeat with the same idempotency key returns the first result and refunds nothing more.
    Returns {"refund_id", "order_id", "customer_id", "amount", "currency", "status": "issued",
    "refunded_total", "order_total", "remaining_refundable", "order_status"}.
    """
    value, code = parse_money(amount, currency)
    request = {
        "customer_id": customer_id,
        "order_id": order_id,
        "amount": str(value),
        "currency": code,
        "reason": checks.text(reason, "reason", min_length=3),
    }

    def act(conn: Connection) -> dict[str, Any]:
        plan = plan_refund(conn, customer_id, order_id, amount, currency, reason, lock=True)
        order, refunded = plan.order, plan.refunded_cents + plan.amount_cents
        status = "refunded" if refunded == order["total_cents"] else order["status"]
        result = {
            "refund_id": q.new_id("R"),
            "order_id": order["id"],
            "customer_id": plan.customer["id"],
            "amount": plain(plan.amount_cents),
            "currency": plan.currency,
            "status": "issued",
            "refunded_total": plain(refunded),
            "order_total": plain(order["total_cents"]),
            "remaining_refundable": plain(order["total_cents"] - refunded),
            "order_status": status,
        }
        conn.execute(
            t.refunds.insert().values(
                id=result["refund_id"],
                order_id=order["id"],
                customer_id=plan.customer["id"],
                amount_cents=plan.amount_cents,
                currency=plan.currency,
                status="issued",
                reason=plan.reason,
                created_at=office.now(),
                **key_columns(idempotency_key, request_hash, result),
            )
        )
        if status != order["status"]:
            conn.execute(t.orders.update().where(t.orders.c.id == order["id"]).values(status=status))
        return result

    request_hash = fingerprint("issue_refund", request)
    return run_once(
        office,
        t.refunds,
        idempotency_key,
        request_hash,
        act,
        lock=lambda conn: q.one(conn, t.orders, order_id, for_update=True),
    )
