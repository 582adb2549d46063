"""Act tools: the calls that change the world, each with a reviewer preview and a one-line description.

``registry`` holds them in catalog order; ``SIGNALS`` maps each to the function that lists what makes
a proposed call unusual (shared by its preview and by ``score_exception``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from tools.act import bulk, contracts, messaging, payments, pricing, records, refunds, vendors
from tools.contract import ToolRegistry
from tools.signals import Signal

SignalFn = Callable[[Connection, datetime, dict[str, Any]], list[Signal]]

registry = ToolRegistry()
for _module in (refunds, payments, vendors, messaging, contracts, pricing, records, bulk):
    registry.extend(_module.registry)

SIGNALS: dict[str, SignalFn] = {
    "issue_refund": refunds.refund_signals,
    "pay_invoice": payments.payment_signals,
    "change_vendor_bank_details": vendors.bank_change_signals,
    "send_customer_email": messaging.email_signals,
    "change_contract_clause": contracts.clause_signals,
    "publish_pricing_claim": pricing.claim_signals,
    "update_customer_record": records.update_signals,
    "delete_record": records.delete_signals,
    "bulk_export_customer_data": bulk.export_signals,
    "bulk_delete_customers": bulk.bulk_delete_signals,
}

__all__ = ["SIGNALS", "SignalFn", "registry"]
