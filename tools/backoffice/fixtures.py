"""The hand-written demo records: the same whatever the seed, with the ids in :mod:`tools.backoffice.ids`.

Each edge case carries enough history around it for the exception scoring to have something to
compare against (past refunds, past payments, a legitimate earlier bank change). Rows are written
as tuples under a column list, so each record reads as one line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from tools.backoffice import ids
from tools.banking import make_iban
from tools.money import to_cents

Rows = dict[str, list[dict[str, Any]]]
DayFn = Callable[[int], date]

NORDLICHT_IBAN = make_iban("DE", "370400440532013000")
BRIGHTDESK_IBAN = make_iban("NL", "RABO0123456789")
BRIGHTDESK_OLD_IBAN = make_iban("NL", "ABNA0417164300")
KESTREL_IBAN = make_iban("FR", "30004000031234567890143")
HOLD_REASON = "Sanctions screening match under review (case CMP-2291): no refunds or outbound messages until cleared."
FRAUD_REASON = (
    "We have moved our banking to a new provider. Please update our details before the next payment run; "
    "the old account closes on Friday. Urgent."
)


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def cents(amount: str) -> int:
    return to_cents(Decimal(amount))


def _table(columns: str, records: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    names = columns.split()
    return [dict(zip(names, record, strict=True)) for record in records]


def fixed_rows(today: date) -> Rows:
    """Every hand-written row, keyed by table name, dated relative to ``today``."""

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    def due(days: int) -> date:
        return today + timedelta(days=days)

    rows: Rows = {}
    rows["bo_customer"] = _table("id name email phone tier country compliance_hold hold_reason created_on", [
        (ids.REFUND_CUSTOMER_ID, "Acme Robotics GmbH", "ap@acme-robotics.de", "+49 89 5550 1001", "enterprise", "DE",
         False, None, ago(820)),
        (ids.OVER_REFUND_CUSTOMER_ID, "Bluebell Florists Ltd", "orders@bluebell-florists.co.uk", "+44 20 5550 1002",
         "pro", "GB", False, None, ago(400)),
        (ids.HOLD_CUSTOMER_ID, "Northwind Trading AB", "finance@northwind-trading.se", "+46 8 5550 1003",
         "enterprise", "SE", True, HOLD_REASON, ago(610)),
        (ids.DELETABLE_CUSTOMER_ID, "Juniper Cafe SARL", "bonjour@juniper-cafe.fr", None, "free", "FR", False, None,
         ago(95)),
    ])  # fmt: skip
    rows["bo_order"] = _table("id customer_id status items total_cents currency placed_on", [
        (ids.REFUND_ORDER_ID, ids.REFUND_CUSTOMER_ID, "delivered", "1 × Standing desk, 1 × Monitor arm (bundle)",
         cents("940.00"), "EUR", ago(12)),
        ("O-1002", ids.REFUND_CUSTOMER_ID, "delivered", "2 × Desk lamp, 2 × Monitor arm", cents("320.00"), "EUR",
         ago(310)),
        ("O-1003", ids.REFUND_CUSTOMER_ID, "delivered", "1 × Acoustic panel set, 2 × Footrest, 5 × Cable tray kit",
         cents("610.00"), "EUR", ago(210)),
        ("O-1004", ids.REFUND_CUSTOMER_ID, "delivered", "1 × Mobile whiteboard, 2 × Footrest (trade price)",
         cents("275.00"), "EUR", ago(95)),
        (ids.OVER_REFUND_ORDER_ID, ids.OVER_REFUND_CUSTOMER_ID, "delivered", "1 × Ergonomic chair (trade price)",
         cents("480.00"), "GBP", ago(9)),
        (ids.HOLD_ORDER_ID, ids.HOLD_CUSTOMER_ID, "delivered", "1 × Conference table", cents("12400.00"), "SEK",
         ago(40)),
        (ids.DELETABLE_ORDER_ID, ids.DELETABLE_CUSTOMER_ID, "delivered", "1 × Monitor arm", cents("129.00"), "EUR",
         ago(30)),
    ])  # fmt: skip
    rows["bo_refund"] = _table("id order_id customer_id amount_cents currency status reason created_at", [
        ("R-5001", "O-1002", ids.REFUND_CUSTOMER_ID, cents("45.00"), "EUR", "issued", "Scratched desk lamp base",
         at(ago(300), 14, 5)),
        ("R-5002", "O-1003", ids.REFUND_CUSTOMER_ID, cents("60.00"), "EUR", "issued", "Late delivery goodwill gesture",
         at(ago(200), 11, 40)),
        ("R-5003", "O-1004", ids.REFUND_CUSTOMER_ID, cents("38.50"), "EUR", "issued", "Missing parts in the box",
         at(ago(90), 9, 15)),
        (ids.OVER_REFUND_REQUEST_ID, ids.OVER_REFUND_ORDER_ID, ids.OVER_REFUND_CUSTOMER_ID,
         to_cents(ids.OVER_REFUND_REQUESTED), "GBP", "requested",
         "Chair arrived damaged; customer asks for the order total plus 80.00 GBP for a cancelled event.",
         at(ago(2), 15, 30)),
    ])  # fmt: skip
    rows["bo_vendor"] = _table("id name email country iban bic account_holder created_on", [
        (ids.FRAUD_VENDOR_ID, "Nordlicht Logistik GmbH", "billing@nordlicht-logistik.de", "DE", NORDLICHT_IBAN,
         "HNSADEFF", "Nordlicht Logistik GmbH", ago(1500)),
        (ids.PAYABLE_VENDOR_ID, "Brightdesk BV", "invoices@brightdesk.nl", "NL", BRIGHTDESK_IBAN, "RABONL2U",
         "Brightdesk BV", ago(900)),
        (ids.NEW_VENDOR_ID, "Kestrel Print Studio SAS", "compta@kestrel-print.fr", "FR", KESTREL_IBAN, "KESTFRPP",
         "Kestrel Print Studio SAS", ago(20)),
    ])  # fmt: skip
    rows["bo_bank_change"] = _table(
        "id vendor_id status iban bic account_holder previous_iban previous_bic previous_account_holder "
        "requested_by requested_at reason decided_at", [
        (ids.FRAUD_BANK_CHANGE_ID, ids.FRAUD_VENDOR_ID, "pending", ids.FRAUD_NEW_IBAN, ids.FRAUD_NEW_BIC,
         "Nordlicht Logistik GmbH", None, None, None, ids.FRAUD_REQUESTER, at(ago(1), 16, 47), FRAUD_REASON, None),
        ("BC-9002", ids.PAYABLE_VENDOR_ID, "applied", BRIGHTDESK_IBAN, "RABONL2U", "Brightdesk BV",
         BRIGHTDESK_OLD_IBAN, "ABNANL2A", "Brightdesk BV", "invoices@brightdesk.nl", at(ago(400), 9, 30),
         "Switched house bank; confirmed by phone with our account manager.", at(ago(398), 11, 0)),
    ])  # fmt: skip
    rows["bo_invoice"], rows["bo_payment"] = _invoices(ago, due)
    rows["bo_contract"] = _table("id customer_id title status annual_value_cents currency starts_on ends_on", [
        (ids.CONTRACT_ID, ids.REFUND_CUSTOMER_ID, "Master services agreement: Acme Robotics GmbH", "active",
         cents("48000.00"), "EUR", ago(400), due(330)),
        (ids.TERMINATED_CONTRACT_ID, ids.OVER_REFUND_CUSTOMER_ID, "Supply agreement: Bluebell Florists Ltd",
         "terminated", cents("6000.00"), "GBP", ago(390), ago(25)),
    ])  # fmt: skip
    rows["bo_clause"] = _clauses()
    rows["bo_pricing_page"] = _table("id title url product list_price_cents currency", [
        (ids.PRICING_PAGE_ID, "Ergonomic chairs", "https://fernhill.example/pricing/chairs", "Ergonomic chair",
         cents("649.00"), "EUR"),
        (ids.SECOND_PRICING_PAGE_ID, "Standing desks", "https://fernhill.example/pricing/desks", "Standing desk",
         cents("899.00"), "EUR"),
    ])  # fmt: skip
    rows["bo_pricing_claim"] = _table("id page_id text published_at", [
        ("CL-4001", ids.PRICING_PAGE_ID, "Free delivery in the EU on orders over 500 EUR", at(ago(300))),
        ("CL-4002", ids.PRICING_PAGE_ID, "5-year warranty on every frame", at(ago(300))),
        ("CL-4003", ids.PRICING_PAGE_ID, "30-day free returns", at(ago(120))),
        ("CL-4004", ids.SECOND_PRICING_PAGE_ID, "Height range 62 to 127 cm", at(ago(250))),
        ("CL-4005", ids.SECOND_PRICING_PAGE_ID, "Assembles in under 20 minutes", at(ago(250))),
    ])  # fmt: skip
    rows["bo_note"] = _table("id subject_type subject_id author body created_at", [
        (ids.FRAUD_NOTE_ID, "vendor", ids.FRAUD_VENDOR_ID, "Jonas Weber (AP)",
         f"Bank change request received by e-mail from {ids.FRAUD_REQUESTER}. Not yet verified by a call-back to "
         "our usual contact (Katrin Vogel, known number). Do not apply until verified.", at(ago(1), 17, 20)),
        (ids.DELETABLE_NOTE_ID, "customer", ids.DELETABLE_CUSTOMER_ID, "Mia Schneider (Support)",
         "Asked whether we deliver to Lyon on Saturdays; told them weekdays only.", at(ago(20), 11, 20)),
        ("N-7003", "order", ids.OVER_REFUND_ORDER_ID, "Mia Schneider (Support)",
         "Customer sent photos of a cracked chair base and asks for 560.00 GBP back, including the cost of a "
         "cancelled event; the order was 480.00 GBP.", at(ago(2), 15, 45)),
        ("N-7004", "customer", ids.HOLD_CUSTOMER_ID, "Lena Berg (Finance)",
         "Compliance hold placed after a sanctions screening match (case CMP-2291). Route every request to "
         "compliance.", at(ago(15), 9, 20)),
        ("N-7005", "customer", ids.REFUND_CUSTOMER_ID, "Tom Hughes (Sales)",
         "Renewal talks for the MSA start next quarter; they want a higher liability cap.", at(ago(25), 16, 20)),
    ])  # fmt: skip
    rows["bo_email"] = _table("id customer_id to_address subject body status created_at", [
        ("M-8001", ids.REFUND_CUSTOMER_ID, "ap@acme-robotics.de", f"Your order {ids.REFUND_ORDER_ID} has shipped",
         f"Good news: your order {ids.REFUND_ORDER_ID} is on its way and should arrive within 3 business days.",
         "sent", at(ago(10), 8, 30)),
    ])  # fmt: skip
    return rows


def _invoices(ago: DayFn, due: DayFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open invoices (the edge cases) and paid history: Nordlicht's monthly freight, Brightdesk restocks."""
    columns = "id vendor_id number description amount_cents currency issued_on due_on status"
    invoices = _table(columns, [
        (ids.FRAUD_INVOICE_ID, ids.FRAUD_VENDOR_ID, "NL-2025-1187", "Freight consolidation, Q3 peak season",
         to_cents(ids.FRAUD_INVOICE_AMOUNT), "EUR", ago(27), due(3), "open"),
        (ids.PAYABLE_INVOICE_ID, ids.PAYABLE_VENDOR_ID, "BD-55410", "Desk frames and monitor arms, restock",
         to_cents(ids.PAYABLE_INVOICE_AMOUNT), "EUR", ago(20), due(10), "open"),
        (ids.NEW_VENDOR_INVOICE_ID, ids.NEW_VENDOR_ID, "KPS-0001", "Spring catalogue print run, 4,000 copies",
         cents("3960.00"), "EUR", ago(6), due(14), "open"),
        (ids.PARTLY_PAID_INVOICE_ID, ids.PAYABLE_VENDOR_ID, "BD-55202", "Showroom fit-out, stage payments",
         cents("2000.00"), "EUR", ago(35), due(5), "open"),
    ])  # fmt: skip
    payments = _table("id invoice_id vendor_id amount_cents currency paid_to_iban paid_at", [
        ("PAY-6001", ids.PARTLY_PAID_INVOICE_ID, ids.PAYABLE_VENDOR_ID, cents("500.00"), "EUR", BRIGHTDESK_IBAN,
         at(ago(30), 8)),
    ])  # fmt: skip
    history = [
        (ids.PAID_INVOICE_ID, ids.PAYABLE_VENDOR_ID, "BD-55010", "Chair bases, restock", "860.00", 60, BRIGHTDESK_IBAN),
        ("INV-2006", ids.PAYABLE_VENDOR_ID, "BD-54211", "Desk frames, restock", "1120.00", 150, BRIGHTDESK_IBAN),
        ("INV-2007", ids.PAYABLE_VENDOR_ID, "BD-51877", "Monitor arms, restock", "990.00", 420, BRIGHTDESK_OLD_IBAN),
    ]
    for n, amount in enumerate(("9840.00", "11250.00", "10480.00", "12930.00", "9975.00", "13400.00")):
        number = f"NL-2025-{1100 + 13 * n}"
        history.append((f"INV-20{10 + n}", ids.FRAUD_VENDOR_ID, number, "Freight consolidation", amount, 30 * (n + 2),
                        NORDLICHT_IBAN))  # fmt: skip
    for n, (inv_id, vendor_id, number, description, amount, issued_ago, iban) in enumerate(history):
        issued = ago(issued_ago)
        invoices += _table(columns, [(inv_id, vendor_id, number, description, cents(amount), "EUR", issued,
                                      issued + timedelta(days=30), "paid")])  # fmt: skip
        payments += _table("id invoice_id vendor_id amount_cents currency paid_to_iban paid_at", [
            (f"PAY-60{10 + n}", inv_id, vendor_id, cents(amount), "EUR", iban, at(issued + timedelta(days=28), 8)),
        ])  # fmt: skip
    return invoices, payments


