"""Words the seed builds believable records from: the demo company sells office furniture.

Fernhill Supply sells chairs, desks and office fittings to businesses across Europe and beyond, and
buys freight, printing, cleaning and software from vendors.
"""

from __future__ import annotations

COMPANY = "Fernhill Supply"

NAME_STEMS = (
    "Alder", "Birchwood", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Indigo", "Kestrel", "Linden",
    "Meridian", "Nimbus", "Orchard", "Pioneer", "Quarry", "Riverside", "Summit", "Tidewater", "Umber", "Vantage",
    "Willow", "Yarrow", "Zephyr", "Beacon", "Cedar", "Drift", "Elmstead", "Foxglove", "Greystone", "Heron",
    "Ironbridge", "Larch", "Marigold", "Oakhurst", "Pebble", "Rowan", "Saffron",
)  # fmt: skip
CUSTOMER_TRADES = (
    "Dental", "Architects", "Design Studio", "Bakery", "Consulting", "Labs", "Media", "Health", "Legal", "Ventures",
    "Clinic", "Foods", "Analytics", "Coworking", "Accountants", "Engineering",
)  # fmt: skip
VENDOR_TRADES = ("Freight", "Print", "Cleaning", "IT Services", "Catering", "Software", "Facilities", "Packaging")

# Country -> (legal form, e-mail top-level domain, currency, phone prefix).
CUSTOMER_COUNTRIES: dict[str, tuple[str, str, str, str]] = {
    "DE": ("GmbH", "de", "EUR", "+49"),
    "FR": ("SAS", "fr", "EUR", "+33"),
    "NL": ("BV", "nl", "EUR", "+31"),
    "AT": ("GmbH", "at", "EUR", "+43"),
    "ES": ("SL", "es", "EUR", "+34"),
    "IT": ("S.r.l.", "it", "EUR", "+39"),
    "IE": ("Ltd", "ie", "EUR", "+353"),
    "GB": ("Ltd", "co.uk", "GBP", "+44"),
    "US": ("Inc.", "com", "USD", "+1"),
    "SE": ("AB", "se", "SEK", "+46"),
    "CH": ("AG", "ch", "CHF", "+41"),
}
# Vendors are paid by bank transfer, so they come from IBAN countries only.
VENDOR_COUNTRIES = ("DE", "FR", "NL", "AT", "ES", "IT", "IE", "GB", "SE", "CH")

# Shape of the domestic account part (BBAN) per IBAN country: L = letter, D = digit.
BBAN_SHAPES: dict[str, str] = {
    "DE": "D" * 18,
    "FR": "D" * 23,
    "NL": "LLLL" + "D" * 10,
    "AT": "D" * 16,
    "ES": "D" * 20,
    "IT": "L" + "D" * 22,
    "IE": "LLLL" + "D" * 14,
    "GB": "LLLL" + "D" * 14,
    "SE": "D" * 20,
    "CH": "D" * 17,
    "LT": "D" * 16,
}

# Rough conversion of EUR list prices, so a Swedish order is priced in believable kronor.
EUR_RATES: dict[str, float] = {"EUR": 1.0, "GBP": 0.86, "USD": 1.08, "SEK": 11.4, "CHF": 0.95}

# Product, list price in EUR cents.
PRODUCTS = (
    ("Ergonomic chair", 64900),
    ("Standing desk", 89900),
    ("Monitor arm", 12900),
    ("Desk lamp", 7900),
    ("Acoustic panel set", 34000),
    ("Footrest", 4900),
    ("Cable tray kit", 3500),
    ("Mobile whiteboard", 21000),
    ("Conference table", 245000),
    ("Phone booth", 690000),
)

TIERS = ("free", "pro", "enterprise")
ORDER_STATUSES = ("delivered", "delivered", "delivered", "delivered", "shipped", "processing", "cancelled")

REFUND_REASONS = (
    "Item arrived scratched",
    "Late delivery goodwill gesture",
    "Missing parts in the box",
    "Wrong colour delivered",
    "Returned one item within 30 days",
)

VENDOR_WORK = {
    "Freight": "Freight and delivery, {month}",
    "Print": "Catalogue and packaging print run, {month}",
    "Cleaning": "Warehouse cleaning, {month}",
    "IT Services": "Managed IT support, {month}",
    "Catering": "Staff canteen catering, {month}",
    "Software": "Warehouse software licence, {month}",
    "Facilities": "Facilities maintenance, {month}",
    "Packaging": "Cardboard and foam packaging, {month}",
}
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip

NOTE_AUTHORS = ("Mia Schneider (Support)", "Tom Hughes (Sales)", "Lena Berg (Finance)", "Jonas Weber (AP)")
CUSTOMER_NOTES = (
    "Called about the delivery window; confirmed a Thursday morning slot.",
    "Asked for a volume discount on 20 chairs; sent the standard quote.",
    "Prefers invoices by e-mail to the finance mailbox.",
    "Complained about a late courier; apologised and tracked the parcel.",
    "Interested in the phone booth for their new office; follow up next month.",
    "Confirmed VAT number for reverse-charge invoicing.",
    "Asked whether the 5-year warranty covers gas lifts; it does.",
)
VENDOR_NOTES = (
    "Quarterly review: on-time rate fine, asked for consolidated invoices.",
    "Confirmed our PO number must appear on every invoice.",
    "Contact person changed; new account manager introduced by phone.",
)

EMAIL_SUBJECTS = (
    (
        "Your order {order} has shipped",
        "Good news: your order {order} is on its way and should arrive within 3 business days.",
    ),
    ("Invoice for order {order}", "Please find the invoice for order {order} attached. Payment is due within 30 days."),
    ("Delivery slot for order {order}", "We have booked your delivery of order {order} for Thursday morning."),
)

# Clause templates for generated contracts: (clause id, heading, text with {days}/{months}).
CLAUSE_TEMPLATES = (
    ("payment-terms", "Payment terms", "Invoices are payable within {days} days of the invoice date."),
    (
        "liability-cap",
        "Limitation of liability",
        "Each party's total liability is limited to the fees paid in the {months} months before the claim.",
    ),
    ("termination", "Termination", "Either party may terminate for convenience with {days} days' written notice."),
    (
        "data-protection",
        "Data protection",
        "The supplier processes personal data only on documented instructions of the customer.",
    ),
)
