"""Deterministic demo data: the hand-written edge cases plus a believable random background.

Same ``seed`` and ``today`` give the same rows, byte for byte: all randomness comes from one
``random.Random(seed)`` and all dates from ``today`` (a fixed date by default, never the wall clock).
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tools.backoffice import tables
from tools.backoffice import vocabulary as vocab
from tools.backoffice.fixtures import Rows, at, fixed_rows
from tools.backoffice.store import BackOffice
from tools.banking import make_iban

SEED_TODAY = date(2025, 11, 3)
DEFAULT_SEED = 42


def seed(office: BackOffice, seed: int = DEFAULT_SEED, *, today: date = SEED_TODAY) -> bool:
    """Fill an empty back office with demo data; return False (and change nothing) if it holds any row.

    ``today`` anchors every date (invoices due "in 3 days" are due ``today + 3``); pass the real date
    for a live demo, keep the default for reproducible tests.
    """
    if not office.is_empty():
        return False
    rows = fixed_rows(today)
    _Background(random.Random(seed), today, rows).generate()  # noqa: S311 - demo data, not secrets
    rows["bo_meta"] = [{"key": "seed", "value": str(seed)}, {"key": "today", "value": today.isoformat()}]
    try:
        with office.write() as conn:
            for table in tables.metadata.sorted_tables:
                if rows.get(table.name):
                    conn.execute(table.insert(), _complete(table, rows[table.name]))
    except IntegrityError:
        # Another process seeded first (its bo_meta rows hold the same keys): that is fine.
        if office.is_empty():
            raise
        return False
    return True


def _complete(table: sa.Table, data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # One executemany needs the same keys in every row; absent columns are NULL.
    names = [c.name for c in table.columns]
    return [{name: row.get(name) for name in names} for row in data]


class _Background:
    """Random customers, orders, vendors, invoices, contracts, notes and mail around the fixed records."""

    def __init__(self, rng: random.Random, today: date, rows: Rows) -> None:
        self.rng = rng
        self.today = today
        self.rows = rows
        # Generated ids start above the hand-written ones, so the two never collide.
        self.next = {
            "C": 1101,
            "O": 1101,
            "R": 5101,
            "V": 311,
            "INV": 2101,
            "PAY": 6101,
            "BC": 9101,
            "CTR": 511,
            "N": 7101,
            "M": 8101,
        }
        self.names = [f"{stem} {trade}" for stem in vocab.NAME_STEMS for trade in vocab.CUSTOMER_TRADES]

    def generate(self) -> None:
        customers = self._customers(32)
        self._orders(customers)
        vendors = self._vendors(8)
        self._invoices(vendors)
        self._contracts([c for c in customers if c["tier"] != "free"][:3])
        self._notes(customers, vendors)
        self._emails(customers)

    def _id(self, prefix: str) -> str:
        value = self.next[prefix]
        self.next[prefix] += 1
        return f"{prefix}-{value}"

    def _ago(self, low: int, high: int) -> date:
        return self.today - timedelta(days=self.rng.randint(low, high))

    def _customers(self, n: int) -> list[dict[str, Any]]:
        countries = list(vocab.CUSTOMER_COUNTRIES)
        weights = [6, 3, 3, 2, 2, 2, 1, 4, 3, 2, 2]
        out = []
        for name in self.rng.sample(self.names, n):
            country = self.rng.choices(countries, weights)[0]
            form, tld, _, phone = vocab.CUSTOMER_COUNTRIES[country]
            slug = name.lower().replace(" ", "-")
            local = self.rng.choice(("hello", "accounts", "office", "info", "purchasing"))
            row = {
                "id": self._id("C"),
                "name": f"{name} {form}",
                "email": f"{local}@{slug}.{tld}",
                "phone": f"{phone} {self.rng.randint(10, 99)} {self.rng.randint(1000000, 9999999)}",
                "tier": self.rng.choices(vocab.TIERS, [3, 5, 2])[0],
                "country": country,
                "compliance_hold": False,
                "hold_reason": None,
                "created_on": self._ago(60, 1100),
            }
            out.append(row)
        self.rows["bo_customer"] += out
        return out

    def _orders(self, customers: list[dict[str, Any]]) -> None:
        for customer in customers:
            currency = vocab.CUSTOMER_COUNTRIES[customer["country"]][2]
            age = (self.today - customer["created_on"]).days
            for _ in range(self.rng.randint(1, 4)):
                status = self.rng.choice(vocab.ORDER_STATUSES)
                recent = status in ("processing", "shipped")
                placed = self._ago(1, 14) if recent else self._ago(15, max(16, age))
                lines = self.rng.sample(vocab.PRODUCTS, self.rng.randint(1, 3))
                items, total = [], 0
                for product, eur_cents in lines:
                    qty = 1 if eur_cents > 200000 else self.rng.randint(1, 4)
                    items.append(f"{qty} × {product}")
                    # Whole units in the customer's currency, as list prices are.
                    total += qty * round(eur_cents * vocab.EUR_RATES[currency] / 100) * 100
                order = {
                    "id": self._id("O"),
                    "customer_id": customer["id"],
                    "status": status,
                    "items": ", ".join(items),
                    "total_cents": total,
                    "currency": currency,
                    "placed_on": placed,
                }
                self.rows["bo_order"].append(order)
                if status == "delivered" and self.rng.random() < 0.15:
                    self._refund(order)

    def _refund(self, order: dict[str, Any]) -> None:
        share = self.rng.uniform(0.1, 0.3)
        amount = max(100, round(order["total_cents"] * share / 100) * 100)
        day = min(self.today - timedelta(days=1), order["placed_on"] + timedelta(days=self.rng.randint(3, 30)))
        self.rows["bo_refund"].append(
            {
                "id": self._id("R"),
                "order_id": order["id"],
                "customer_id": order["customer_id"],
                "amount_cents": amount,
                "currency": order["currency"],
                "status": "issued",
                "reason": self.rng.choice(vocab.REFUND_REASONS),
                "created_at": at(day, self.rng.randint(8, 17), self.rng.choice((0, 15, 30, 45))),
            }
        )

    def _iban(self, country: str) -> str:
        bban = "".join(
            self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") if ch == "L" else str(self.rng.randint(0, 9))
            for ch in vocab.BBAN_SHAPES[country]
        )
        return make_iban(country, bban)

    def _bic(self, country: str) -> str:
        bank = "".join(self.rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
        return f"{bank}{country}{self.rng.choice(('FF', 'MM', '2X', '22', 'PP'))}"

    def _vendors(self, n: int) -> list[dict[str, Any]]:
        out = []
        stems = self.rng.sample(vocab.NAME_STEMS, n)
        for stem in stems:
            country = self.rng.choice(vocab.VENDOR_COUNTRIES)
            form, tld, _, _ = vocab.CUSTOMER_COUNTRIES[country]
            trade = self.rng.choice(vocab.VENDOR_TRADES)
            name = f"{stem} {trade} {form}"
            slug = f"{stem}-{trade}".lower().replace(" ", "-")
            row = {
                "id": self._id("V"),
                "name": name,
                "email": f"billing@{slug}.{tld}",
                "country": country,
                "iban": self._iban(country),
                "bic": self._bic(country),
                "account_holder": name,
                "created_on": self._ago(300, 2000),
                "trade": trade,
            }
            out.append(row)
            if self.rng.random() < 0.25:
                self._applied_bank_change(row)
        self.rows["bo_vendor"] += [{k: v for k, v in row.items() if k != "trade"} for row in out]
        return out

    def _applied_bank_change(self, vendor: dict[str, Any]) -> None:
        previous_iban, previous_bic = self._iban(vendor["country"]), self._bic(vendor["country"])
        day = self._ago(120, 600)
        self.rows["bo_bank_change"].append(
            {
                "id": self._id("BC"),
                "vendor_id": vendor["id"],
                "status": "applied",
                "iban": vendor["iban"],
                "bic": vendor["bic"],
                "account_holder": vendor["account_holder"],
                "previous_iban": previous_iban,
                "previous_bic": previous_bic,
                "previous_account_holder": vendor["account_holder"],
                "requested_by": vendor["email"],
                "requested_at": at(day, 10, 0),
                "reason": "Moved to a new house bank; confirmed by phone.",
                "decided_at": at(day + timedelta(days=2), 9, 0),
            }
        )

    def _invoices(self, vendors: list[dict[str, Any]]) -> None:
        currencies = {"GB": "GBP", "SE": "SEK", "CH": "CHF"}
        for vendor in vendors:
            currency = currencies.get(vendor["country"], "EUR")
            base = self.rng.randint(4, 90) * 10000  # 400.00 to 9,000.00 in EUR terms
            count = self.rng.randint(2, 5)
            for k in range(count):
                issued = self.today - timedelta(days=30 * (count - k) + self.rng.randint(0, 9))
                amount = round(base * self.rng.uniform(0.8, 1.25) * vocab.EUR_RATES[currency])
                is_open = k == count - 1 and self.rng.random() < 0.5
                if is_open:
                    issued = self._ago(3, 20)
                inv = {
                    "id": self._id("INV"),
                    "vendor_id": vendor["id"],
                    "number": f"{vendor['name'][:3].upper()}-{self.rng.randint(10000, 99999)}",
                    "description": vocab.VENDOR_WORK[vendor["trade"]].format(month=vocab.MONTHS[issued.month - 1]),
                    "amount_cents": amount,
                    "currency": currency,
                    "issued_on": issued,
                    "due_on": issued + timedelta(days=30),
                    "status": "open" if is_open else "paid",
                }
                self.rows["bo_invoice"].append(inv)
                if not is_open:
                    self.rows["bo_payment"].append(
                        {
                            "id": self._id("PAY"),
                            "invoice_id": inv["id"],
                            "vendor_id": vendor["id"],
                            "amount_cents": amount,
                            "currency": currency,
                            "paid_to_iban": vendor["iban"],
                            "paid_at": at(issued + timedelta(days=self.rng.randint(20, 30)), 8, 0),
                        }
                    )

    def _contracts(self, customers: list[dict[str, Any]]) -> None:
        for customer in customers:
            contract_id = self._id("CTR")
            currency = vocab.CUSTOMER_COUNTRIES[customer["country"]][2]
            starts = self._ago(30, 500)
            self.rows["bo_contract"].append(
                {
                    "id": contract_id,
                    "customer_id": customer["id"],
                    "title": f"Supply agreement: {customer['name']}",
                    "status": "active",
                    "annual_value_cents": self.rng.randint(3, 60) * 100000,
                    "currency": currency,
                    "starts_on": starts,
                    "ends_on": starts + timedelta(days=730),
                }
            )
            days, months = self.rng.choice((14, 30, 45)), self.rng.choice((6, 12, 24))
            for position, (clause_id, heading, text) in enumerate(vocab.CLAUSE_TEMPLATES, 1):
                self.rows["bo_clause"].append(
                    {
                        "contract_id": contract_id,
                        "clause_id": clause_id,
                        "position": position,
                        "heading": heading,
                        "text": text.format(days=days, months=months),
                    }
                )

    def _notes(self, customers: list[dict[str, Any]], vendors: list[dict[str, Any]]) -> None:
        for _ in range(24):
            if self.rng.random() < 0.75:
                subject_type, subject, body = (
                    "customer",
                    self.rng.choice(customers),
                    self.rng.choice(vocab.CUSTOMER_NOTES),
                )
            else:
                subject_type, subject, body = "vendor", self.rng.choice(vendors), self.rng.choice(vocab.VENDOR_NOTES)
            self.rows["bo_note"].append(
                {
                    "id": self._id("N"),
                    "subject_type": subject_type,
                    "subject_id": subject["id"],
                    "author": self.rng.choice(vocab.NOTE_AUTHORS),
                    "body": body,
                    "created_at": at(self._ago(1, 300), self.rng.randint(8, 17), self.rng.choice((0, 20, 40))),
                }
            )

    def _emails(self, customers: list[dict[str, Any]]) -> None:
        orders_by_customer: dict[str, list[str]] = {}
        for order in self.rows["bo_order"]:
            orders_by_customer.setdefault(order["customer_id"], []).append(order["id"])
        for customer in self.rng.sample(customers, 6):
            order_id = self.rng.choice(orders_by_customer[customer["id"]])
            subject, body = self.rng.choice(vocab.EMAIL_SUBJECTS)
            self.rows["bo_email"].append(
                {
                    "id": self._id("M"),
                    "customer_id": customer["id"],
                    "to_address": customer["email"],
                    "subject": subject.format(order=order_id),
                    "body": body.format(order=order_id),
                    "status": "sent",
                    "created_at": at(self._ago(1, 60), self.rng.randint(8, 17), 0),
                }
            )
