"""Building a long, valid audit chain fast: hashes computed here, rows bulk-inserted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.store.audit import GENESIS_HASH, event_hash
from server.store.models import AuditEvent, AuditHead

START = datetime(2026, 1, 1, tzinfo=UTC)


def bulk_chain(engine: Engine, count: int, *, chunk: int = 5000) -> str:
    """Append ``count`` events to the chain, continuing from its head; returns the new head hash."""
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    head = AuditHead.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        first, prev = conn.execute(sa.select(head.c.seq, head.c.hash)).one()
        prev = prev or GENESIS_HASH
        rows: list[dict[str, Any]] = []
        for seq in range(first + 1, first + count + 1):
            at = START + timedelta(seconds=seq)
            fields: dict[str, Any] = {
                "seq": seq,
                "at": at.isoformat(timespec="microseconds"),
                "event_type": "held" if seq % 3 else "approved",
                "call_id": f"call-{seq // 3:08d}",
                "tool": "issue_refund",
                "actor": "agent-7" if seq % 3 else "rita",
                "actor_kind": "agent" if seq % 3 else "person",
                "before_status": None,
                "after_status": "held",
                "reason": "customer asked for a refund of a damaged parcel",
                "override_reason": None,
                "category": "refund",
                "args_hash": "a" * 64,
                "data": {"queue": "finance", "n": seq},
                "prev_hash": prev,
            }
            prev = event_hash(fields)
            rows.append({**fields, "at": at, "hash": prev})
            if len(rows) == chunk:
                conn.execute(sa.insert(table), rows)
                rows = []
        if rows:
            conn.execute(sa.insert(table), rows)
        conn.execute(sa.update(head).values(seq=first + count, hash=prev))
    return prev
