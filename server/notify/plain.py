"""Agent-supplied text in a message a person reads outside our pages: hidden characters made visible.

Bidi controls, zero-width and other format characters (Unicode category Cf) could make a summary
read differently than it is; each becomes a visible marker such as ``[U+202E]``. Control characters
(line breaks included) become spaces, so nothing can start a new mail header or Slack line.
"""

from __future__ import annotations

import unicodedata


def shown(text: str, *, limit: int = 300) -> str:
    """``text`` with hidden characters shown as ``[U+XXXX]`` and controls as spaces, cut at ``limit``."""
    out = []
    for char in text[:limit]:
        category = unicodedata.category(char)
        if category == "Cf" or (0xE0000 <= ord(char) <= 0xE007F):
            out.append(f"[U+{ord(char):04X}]")
        elif category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        else:
            out.append(char)
    return "".join(out) + ("…" if len(text) > limit else "")
