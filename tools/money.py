"""Money without floating-point surprises: amounts travel as Decimal and rest as integer cents.

Agents send amounts as JSON numbers (floats). ``Decimal(str(x))`` recovers the shortest decimal the
float stands for (940.1 -> "940.1"), so "at most two decimals" can be checked exactly.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from tools.contract import ToolInputError

# Kept small on purpose: every currency here has two minor units, so cents are always exact.
CURRENCIES: frozenset[str] = frozenset({"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CAD", "AUD"})

# Refuse absurd amounts early: no demo order or invoice is anywhere near a billion.
MAX_AMOUNT = Decimal("1000000000")
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


def parse_amount(value: object, *, field: str = "amount") -> Decimal:
    """A positive amount with at most two decimals, or ToolInputError naming ``field``."""
    try:
        amount = to_decimal(value)
    except ValueError as exc:
        raise ToolInputError(f"{field}: {exc}", field=field) from exc
    if amount <= 0:
        raise ToolInputError(f"{field}: must be greater than 0, got {amount}", field=field)
    if amount > MAX_AMOUNT:
        raise ToolInputError(f"{field}: must be at most {MAX_AMOUNT}, got {amount}", field=field)
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ToolInputError(f"{field}: at most 2 decimal places, got {amount}", field=field)
    return amount.quantize(CENT)


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
    """Cents as people read them ("1,250.00 EUR")."""
    return f"{from_cents(cents):,.2f} {currency}"


def display_amount(value: object, currency: object) -> str:
    """An argument amount as people read it; ValueError for something that is not a number."""
    return f"{to_decimal(value):,.2f} {str(currency).upper()}"


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
