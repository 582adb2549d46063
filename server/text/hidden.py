"""Where hidden characters sit: what a page must mark and a reviewer must be told about."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from server.text.unicode import HIDDEN


def codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def hidden_codepoints(text: str) -> list[str]:
    """The hidden characters in ``text`` as ``U+XXXX`` names, in order, without repeats."""
    return list(dict.fromkeys(codepoint(match.group()) for match in HIDDEN.finditer(text)))


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
