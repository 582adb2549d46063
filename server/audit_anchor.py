"""Anchors: the audit chain's head, signed, for an operator to keep outside the database.

The hash chain proves that no event was changed *inside* the chain, but its head lives in the same
database: whoever can truncate the table, move the head back or recompute every hash leaves a chain
that verifies. An anchor (sequence number, hash, time, HMAC-SHA256 with ``COUNTERSIGN_SECRET_KEY``)
stored elsewhere catches that: the chain must still contain the anchored event with the anchored hash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from server.canonical import canonical_json
from server.config import DEVELOPMENT_SECRET, PLACEHOLDER_SECRETS, Settings
from server.store import audit
from server.store.models import AuditEvent, AuditHead

# Signed with the message, so a signature made for anything else with the same key never passes as an anchor.
KIND = "countersign-audit-anchor/1"
MAX_ANCHOR_CHARS = 4096


class AnchorError(ValueError):
    """An anchor that cannot be made or does not hold; the message is one line for the operator."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    time: str
    signature: str

    def as_json(self) -> str:
        return json.dumps({"kind": KIND, **asdict(self)}, sort_keys=True)


def signing_key(settings: Settings) -> bytes:
    """The key anchors are signed with; refused where it protects nothing."""
    if settings.environment != "development" and settings.secret_key in PLACEHOLDER_SECRETS:
        raise AnchorError("COUNTERSIGN_SECRET_KEY is unset or a placeholder: anchors signed with it prove nothing")
    return settings.secret_key.encode("utf-8")


def is_development_key(settings: Settings) -> bool:
    return settings.secret_key == DEVELOPMENT_SECRET


def sign(seq: int, head_hash: str, time: str, key: bytes) -> str:
    message = canonical_json({"kind": KIND, "seq": seq, "hash": head_hash, "time": time})
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def anchor_head(session: Session, key: bytes, now: datetime) -> Anchor:
    """Sign the current head, once the whole chain verifies (an anchor vouches for what it covers)."""
    report = audit.verify(session)
    if not report.ok:
        raise AnchorError(
            f"the chain does not verify, so it is not anchored: {report.problem} (event {report.broken_seq})"
        )
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
    time = now.isoformat(timespec="seconds")
    return Anchor(head.seq, head.hash, time, sign(head.seq, head.hash, time, key))


def parse(text: str) -> Anchor:
    """An anchor from its JSON form, as printed by ``countersign audit anchor``."""
    if len(text) > MAX_ANCHOR_CHARS:
        raise AnchorError(f"an anchor is a short JSON object (at most {MAX_ANCHOR_CHARS} characters)")
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AnchorError(f"the anchor is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise AnchorError(f"not an audit anchor (expected a JSON object with kind {KIND!r})")
    seq, head_hash, time, signature = (data.get(k) for k in ("seq", "hash", "time", "signature"))
    if not (isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0):
        raise AnchorError("the anchor's seq is not a non-negative whole number")
    if not all(isinstance(v, str) and v for v in (head_hash, time, signature)):
        raise AnchorError("the anchor needs hash, time and signature as text")
    return Anchor(seq, str(head_hash), str(time), str(signature))


def check(session: Session, anchor: Anchor, key: bytes) -> None:
    """Raise unless the anchor is genuine and the chain still holds its event with its hash.

    The caller verifies the chain itself (links and hashes) separately; this catches what a valid
    chain can still hide: truncation, a head moved back, a chain recomputed from some event on.
    """
    expected = sign(anchor.seq, anchor.hash, anchor.time, key)
    if not hmac.compare_digest(expected, anchor.signature):
        raise AnchorError("the anchor's signature is wrong: forged, altered, or signed with another secret key")
    if anchor.seq == 0:
        return  # anchored an empty chain: every chain contains it
    event = session.exec(select(AuditEvent).where(AuditEvent.seq == anchor.seq)).first()
    if event is None:
        raise AnchorError(
            f"the chain no longer contains anchored event {anchor.seq} (anchored {anchor.time}): "
            "truncated or its head moved back"
        )
    if not hmac.compare_digest(event.hash, anchor.hash):
        raise AnchorError(
            f"event {anchor.seq} no longer has the anchored hash (anchored {anchor.time}): "
            "the chain was rewritten and recomputed"
        )
