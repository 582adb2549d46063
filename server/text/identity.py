"""One key per person as people read names: "alice", "ALICE", "аlice" (Cyrillic а) and "al\u200bice" agree."""

from __future__ import annotations

from server.text.unicode import nfkc_casefold, skeleton


def identity_key(name: str) -> str:
    """NFKC, default-ignorables removed, case folded, then the TS #39 confusable skeleton.

    The skeleton is taken of the folded name and folded again, so a capital look-alike and its
    small letter ("Ι" Greek iota, "l", "I") meet too. Compare keys, never show them.
    """
    folded = nfkc_casefold(name.strip())
    return nfkc_casefold(skeleton(folded))
