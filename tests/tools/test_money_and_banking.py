"""Money parsing and bank identifiers: pure functions, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tools.banking import make_iban, parse_bic, parse_iban, sender_domain_check
from tools.contract import ToolInputError
from tools.money import display, display_amount, parse_amount, parse_currency, parse_money, plain, to_cents


@pytest.mark.parametrize(
    ("value", "cents"),
    [(940, 94000), (940.1, 94010), (0.01, 1), ("1250.50", 125050), (12345678.91, 1234567891), (0.1 + 0.2, None)],
)
def test_amounts_become_exact_cents_or_are_refused(value: object, cents: int | None) -> None:
    if cents is None:  # 0.30000000000000004 has more than two decimals
        with pytest.raises(ToolInputError) as caught:
            parse_amount(value)
        assert caught.value.field == "amount"
        return
    assert to_cents(parse_amount(value)) == cents


@pytest.mark.parametrize("value", [0, -5, 10.005, float("nan"), float("inf"), "abc", True, None, 2e9])
def test_bad_amounts_are_refused_naming_the_field(value: object) -> None:
    with pytest.raises(ToolInputError) as caught:
        parse_amount(value, field="amount")
    assert caught.value.field == "amount"


def test_money_is_shown_exactly() -> None:
    assert plain(123456789) == "1234567.89"
    assert display(125050, "EUR") == "1,250.50 EUR"
    assert parse_amount("940") == Decimal("940.00")


def test_unknown_currency_is_refused_and_case_is_normalised() -> None:
    assert parse_currency(" eur ") == "EUR"
    with pytest.raises(ToolInputError) as caught:
        parse_currency("XYZ")
    assert caught.value.field == "currency"


@pytest.mark.parametrize(
    "iban", ["DE89 3704 0044 0532 0130 00", "GB29NWBK60161331926819", "LT547123418365409552", "ch9300762011623852957"]
)
def test_valid_ibans_are_accepted_in_compact_form(iban: str) -> None:
    assert parse_iban(iban) == iban.replace(" ", "").upper()


@pytest.mark.parametrize(
    ("iban", "why"),
    [
        ("DE89370400440532013001", "checksum"),
        ("DE8937040044053201300", "22 characters"),
        ("XX89370400440532013000", "not supported"),
        ("not an iban", "not an IBAN"),
    ],
)
def test_invalid_ibans_are_refused_with_the_reason(iban: str, why: str) -> None:
    with pytest.raises(ToolInputError) as caught:
        parse_iban(iban)
    assert caught.value.field == "iban"
    assert why in caught.value.message


def test_generated_ibans_pass_their_own_check() -> None:
    assert parse_iban(make_iban("FR", "30004000031234567890143")).startswith("FR")


def test_bic_format_is_checked() -> None:
    assert parse_bic("deutdeff") == "DEUTDEFF"
    assert parse_bic("DEUTDEFF500") == "DEUTDEFF500"
    for bad in ("DEUT", "DEUTDEFF5", "1EUTDEFF"):
        with pytest.raises(ToolInputError):
            parse_bic(bad)


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("billing@nordlicht-logistik.de", None),
        ("billing@nordlicht-log1stik.de", "lookalike"),
        ("billing@nordlicht-logistik.com", "lookalike"),
        ("billing@rnordlicht-logistik.de", "lookalike"),
        ("someone@gmail.com", "unfamiliar"),
    ],
)
def test_sender_domains_are_compared_with_the_vendor_domain(sender: str, expected: str | None) -> None:
    assert sender_domain_check(sender, "billing@nordlicht-logistik.de") == expected


def test_the_currency_decides_how_many_decimals_an_amount_may_have() -> None:
    assert parse_money("60.01", "eur") == (Decimal("60.01"), "EUR")
    assert parse_money(100, "JPY") == (Decimal("100.00"), "JPY")
    for amount, currency in ((60.005, "EUR"), (100.5, "JPY")):
        with pytest.raises(ToolInputError) as caught:
            parse_money(amount, currency)
        assert caught.value.field == "amount" and currency in caught.value.message


def test_yen_are_shown_without_decimals_and_no_decimal_is_ever_rounded_away() -> None:
    assert display(10000, "JPY") == "100 JPY"
    assert display_amount(60.005, "EUR") == "60.005 EUR"  # a reviewer never reads 60.00 for 60.005
    assert display_amount(60.1, "eur") == "60.10 EUR"