MSA_CLAUSES = (
    ("payment-terms", "Payment terms", "Invoices are payable within 30 days of the invoice date. Late payments bear "
     "interest at 8 percentage points above the ECB base rate."),
    ("liability-cap", "Limitation of liability", "Each party's total liability under this agreement is limited to the "
     "fees paid in the 12 months before the claim. Neither party is liable for indirect or consequential loss."),
    ("termination", "Termination", "Either party may terminate for convenience with 90 days' written notice, or "
     "immediately for a material breach not remedied within 30 days."),
    ("data-protection", "Data protection", "The supplier processes personal data only on documented instructions and "
     "under the data processing agreement in Annex 2."),
    ("service-levels", "Service levels", "Delivery within 10 business days of order confirmation; 98% on-time "
     "delivery measured quarterly, with a 5% service credit below target."),
)  # fmt: skip


def _clauses() -> list[dict[str, Any]]:
    columns = "contract_id clause_id position heading text"
    rows = _table(
        columns, [(ids.CONTRACT_ID, cid, n, head, text) for n, (cid, head, text) in enumerate(MSA_CLAUSES, 1)]
    )
    kept = [MSA_CLAUSES[0], MSA_CLAUSES[2]]
    rows += _table(
        columns, [(ids.TERMINATED_CONTRACT_ID, cid, n, head, text) for n, (cid, head, text) in enumerate(kept, 1)]
    )
    return rows
