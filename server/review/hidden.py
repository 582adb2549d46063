"""Hidden characters in what an agent supplied: the review rule's view (the page marks them too).

A character is hidden when it is a format character (Unicode category Cf: zero-width, bidi
controls, tag characters, soft hyphen...) or another default-ignorable code point that renders as
nothing (variation selectors, combining grapheme joiner, Hangul fillers, Mongolian selectors).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

# Default_Ignorable_Code_Point beyond category Cf (Unicode DerivedCoreProperties, Other_DI and
# variation selectors), as ranges.
_OTHER_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)


def is_hidden(char: str) -> bool:
    code = ord(char)
    if unicodedata.category(char) == "Cf":
        return True
    return any(low <= code <= high for low, high in _OTHER_IGNORABLE)


def hidden_codepoints(text: str) -> list[str]:
    """The hidden characters in ``text`` as ``U+XXXX`` names, in order, without repeats."""
    seen: dict[str, None] = {}
    for char in text:
        if char.isascii():
            continue
        if is_hidden(char):
            seen[f"U+{ord(char):04X}"] = None
    return list(seen)


def hidden_paths(value: Any, path: str = "") -> Iterator[tuple[str, list[str]]]:
    """Walk nested data; yield (path, codepoints) for every key or string holding hidden characters."""
    if isinstance(value, str):
        found = hidden_codepoints(value)
        if found:
            yield path or "(text)", found
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            key_found = hidden_codepoints(str(key))
            if key_found:
                yield f"{child} (name)", key_found
            yield from hidden_paths(item, child)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from hidden_paths(item, f"{path}[{index}]")


def hidden_in_call(
    *, summary: str, arguments: dict[str, Any], justification: dict[str, Any] | None, on_behalf_of: str | None
) -> list[tuple[str, list[str]]]:
    """Where hidden Unicode sits in what the agent supplied: summary, arguments, justification, on_behalf_of."""
    found = list(hidden_paths(summary, "summary"))
    found += [(f"arguments.{path}", cps) for path, cps in hidden_paths(arguments)]
    found += [(f"justification.{path}", cps) for path, cps in hidden_paths(justification or {})]
    if on_behalf_of:
        found += list(hidden_paths(on_behalf_of, "on_behalf_of"))
    return found
