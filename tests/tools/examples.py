"""One valid call per act tool on the seeded back office, for tests that treat every act tool alike."""

from __future__ import annotations

from typing import Any

from tools.backoffice import ids

VALID_ACTS: dict[str, dict[str, Any]] = {
    "issue_refund": {"customer_id": ids.REFUND_CUSTOMER_ID, "order_id": ids.REFUND_ORDER_ID, "amount": 240.0,
                     "currency": "EUR", "reason": "Scratched desk top"},
    "pay_invoice": {"vendor_id": ids.PAYABLE_VENDOR_ID, "invoice_id": ids.PAYABLE_INVOICE_ID,
                    "amount": float(ids.PAYABLE_INVOICE_AMOUNT), "currency": "EUR"},
    "change_vendor_bank_details": {"vendor_id": ids.FRAUD_VENDOR_ID, "iban": ids.FRAUD_NEW_IBAN,
                                   "bic": ids.FRAUD_NEW_BIC, "account_holder": "Nordlicht Logistik GmbH",
                                   "reason": "Vendor e-mailed new details"},
    "send_customer_email": {"customer_id": ids.REFUND_CUSTOMER_ID, "subject": "Your refund",
                            "body": "We refunded 240.00 EUR today."},
    "change_contract_clause": {"contract_id": ids.CONTRACT_ID, "clause_id": ids.LIABILITY_CLAUSE_ID,
                               "new_text": "Liability is limited to the fees paid in the 24 months before the claim.",
                               "reason": "Renewal negotiation"},
    "publish_pricing_claim": {"page_id": ids.PRICING_PAGE_ID, "claim": "Now with a 10-year warranty"},
    "update_customer_record": {"customer_id": ids.REFUND_CUSTOMER_ID, "changes": {"phone": "+49 89 5550 2000"}},
    "delete_record": {"record_type": "customer", "record_id": ids.DELETABLE_CUSTOMER_ID, "reason": "Duplicate"},
    "bulk_export_customer_data": {"segment": "tier:enterprise", "destination": "https://files.fernhill.example/x"},
    "bulk_delete_customers": {"customer_ids": [ids.DELETABLE_CUSTOMER_ID], "reason": "Erasure request"},
}  # fmt: skip

# The table each valid act writes its effect to (besides any bookkeeping tables).
EFFECT_TABLE: dict[str, str] = {
    "issue_refund": "bo_refund",
    "pay_invoice": "bo_payment",
    "change_vendor_bank_details": "bo_vendor",
    "send_customer_email": "bo_email",
    "change_contract_clause": "bo_clause",
    "publish_pricing_claim": "bo_pricing_claim",
    "update_customer_record": "bo_customer",
    "delete_record": "bo_customer",
    "bulk_export_customer_data": "bo_export",
    "bulk_delete_customers": "bo_customer",
}
