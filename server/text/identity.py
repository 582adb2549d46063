"""One identity key per person: two spellings a reviewer cannot tell apart compare equal.

This version folds compatibility forms (NFKC), drops format characters (zero-width, bidi, tags)
and folds case. A fuller version (default-ignorables, confusable skeleton) may replace it; the
signature is the contract.
"""

from __future__ import annotations

import unicodedata


def identity_key(name: str) -> str:
    """The form under which two names are the same person: NFKC, no format characters, casefolded."""
    folded = unicodedata.normalize("NFKC", name)
    visible = "".join(char for char in folded if unicodedata.category(char) != "Cf")
    return unicodedata.normalize("NFKC", visible.casefold()).strip()
