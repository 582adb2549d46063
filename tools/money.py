"""Money without floating-point surprises: amounts travel as Decimal and rest as integer hundredths.

Agents send amounts as JSON numbers (floats). ``Decimal(str(x))`` recovers the shortest decimal the
float stands for (940.1 -> "940.1"), so "at most as many decimals as the currency has" can be checked
exactly. Every tool that declares an exposure has its amount checked here, by its input model, before
the policy sees the call (see ``tools.contract``): what a reviewer approves is what the tool pays.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from tools.errors import ToolInputError

# ISO 4217 minor units: how many decimals an amount in the currency may have. Kept small on purpose.
MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {
        "EUR": 2,
        "USD": 2,
        "GBP": 2,
        "CHF": 2,
        "SEK": 2,
        "NOK": 2,
        "DKK": 2,
        "PLN": 2,
        "CAD": 2,
        "AUD": 2,
        "JPY": 0,
    }
)
CURRENCIES: frozenset[str] = frozenset(MINOR_UNITS)

# Refuse absurd amounts early: no demo order or invoice is anywhere near a billion.
MAX_AMOUNT = Decimal("1000000000")
# Amounts rest as hundredths of the major unit whatever the currency (exact for every one above).
CENT = Decimal("0.01")


def to_decimal(value: object) -> Decimal:
    """A finite Decimal for ``value`` (int, float, Decimal or numeric string); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"not a number: {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return amount


def parse_amount(value: object, *, field: str = "amount", currency: str | None = None) -> Decimal:
    """A positive amount with at most the currency's decimals (two when none is given), or
    ToolInputError naming ``field``."""
    try:
        amount = to_decimal(value)
    except ValueError as exc:
        raise ToolInputError(f"{field}: {exc}", field=field) from exc
    if amount <= 0:
        raise ToolInputError(f"{field}: must be greater than 0, got {amount}", field=field)
    if amount > MAX_AMOUNT:
        raise ToolInputError(f"{field}: must be at most {MAX_AMOUNT}, got {amount}", field=field)
    decimals = places(currency) if currency is not None else 2
    if -_exponent(amount) > decimals:
        allowed = f"at most {decimals} decimal places" if decimals else "no decimal places"
        where = f" in {currency}" if currency is not None else ""
        raise ToolInputError(f"{field}: {allowed}{where}, got {amount}", field=field)
    return amount.quantize(CENT)


def parse_money(
    amount: object, currency: object, *, amount_field: str = "amount", currency_field: str = "currency"
) -> tuple[Decimal, str]:
    """The amount and currency code of a payment, checked together (the currency decides the decimals)."""
    code = parse_currency(currency, field=currency_field)
    return parse_amount(amount, field=amount_field, currency=code), code


def places(currency: str) -> int:
    """Decimals people write for ``currency`` (2 for one we do not know)."""
    return MINOR_UNITS.get(currency.upper(), 2)


def parse_currency(value: object, *, field: str = "currency") -> str:
    """An upper-case ISO 4217 code from :data:`CURRENCIES`, or ToolInputError naming ``field``."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if code not in CURRENCIES:
        known = ", ".join(sorted(CURRENCIES))
        raise ToolInputError(f"{field}: unknown currency {value!r}; use one of {known}", field=field)
    return code


def to_cents(amount: Decimal) -> int:
    """Exact integer cents for an amount already limited to two decimals."""
    return int((amount * 100).to_integral_exact())


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def plain(cents: int) -> str:
    """Cents as a plain decimal string for data ("1250.00"): exact, and easy for programs to parse."""
    return str(from_cents(cents))


def display(cents: int, currency: str) -> str:
    """Cents as people read them ("1,250.00 EUR", "1,250 JPY")."""
    return f"{from_cents(cents):,.{places(currency)}f} {currency}"


def display_amount(value: object, currency: object) -> str:
    """An argument amount as people read it; ValueError for something that is not a number.

    Never rounds away a decimal the currency does not have: 60.005 EUR reads "60.005 EUR"."""
    amount, code = to_decimal(value), str(currency).upper()
    shown = max(places(code), -_exponent(amount))
    return f"{amount:,.{shown}f} {code}"


def _exponent(amount: Decimal) -> int:
    exponent = amount.normalize().as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def cents_or_none(value: object) -> int | None:
    """Cents for a valid amount argument, None for anything else (previews show what they can)."""
    try:
        return to_cents(parse_amount(value))
    except ToolInputError:
        return None


def amount_text(args: dict[str, Any]) -> str:
    """The ``amount``/``currency`` arguments as people read them, or as given when not a number."""
    try:
        return display_amount(args.get("amount"), args.get("currency"))
    except ValueError:
        return f"{args.get('amount')!r} {args.get('currency')}"
