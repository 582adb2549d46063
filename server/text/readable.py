"""Text as a person reads it: what the policy matches on, and what it can tell about the writing.

``readable("c\u200bom\u00adpensatiоn")`` (zero-width space, soft hyphen, Cyrillic о) is
"compensation": NFKC, default-ignorable code points removed, and every non-ASCII character that is
confusable with ASCII (TS #39 skeleton) replaced by it. ASCII is kept as written, so a rule written
in plain letters matches, and "m" never turns into the skeleton's "rn".

Pure-ASCII strings carry nothing hidden and nothing confusable; they are returned as they are
without further work, which keeps the allowed-call path cheap.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from server.text.unicode import HIDDEN, latin_lookalike, mixes_scripts, nfkc

# Built once: json.dumps with options would build an encoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, check_circular=False)


@dataclass(frozen=True)
class TextFacts:
    """What a text carried beyond what it shows."""

    # Default-ignorable code points or bidi controls: characters that render as nothing.
    hidden: bool = False
    # A word written in more than one script (TS #39 Highly Restrictive), as look-alike spoofs are.
    mixed_script: bool = False

    def __or__(self, other: TextFacts) -> TextFacts:
        return TextFacts(self.hidden or other.hidden, self.mixed_script or other.mixed_script)

    @property
    def any(self) -> bool:
        return self.hidden or self.mixed_script


PLAIN = TextFacts()


def readable(text: str) -> str:
    """The text as a person reads it (see the module docstring)."""
    if text.isascii():
        return text
    # Removed before NFKC (so they cannot block a composition) and after (NFKC can produce one).
    shown = HIDDEN.sub("", nfkc(HIDDEN.sub("", text)))
    return "".join(char if char.isascii() else latin_lookalike(char) for char in shown)


def text_facts(text: str) -> TextFacts:
    if text.isascii():
        return PLAIN
    hidden = HIDDEN.search(text) is not None
    words = nfkc(HIDDEN.sub("", text)).split()
    return TextFacts(hidden=hidden, mixed_script=any(not w.isascii() and mixes_scripts(w) for w in words))


def readable_tree(value: Any) -> Any:
    """``value`` (JSON-like) with every string, keys included, made :func:`readable`.

    Returns ``value`` itself when nothing changes (all-ASCII arguments cost one pass in C).
    """
    if is_ascii_tree(value):
        return value
    return _readable_tree(value)


def _readable_tree(value: Any) -> Any:
    if isinstance(value, str):
        return readable(value)
    if isinstance(value, dict):
        items = [(readable(k) if isinstance(k, str) else k, _readable_tree(v)) for k, v in value.items()]
        if all(k is old_k and v is old_v for (k, v), (old_k, old_v) in zip(items, value.items(), strict=True)):
            return value
        return dict(items)
    if isinstance(value, list | tuple):
        items = [_readable_tree(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return items
    return value


def tree_facts(value: Any) -> TextFacts:
    """What any string in ``value`` (keys included) carried."""
    if is_ascii_tree(value):
        return PLAIN
    hidden = mixed = False
    for text in strings_in(value):
        if not text.isascii():
            found = text_facts(text)
            hidden, mixed = hidden or found.hidden, mixed or found.mixed_script
    return TextFacts(hidden, mixed)


def is_ascii_tree(value: Any) -> bool:
    """True when every string in JSON-like ``value`` is ASCII: one pass in C for the common case."""
    try:
        return _ENCODER.encode(value).isascii()
    except (TypeError, ValueError):  # not JSON-like: say no, and let the caller walk it
        return False


def strings_in(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield key
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)
