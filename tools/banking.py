"""Bank identifiers (IBAN, BIC) and the sender-domain checks that catch invoice-redirection fraud."""

from __future__ import annotations

import re

from tools.contract import ToolInputError

# IBAN length by country (ISO 13616 registry), for the countries a European back office meets.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27,
    "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SA": 24, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "TR": 26, "UA": 29,
}  # fmt: skip

_IBAN_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]+$")
# Bank (4 letters), country (2 letters), location (2), optional branch (3).
_BIC_SHAPE = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")


def compact(value: str) -> str:
    """Upper case without spaces: the form IBANs and BICs are compared and stored in."""
    return re.sub(r"\s+", "", value).upper()


def _mod97(text: str) -> int:
    # Letters count as two digits (A=10 ... Z=35), per ISO 7064.
    digits = "".join(str(int(ch, 36)) for ch in text)
    return int(digits) % 97


def iban_check_digits(country: str, bban: str) -> str:
    """The two check digits that make ``country + check + bban`` a valid IBAN."""
    return f"{98 - _mod97(bban + country + '00'):02d}"


def make_iban(country: str, bban: str) -> str:
    return f"{country}{iban_check_digits(country, bban)}{bban}"


def parse_iban(value: object, *, field: str = "iban") -> str:
    """A valid IBAN in compact form, or ToolInputError naming ``field`` and saying what is wrong."""
    iban = compact(value) if isinstance(value, str) else ""
    if not _IBAN_SHAPE.match(iban):
        raise ToolInputError(f"{field}: not an IBAN (expected country code, 2 check digits, account)", field=field)
    country = iban[:2]
    expected = IBAN_LENGTHS.get(country)
    if expected is None:
        raise ToolInputError(f"{field}: IBAN country {country} is not supported", field=field)
    if len(iban) != expected:
        raise ToolInputError(f"{field}: a {country} IBAN has {expected} characters, got {len(iban)}", field=field)
    if _mod97(iban[4:] + iban[:4]) != 1:
        raise ToolInputError(f"{field}: IBAN checksum (mod 97) does not match; check for a typo", field=field)
    return iban


def parse_bic(value: object, *, field: str = "bic") -> str:
    """A BIC (SWIFT code) of 8 or 11 characters in upper case, or ToolInputError naming ``field``."""
    bic = compact(value) if isinstance(value, str) else ""
    if not _BIC_SHAPE.match(bic):
        raise ToolInputError(f"{field}: not a BIC (8 or 11 characters, e.g. DEUTDEFF or DEUTDEFF500)", field=field)
    return bic


def iban_country(iban: str) -> str:
    return compact(iban)[:2]


def bic_country(bic: str) -> str:
    return compact(bic)[4:6]


def domain_of(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


# Characters fraudsters swap to make a domain read the same at a glance.
_HOMOGLYPHS = str.maketrans({"1": "l", "i": "l", "0": "o", "5": "s", "3": "e", "7": "t"})


def _skeleton(domain: str) -> str:
    name = domain.rsplit(".", 1)[0] if "." in domain else domain
    return name.replace("rn", "m").replace("vv", "w").translate(_HOMOGLYPHS).replace("-", "")


def _distance(a: str, b: str) -> int:
    """Levenshtein distance; domains are short, so the quadratic table is fine."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def sender_domain_check(sender: str, known_email: str) -> str | None:
    """None when ``sender`` writes from the known domain; else "lookalike" or "unfamiliar".

    A lookalike domain (``nordlicht-log1stik.de`` for ``nordlicht-logistik.de``, or the same name
    under another top-level domain) is the classic sign of a payment-redirection attempt.
    """
    got, known = domain_of(sender), domain_of(known_email)
    if got == known:
        return None
    if _skeleton(got) == _skeleton(known) or _distance(got, known) <= 2:
        return "lookalike"
    return "unfamiliar"
