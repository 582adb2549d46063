"""The demo back office's tables: its own MetaData, every name prefixed ``bo_``.

Kept apart from the gateway's tables so the back office can live in the same database (the demo)
or another one, and so dropping or reseeding it never touches approvals or the audit trail.

Money is integer cents beside an ISO currency code. Effect tables written by idempotent tools
(refunds, payments, outbox) carry the gateway's idempotency key under a unique constraint, the
fingerprint of the arguments it was used with, and the result returned the first time.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out on both backends (SQLite would otherwise drop the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id(length: int = 40) -> sa.Column[str]:
    return sa.Column("id", sa.String(length), primary_key=True)


def _money() -> list[sa.Column[Any]]:
    return [
        sa.Column("amount_cents", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
    ]


def _idempotency() -> list[sa.Column[Any]]:
    # NULL for seeded history; unique otherwise, so an effect happens once per key on every backend.
    return [
        sa.Column("idempotency_key", sa.String(200), unique=True, nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column("result", sa.Text, nullable=True),
    ]


meta = sa.Table(
    "bo_meta",
    metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

customers = sa.Table(
    "bo_customer",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("phone", sa.String(40), nullable=True),
    sa.Column("tier", sa.String(20), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    # A compliance hold freezes refunds and outbound email until compliance clears the account.
    sa.Column("compliance_hold", sa.Boolean, nullable=False, default=False),
    sa.Column("hold_reason", sa.String(500), nullable=True),
    sa.Column("created_on", sa.Date, nullable=False),
)

orders = sa.Table(
    "bo_order",
    metadata,
    _id(),
    sa.Column("customer_id", sa.String(40), sa.ForeignKey("bo_customer.id"), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("items", sa.String(500), nullable=False),
    sa.Column("total_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("placed_on", sa.Date, nullable=False),
)

refunds = sa.Table(
    "bo_refund",
    metadata,
    _id(),
    sa.Column("order_id", sa.String(40), sa.ForeignKey("bo_order.id"), nullable=False, index=True),
    sa.Column("customer_id", sa.String(40), sa.ForeignKey("bo_customer.id"), nullable=False, index=True),
    *_money(),
    # "requested" by the customer (not money yet), "issued" (money returned), or "declined".
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(1000), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    *_idempotency(),
)

vendors = sa.Table(
    "bo_vendor",
    metadata,
    _id(),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("country", sa.String(2), nullable=False),
    sa.Column("iban", sa.String(34), nullable=False),
    sa.Column("bic", sa.String(11), nullable=False),
    sa.Column("account_holder", sa.String(200), nullable=False),
    sa.Column("created_on", sa.Date, nullable=False),
)

bank_changes = sa.Table(
    "bo_bank_change",
    metadata,
    _id(),
    sa.Column("vendor_id", sa.String(40), sa.ForeignKey("bo_vendor.id"), nullable=False, index=True),
    # "pending" (asked for, not applied), "applied", or "rejected".
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("iban", sa.String(34), nullable=False),
    sa.Column("bic", sa.String(11), nullable=False),
    sa.Column("account_holder", sa.String(200), nullable=False),
    # What the vendor's details were when the change was applied (empty while pending).
    sa.Column("previous_iban", sa.String(34), nullable=True),
    sa.Column("previous_bic", sa.String(11), nullable=True),
    sa.Column("previous_account_holder", sa.String(200), nullable=True),
    sa.Column("requested_by", sa.String(320), nullable=False),
    sa.Column("requested_at", UTCDateTime, nullable=False),
    sa.Column("reason", sa.String(1000), nullable=False),
    sa.Column("decided_at", UTCDateTime, nullable=True),
)

invoices = sa.Table(
    "bo_invoice",
    metadata,
    _id(),
    sa.Column("vendor_id", sa.String(40), sa.ForeignKey("bo_vendor.id"), nullable=False, index=True),
    sa.Column("number", sa.String(60), nullable=False),
    sa.Column("description", sa.String(500), nullable=False),
    *_money(),
    sa.Column("issued_on", sa.Date, nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    # "open" or "paid"; the open amount is the total less its payments.
    sa.Column("status", sa.String(20), nullable=False),
)

payments = sa.Table(
    "bo_payment",
    metadata,
    _id(),
    sa.Column("invoice_id", sa.String(40), sa.ForeignKey("bo_invoice.id"), nullable=False, index=True),
    sa.Column("vendor_id", sa.String(40), sa.ForeignKey("bo_vendor.id"), nullable=False, index=True),
    *_money(),
    sa.Column("paid_to_iban", sa.String(34), nullable=False),
    sa.Column("paid_at", UTCDateTime, nullable=False),
    *_idempotency(),
)

outbox = sa.Table(
    "bo_email",
    metadata,
    _id(),
    # No foreign key: the outbox is a record of what was said, kept even if the customer is deleted.
    sa.Column("customer_id", sa.String(40), nullable=False, index=True),
    sa.Column("to_address", sa.String(320), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    # "queued" (waiting for the mailer) or "sent".
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    *_idempotency(),
)

contracts = sa.Table(
    "bo_contract",
    metadata,
    _id(),
    sa.Column("customer_id", sa.String(40), sa.ForeignKey("bo_customer.id"), nullable=False, index=True),
    sa.Column("title", sa.String(300), nullable=False),
    # "draft", "active" or "terminated".
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("annual_value_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
)

clauses = sa.Table(
    "bo_clause",
    metadata,
    sa.Column("contract_id", sa.String(40), sa.ForeignKey("bo_contract.id"), primary_key=True),
    sa.Column("clause_id", sa.String(60), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("heading", sa.String(200), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)

clause_revisions = sa.Table(
    "bo_clause_revision",
    metadata,
    _id(),
    sa.Column("contract_id", sa.String(40), nullable=False, index=True),
    sa.Column("clause_id", sa.String(60), nullable=False),
    sa.Column("previous_text", sa.Text, nullable=False),
    sa.Column("new_text", sa.Text, nullable=False),
    sa.Column("reason", sa.String(1000), nullable=False),
    sa.Column("changed_at", UTCDateTime, nullable=False),
)

pricing_pages = sa.Table(
    "bo_pricing_page",
    metadata,
    _id(),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("product", sa.String(200), nullable=False),
    sa.Column("list_price_cents", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.String(3), nullable=False),
)

pricing_claims = sa.Table(
    "bo_pricing_claim",
    metadata,
    _id(),
    sa.Column("page_id", sa.String(40), sa.ForeignKey("bo_pricing_page.id"), nullable=False, index=True),
    sa.Column("text", sa.String(500), nullable=False),
    sa.Column("published_at", UTCDateTime, nullable=False),
)

notes = sa.Table(
    "bo_note",
    metadata,
    _id(),
    # "customer", "vendor", "order" or "invoice"; no foreign key because the subject varies.
    sa.Column("subject_type", sa.String(20), nullable=False),
    sa.Column("subject_id", sa.String(40), nullable=False, index=True),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

record_changes = sa.Table(
    "bo_record_change",
    metadata,
    _id(),
    sa.Column("record_type", sa.String(20), nullable=False),
    sa.Column("record_id", sa.String(40), nullable=False, index=True),
    sa.Column("field", sa.String(60), nullable=False),
    sa.Column("old_value", sa.String(500), nullable=True),
    sa.Column("new_value", sa.String(500), nullable=True),
    sa.Column("changed_at", UTCDateTime, nullable=False),
)

deletions = sa.Table(
    "bo_deletion",
    metadata,
    _id(),
    sa.Column("record_type", sa.String(20), nullable=False),
    sa.Column("record_id", sa.String(40), nullable=False, index=True),
    sa.Column("reason", sa.String(1000), nullable=False),
    # JSON of every row removed, so a wrongful delete can be reconstructed by hand.
    sa.Column("removed", sa.Text, nullable=False),
    sa.Column("deleted_at", UTCDateTime, nullable=False),
)

exports = sa.Table(
    "bo_export",
    metadata,
    _id(),
    sa.Column("segment", sa.String(100), nullable=False),
    sa.Column("destination", sa.String(500), nullable=False),
    sa.Column("customer_count", sa.Integer, nullable=False),
    # JSON list of the customer ids exported: the export is a record, not a copy of their data.
    sa.Column("customer_ids", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
