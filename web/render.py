"""Rendering pages: one Jinja2 environment, autoescaped, with filters that keep agent text inert.

Agent-supplied text (arguments, reasons, evidence, summaries, tool results) is *data*: it is only
ever substituted into templates, never compiled as one, and always escaped. On top of escaping:

- ``visible`` shows hidden Unicode (every default-ignorable code point and bidi control: zero-width
  characters, soft hyphens, variation selectors, tag characters...) as ``⟦U+202E⟧`` markers, so
  text cannot look different from what it is (Trojan Source, CVE-2021-42574);
- ``link`` makes a URL clickable only when it is plain http(s) with no credentials, no hidden
  characters and no look-alike host (punycode, mixed scripts), and always shows the full URL as the link text;
- ``pretty`` prints nested values as indented JSON, through ``visible``.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape
from starlette.templating import Jinja2Templates

# HIDDEN: the characters that change how text displays without being seen, every Unicode
# default-ignorable code point and bidi control (server/text derives the set from the properties).
from server.text import HIDDEN as HIDDEN
from server.text import codepoint, lookalike_hosts
from server.text import hidden_codepoints as hidden_codepoints
from server.text import hidden_paths as hidden_paths

TEMPLATES = Path(__file__).parent / "templates"


def visible(value: Any) -> Markup:
    """Escape ``value`` and replace every hidden character with a visible, labelled marker."""
    text = "" if value is None else str(value)
    parts: list[str] = []
    last = 0
    for match in HIDDEN.finditer(text):
        parts.append(str(escape(text[last : match.start()])))
        name = codepoint(match.group())
        parts.append(f'<span class="hidden-char" title="hidden character {name}">⟦{name}⟧</span>')
        last = match.end()
    parts.append(str(escape(text[last:])))
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped or a fixed marker


def clickable(url: str) -> bool:
    """Only plain http(s) URLs with a host, no user:password@, no hidden characters and no look-alike host."""
    if HIDDEN.search(url) or lookalike_hosts(url) or any(c.isspace() or ord(c) < 0x20 for c in url):
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


def sentence(text: str) -> str:
    """A service's message as a sentence for a page: capitalised, ending in a full stop (the API keeps it as is)."""
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


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
