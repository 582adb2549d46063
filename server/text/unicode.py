"""The Unicode facts the rest of the package builds on, all read from ICU's character database.

Nothing here is a hand-written list: the hidden characters are the Unicode properties
Default_Ignorable_Code_Point and Bidi_Control, the confusable skeleton is ICU's implementation of
Unicode TS #39, and "mixed script" is TS #39's Highly Restrictive restriction level.
"""

from __future__ import annotations

import re
from functools import lru_cache

import icu

# Code points that render as nothing (or reorder text) unless a page marks them: zero-width and
# joiner characters, soft hyphen, variation selectors, tag characters, bidi controls and the rest.
HIDDEN_SET = "[[:Default_Ignorable_Code_Point:][:Bidi_Control:]]"


def _character_class(pattern: str) -> re.Pattern[str]:
    """A stdlib regex for an ICU set, so scanning a string runs in C (ASCII text exits at once)."""
    chars = icu.UnicodeSet(pattern)
    ranges = [(chars.getRangeStart(i), chars.getRangeEnd(i)) for i in range(chars.getRangeCount())]
    body = "".join(re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}" for low, high in ranges)
    return re.compile(f"[{body}]")


HIDDEN = _character_class(HIDDEN_SET)

_NFKC = icu.Normalizer2.getNFKCInstance()
_NFKC_CASEFOLD = icu.Normalizer2.getNFKCCasefoldInstance()


def nfkc(text: str) -> str:
    return str(_NFKC.normalize(text))


def nfkc_casefold(text: str) -> str:
    """NFKC_Casefold: NFKC, case folded, default-ignorable code points removed (UAX #31, UTS #39)."""
    return str(_NFKC_CASEFOLD.normalize(text))


def _checker(checks: int) -> icu.SpoofChecker:
    checker = icu.SpoofChecker()
    checker.setChecks(checks)
    checker.setRestrictionLevel(icu.URestrictionLevel.HIGHLY_RESTRICTIVE)
    return checker


# Configured once and only read afterwards (ICU documents a configured checker as safe to share).
_SKELETONS = _checker(icu.USpoofChecks.SINGLE_SCRIPT_CONFUSABLE)
_RESTRICTION = _checker(icu.USpoofChecks.RESTRICTION_LEVEL)


def skeleton(text: str) -> str:
    """The confusable skeleton of Unicode TS #39: strings that look alike share it ("раypal" -> "paypal")."""
    return str(_SKELETONS.getSkeleton(0, text))


@lru_cache(maxsize=4096)
def latin_lookalike(char: str) -> str:
    """The ASCII a non-ASCII character is confusable with (Cyrillic "о" -> "o"), else the character itself."""
    shape = skeleton(char)
    return shape if shape.isascii() and shape else char


def mixes_scripts(word: str) -> bool:
    """True when one word mixes scripts beyond TS #39's Highly Restrictive level ("pаypal" with Cyrillic а).

    Latin with Han, Hiragana, Katakana or Hangul (as Japanese, Chinese and Korean are written) and
    digits or punctuation with any single script are not mixed.
    """
    return bool(_RESTRICTION.check(word) & icu.USpoofChecks.RESTRICTION_LEVEL)
