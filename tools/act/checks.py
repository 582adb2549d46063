"""Validation shared by the act tools. Each check raises ToolInputError naming the field, before any effect."""

from __future__ import annotations

import re

from tools.contract import ToolInputError

# Characters that change how text reads without being seen: bidi overrides and zero-width marks.
HIDDEN_CHARACTERS = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def text(value: object, field: str, *, min_length: int = 1, max_length: int = 1000, one_line: bool = False) -> str:
    """Stripped text within the given length; ``one_line`` refuses line breaks (e-mail subjects, claims)."""
    if not isinstance(value, str):
        raise ToolInputError(f"{field}: must be text", field=field)
    cleaned = value.strip()
    if len(cleaned) < min_length:
        raise ToolInputError(f"{field}: must be at least {min_length} characters", field=field)
    if len(cleaned) > max_length:
        raise ToolInputError(f"{field}: must be at most {max_length} characters, got {len(cleaned)}", field=field)
    if one_line and ("\n" in cleaned or "\r" in cleaned):
        raise ToolInputError(f"{field}: must be a single line", field=field)
    return cleaned


def hidden_characters(value: str) -> list[str]:
    """Code points of invisible characters in ``value`` ("U+202E"...), for warnings that show them."""
    return sorted({f"U+{ord(ch):04X}" for ch in HIDDEN_CHARACTERS.findall(value)})
