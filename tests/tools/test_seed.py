"""Seeding: deterministic, idempotent, and with the documented edge cases in place."""

from __future__ import annotations

from datetime import timedelta

from tools.backoffice import SEED_TODAY, BackOffice, ids, make_engine, seed
from tools.backoffice import tables as t
from tools.banking import iban_country, parse_iban, sender_domain_check


def _fresh() -> BackOffice:
    return BackOffice.create(make_engine("sqlite://"))


def test_same_seed_gives_identical_data(office: BackOffice) -> None:
    other = _fresh()
    seed(other)
    assert other.dump() == office.dump()


def test_different_seed_gives_different_background_but_the_same_edge_cases(office: BackOffice) -> None:
    other = _fresh()
    seed(other, seed=7)
    ours, theirs = office.dump(), other.dump()
    assert ours["bo_customer"] != theirs["bo_customer"]
    fixed = {ids.REFUND_CUSTOMER_ID, ids.OVER_REFUND_CUSTOMER_ID, ids.HOLD_CUSTOMER_ID, ids.DELETABLE_CUSTOMER_ID}
    assert [c for c in ours["bo_customer"] if c["id"] in fixed] == [
        c for c in theirs["bo_customer"] if c["id"] in fixed
    ]


def test_seeding_twice_changes_nothing(office: BackOffice) -> None:
    before = office.dump()
    assert seed(office) is False
    assert seed(office, seed=99) is False
    assert office.dump() == before


def test_seed_never_touches_a_database_that_holds_data(empty_office: BackOffice) -> None:
    with empty_office.write() as conn:
        conn.execute(t.meta.insert().values(key="owner", value="someone else"))
    assert seed(empty_office) is False
    assert empty_office.dump()["bo_customer"] == []


def test_seed_is_a_believable_back_office(office: BackOffice) -> None:
    data = office.dump()
    assert 30 <= len(data["bo_customer"]) <= 60
    assert len(data["bo_vendor"]) >= 8
    assert len(data["bo_order"]) >= 60
    assert len(data["bo_invoice"]) >= 30
    assert len(data["bo_contract"]) >= 3
    assert data["bo_pricing_claim"] and data["bo_note"]
    for vendor in data["bo_vendor"]:
        assert parse_iban(vendor["iban"]) == vendor["iban"]
    emails = [c["email"] for c in data["bo_customer"]]
    assert len(emails) == len(set(emails))


def test_fraudulent_bank_change_looks_like_fraud(office: BackOffice) -> None:
    data = office.dump()
    vendor = next(v for v in data["bo_vendor"] if v["id"] == ids.FRAUD_VENDOR_ID)
    change = next(c for c in data["bo_bank_change"] if c["id"] == ids.FRAUD_BANK_CHANGE_ID)
    invoice = next(i for i in data["bo_invoice"] if i["id"] == ids.FRAUD_INVOICE_ID)
    assert change["status"] == "pending" and change["vendor_id"] == vendor["id"]
    assert iban_country(change["iban"]) != vendor["country"] == iban_country(vendor["iban"])
    assert sender_domain_check(change["requested_by"], vendor["email"]) == "lookalike"
    assert invoice["status"] == "open" and invoice["amount_cents"] >= 40_000_00
    assert timedelta(0) < invoice["due_on"] - change["requested_at"].date() <= timedelta(days=7)


def test_refund_request_above_order_total_and_compliance_hold_are_seeded(office: BackOffice) -> None:
    data = office.dump()
    order = next(o for o in data["bo_order"] if o["id"] == ids.OVER_REFUND_ORDER_ID)
    request = next(r for r in data["bo_refund"] if r["id"] == ids.OVER_REFUND_REQUEST_ID)
    assert request["status"] == "requested" and request["order_id"] == order["id"]
    assert request["amount_cents"] > order["total_cents"]
    held = [c["id"] for c in data["bo_customer"] if c["compliance_hold"]]
    assert held == [ids.HOLD_CUSTOMER_ID]


def test_dates_follow_the_given_today() -> None:
    later = _fresh()
    seed(later, today=SEED_TODAY + timedelta(days=100))
    invoice = next(i for i in later.dump()["bo_invoice"] if i["id"] == ids.FRAUD_INVOICE_ID)
    assert invoice["due_on"] == SEED_TODAY + timedelta(days=103)
