"""Rendering pages: one Jinja2 environment, autoescaped, with filters that keep agent text inert.

Agent-supplied text (arguments, reasons, evidence, summaries, tool results) is *data*: it is only
ever substituted into templates, never compiled as one, and always escaped. On top of escaping:

- ``visible`` shows hidden Unicode (bidi controls, zero-width characters, tag characters) as
  ``⟦U+202E⟧`` markers, so text cannot look different from what it is (Trojan Source, CVE-2021-42574);
- ``link`` makes a URL clickable only when it is plain http(s) with no credentials and no hidden
  characters, and always shows the full URL as the link text;
- ``pretty`` prints nested values as indented JSON, through ``visible``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

TEMPLATES = Path(__file__).parent / "templates"

# Characters that change how text displays without being seen.
HIDDEN = re.compile(
    "["
    "\u00ad"  # soft hyphen
    "\u061c"  # Arabic letter mark
    "\u180e"  # Mongolian vowel separator
    "\u200b-\u200f"  # zero-width space/non-joiner/joiner, LRM, RLM
    "\u202a-\u202e"  # bidi embeddings and overrides
    "\u2060-\u2064"  # word joiner, invisible operators
    "\u2066-\u2069"  # bidi isolates
    "\ufeff"  # zero-width no-break space (BOM)
    "\U000e0000-\U000e007f"  # tag characters ("ASCII smuggling")
    "]"
)


def hidden_codepoints(text: str) -> list[str]:
    """The hidden characters in ``text`` as ``U+XXXX`` names, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in HIDDEN.finditer(text):
        seen[_codepoint(match.group())] = None
    return list(seen)


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def visible(value: Any) -> Markup:
    """Escape ``value`` and replace every hidden character with a visible, labelled marker."""
    text = "" if value is None else str(value)
    parts: list[str] = []
    last = 0
    for match in HIDDEN.finditer(text):
        parts.append(str(escape(text[last : match.start()])))
        name = _codepoint(match.group())
        parts.append(f'<span class="hidden-char" title="hidden character {name}">⟦{name}⟧</span>')
        last = match.end()
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped or a fixed marker


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


def clickable(url: str) -> bool:
    """Only plain http(s) URLs with a host, no user:password@ and no hidden characters get a link."""
    if HIDDEN.search(url) or any(c.isspace() or ord(c) < 0x20 for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and "@" not in parts.netloc


def link(url: Any) -> Markup:
    """The URL as text, clickable (new tab, no referrer, no opener) only when :func:`clickable`."""
    text = "" if url is None else str(url)
    shown = visible(text)
    if not clickable(text):
        return Markup('<span class="url" title="not a web link">{}</span>').format(shown)
    return Markup('<a class="url" href="{}" rel="noopener noreferrer" target="_blank">{}</a>').format(text, shown)


def pretty(value: Any) -> Markup:
    """Nested data as indented JSON (non-ASCII kept, so hidden characters get their markers)."""
    if isinstance(value, str):
        return visible(value)
    return visible(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, default=str))


def money(amount: float | None, currency: str | None = None) -> str:
    if amount is None:
        return ""
    if not math.isfinite(amount):
        return f"{amount} {currency or ''}".strip()
    return f"{amount:,.2f} {currency or ''}".strip()


def percent(value: float | None) -> str:
    return "" if value is None else f"{round(value * 100)}%"


def duration(seconds: float) -> str:
    """A short human duration: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{int(seconds)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def ago(moment: datetime | None, now: datetime | None = None) -> str:
    if moment is None:
        return ""
    return duration(((now or datetime.now(UTC)) - moment).total_seconds())


def when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        visible=visible,
        link=link,
        pretty=pretty,
        money=money,
        percent=percent,
        duration=duration,
        ago=ago,
        when=when,
        iso=iso,
    )
    env.globals["hidden_codepoints"] = hidden_codepoints
    return env


def make_templates() -> Jinja2Templates:
    return Jinja2Templates(env=make_environment())
