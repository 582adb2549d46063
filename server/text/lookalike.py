"""Look-alike domains in e-mail addresses and URLs: punycode and hosts that mix scripts.

"pаypal.com" with a Cyrillic а, or its punycode "xn--pypal-4ve.com", reads as paypal.com to a
person. A reviewer who approves a payment or an e-mail to such an address should be told.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from server.text.readable import readable
from server.text.unicode import HIDDEN, mixes_scripts, nfkc

_URL_HOST = re.compile(r"[a-z][a-z0-9+.\-]*://(?:[^\s/?#@<>\"']*@)?([^\s/?#:<>\"'\\]+)", re.IGNORECASE)
_EMAIL_HOST = re.compile(r"[^\s@<>()\"',;:]+@([^\s@<>()\"',;:/?#\\]+)")
_PUNYCODE_LABEL = "xn--"


@dataclass(frozen=True)
class LookalikeHost:
    host: str
    # How a person reads it: punycode decoded, hidden characters removed, look-alikes made ASCII.
    reads_as: str
    reason: str


def lookalike_hosts(text: str) -> list[LookalikeHost]:
    """The hosts of e-mail addresses and URLs in ``text`` that can pass for another, without repeats."""
    found: dict[str, LookalikeHost] = {}
    for pattern in (_URL_HOST, _EMAIL_HOST):
        for match in pattern.finditer(text):
            host = match.group(1).rstrip(".")
            if host not in found:
                warning = _judge(host)
                if warning is not None:
                    found[host] = warning
    return list(found.values())


def _judge(host: str) -> LookalikeHost | None:
    labels = host.split(".")
    punycode = any(label.lower().startswith(_PUNYCODE_LABEL) for label in labels)
    shown = ".".join(_decode(label) for label in labels) if punycode else host
    if shown.isascii():
        return LookalikeHost(host, shown, "punycode") if punycode else None
    reasons = ["punycode"] if punycode else []
    if HIDDEN.search(shown):
        reasons.append("hidden characters")
    if any(mixes_scripts(label) for label in nfkc(HIDDEN.sub("", shown)).split(".") if not label.isascii()):
        reasons.append("mixed scripts")
    reads_as = readable(shown)
    if reads_as.isascii():
        reasons.append(f"non-ASCII letters that look like {reads_as}")
    if not reasons:  # an international domain in one script, such as 日本.jp, passes for nothing else
        return None
    return LookalikeHost(host, reads_as if reads_as.isascii() else shown, ", ".join(reasons))


def _decode(label: str) -> str:
    if not label.lower().startswith(_PUNYCODE_LABEL):
        return label
    try:
        return label[len(_PUNYCODE_LABEL) :].encode("ascii").decode("punycode")
    except (UnicodeError, ValueError):
        return label
