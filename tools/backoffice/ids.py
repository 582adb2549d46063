"""Stable ids of the hand-written demo records, for tests, the demo and the README.

These records are the same whatever the seed: only the background data around them is random.
Dates below are relative to the seed's ``today`` (default :data:`tools.backoffice.seed.SEED_TODAY`).
"""

from __future__ import annotations

from decimal import Decimal

# --- Customers and orders -------------------------------------------------------------------------
# Acme Robotics GmbH (DE, enterprise, EUR): an ordinary good customer with three small past refunds.
REFUND_CUSTOMER_ID = "C-1001"
# A delivered 940.00 EUR order with nothing refunded yet: the happy path for issue_refund.
REFUND_ORDER_ID = "O-1001"
REFUND_ORDER_TOTAL = Decimal("940.00")
REFUND_CURRENCY = "EUR"

# Bluebell Florists Ltd (GB, GBP): asked for 560.00 GBP back on a 480.00 GBP order.
OVER_REFUND_CUSTOMER_ID = "C-1002"
OVER_REFUND_ORDER_ID = "O-1005"
OVER_REFUND_ORDER_TOTAL = Decimal("480.00")
OVER_REFUND_REQUEST_ID = "R-5004"  # status "requested", amount 560.00 GBP
OVER_REFUND_REQUESTED = Decimal("560.00")

# Northwind Trading AB (SE, SEK): on compliance hold (sanctions screening); refunds and emails refused.
HOLD_CUSTOMER_ID = "C-1003"
HOLD_ORDER_ID = "O-1006"  # delivered, 12,400.00 SEK

# Juniper Cafe SARL (FR): no refunds, contracts or hold, so it may be deleted (one order, one note).
DELETABLE_CUSTOMER_ID = "C-1004"
DELETABLE_ORDER_ID = "O-1007"

# --- Vendors and invoices -------------------------------------------------------------------------
# Nordlicht Logistik GmbH (DE, billing@nordlicht-logistik.de), paid for years to a German IBAN.
# Yesterday "billing@nordlicht-log1stik.de" (a lookalike domain) asked, "urgently", to move payments to a
# Lithuanian IBAN, days before a 48,750.00 EUR invoice falls due: the textbook payment-redirection fraud.
FRAUD_VENDOR_ID = "V-301"
FRAUD_BANK_CHANGE_ID = "BC-9001"  # status "pending"
FRAUD_REQUESTER = "billing@nordlicht-log1stik.de"
FRAUD_NEW_IBAN = "LT547123418365409552"
FRAUD_NEW_BIC = "BALTLT2X"
FRAUD_INVOICE_ID = "INV-2001"  # open, 48,750.00 EUR, due today + 3 days
FRAUD_INVOICE_AMOUNT = Decimal("48750.00")

# Brightdesk BV (NL, EUR): a regular supplier with payment history.
PAYABLE_VENDOR_ID = "V-302"
PAYABLE_INVOICE_ID = "INV-2002"  # open, 1,284.50 EUR, nothing paid yet
PAYABLE_INVOICE_AMOUNT = Decimal("1284.50")
PARTLY_PAID_INVOICE_ID = "INV-2004"  # open, 2,000.00 EUR of which 500.00 paid: 1,500.00 open
PARTLY_PAID_OPEN_AMOUNT = Decimal("1500.00")
PAID_INVOICE_ID = "INV-2005"  # paid in full

# Kestrel Print Studio SAS (FR): never paid before, so its first payment stands out.
NEW_VENDOR_ID = "V-303"
NEW_VENDOR_INVOICE_ID = "INV-2003"  # open, 3,960.00 EUR

# --- Contracts, pricing, notes --------------------------------------------------------------------
CONTRACT_ID = "CTR-501"  # active master services agreement with REFUND_CUSTOMER_ID
CONTRACT_CLAUSE_IDS = ("payment-terms", "liability-cap", "termination", "data-protection", "service-levels")
LIABILITY_CLAUSE_ID = "liability-cap"
TERMINATED_CONTRACT_ID = "CTR-502"  # terminated; its clauses can no longer change

PRICING_PAGE_ID = "PG-101"  # "Ergonomic chairs", list price 649.00 EUR, three published claims
SECOND_PRICING_PAGE_ID = "PG-102"  # "Standing desks"

DELETABLE_NOTE_ID = "N-7002"  # a routine note about DELETABLE_CUSTOMER_ID
FRAUD_NOTE_ID = "N-7001"  # AP clerk's note on the bank-change request
