"""The audit trail: one event per transition, written in the transition's own transaction.

Each event stores the hash of the one before it, over a canonical JSON form of its fields, so
changing a byte, deleting a row or swapping two rows breaks the chain at a point `verify` names.
The chain's tip lives in ``audit_head``; appending locks that row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers), so concurrent transitions
never fork the chain.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from server.canonical import canonical_json, sha256_hex
from server.store.models import AuditEvent, AuditHead
from server.store.raw import RawTransaction

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "seq",
    "at",
    "event_type",
    "call_id",
    "tool",
    "actor",
    "actor_kind",
    "before_status",
    "after_status",
    "reason",
    "override_reason",
    "category",
    "args_hash",
    "data",
    "prev_hash",
)
EXPORT_FIELDS = (*HASHED_FIELDS, "hash")


class AuditError(RuntimeError):
    """The audit trail could not be written; the transition it belongs to must not happen."""


def event_hash(fields: dict[str, Any]) -> str:
    return sha256_hex(canonical_json({name: fields[name] for name in HASHED_FIELDS}))


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "event_type": event.event_type,
        "call_id": event.call_id,
        "tool": event.tool,
        "actor": event.actor,
        "actor_kind": event.actor_kind,
        "before_status": event.before_status,
        "after_status": event.after_status,
        "reason": event.reason,
        "override_reason": event.override_reason,
        "category": event.category,
        "args_hash": event.args_hash,
        "data": event.data,
        "prev_hash": event.prev_hash,
    }


def append(
    session: Session,
    *,
    at: datetime,
    event_type: str,
    actor: str,
    actor_kind: str,
    call_id: str | None = None,
    tool: str | None = None,
    before_status: str | None = None,
    after_status: str | None = None,
    reason: str | None = None,
    override_reason: str | None = None,
    category: str | None = None,
    args_hash: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event to the chain inside the caller's transaction."""
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        raise AuditError("audit chain head is missing; the database was not migrated")
    # Round-trip data through JSON so what we hash is exactly what the database returns later.
    data = json.loads(canonical_json(data)) if data is not None else None
    at = at.astimezone(UTC)
    event = AuditEvent(
        seq=head.seq + 1,
        at=at,
        event_type=event_type,
        call_id=call_id,
        tool=tool,
        actor=actor,
        actor_kind=actor_kind,
        before_status=before_status,
        after_status=after_status,
        reason=reason,
        override_reason=override_reason,
        category=category,
        args_hash=args_hash,
        data=data,
        prev_hash=head.hash,
        hash="",
    )
    event.hash = event_hash(_fields(event))
    head.seq = event.seq
    head.hash = event.hash
    session.add(event)
    session.add(head)
    return event


_EVENTS: sa.Table = AuditEvent.__table__  # type: ignore[attr-defined]
_READ_HEAD = "SELECT seq, hash FROM audit_head WHERE id = 1"  # SQLite: BEGIN IMMEDIATE already holds the lock
_LOCK_HEAD_POSTGRESQL = _READ_HEAD + " FOR UPDATE"


def append_many(tx: RawTransaction, events: list[dict[str, Any]]) -> None:
    """Add many events (keyword fields of :func:`append`) with one head read and three statements.

    For the allowed-call journal, which writes through the DBAPI (``Store.raw_write``); the chain is
    the same as appending one by one, and the head row is locked the same way.
    """
    if not events:
        return
    tx.execute(_LOCK_HEAD_POSTGRESQL if tx.is_postgresql else _READ_HEAD)
    head = tx.fetchone()
    if head is None:
        raise AuditError("audit chain head is missing; the database was not migrated")
    rows: list[dict[str, Any]] = []
    seq, prev = head
    for fields in events:
        seq += 1
        row = {name: fields.get(name) for name in HASHED_FIELDS}
        # No JSON round trip here: canonical_json hashes ``data`` exactly as the JSON column will return it.
        row.update(seq=seq, prev_hash=prev)
        at = fields["at"].astimezone(UTC)
        row["at"] = at.isoformat(timespec="microseconds")
        prev = event_hash(row)
        row.update(at=at, hash=prev)
        rows.append(row)
    tx.insert(_EVENTS, rows)
    tx.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, prev))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    # The first event that does not verify, and why; None when the chain is intact.
    broken_seq: int | None = None
    problem: str | None = None


def verify(session: Session, *, batch: int = 1000) -> ChainReport:
    """Walk the chain in order, streaming, and report the first broken event."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for event in _stream(session, batch=batch):
        if event.seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"event {expected_seq} is missing (found {event.seq} next)")
        if event.prev_hash != expected_prev:
            return ChainReport(False, count, event.seq, "does not link to the event before it")
        if event_hash(_fields(event)) != event.hash:
            return ChainReport(False, count, event.seq, "its contents do not match its hash")
        expected_prev = event.hash
        expected_seq += 1
        count += 1
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)).first()
    if head is None:
        return ChainReport(False, count, None, "audit chain head is missing")
    if head.seq != count or head.hash != expected_prev:
        return ChainReport(False, count, count + 1, f"the chain ends at {count} but its head says {head.seq}")
    return ChainReport(True, count)


def _stream(session: Session, *, batch: int, **filters: Any) -> Iterator[AuditEvent]:
    """Events in order, fetched in pages so memory stays flat for any chain length."""
    last = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.seq) > last).order_by(col(AuditEvent.seq)).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def export_rows(session: Session, *, batch: int = 1000) -> Iterator[dict[str, Any]]:
    for event in _stream(session, batch=batch):
        row = _fields(event)
        row["hash"] = event.hash
        yield row


def export_jsonl(session: Session, *, batch: int = 1000) -> Iterator[str]:
    for row in export_rows(session, batch=batch):
        yield canonical_json(row) + "\n"


# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text a spreadsheet shows as text: a leading single quote defuses a would-be formula.

    For CSV only; the JSON Lines export stays byte-exact, since it is what the chain is verified on.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def export_csv(session: Session, *, batch: int = 1000) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in export_rows(session, batch=batch):
        row["data"] = canonical_json(row["data"]) if row["data"] is not None else ""
        writer.writerow({name: spreadsheet_safe(value) for name, value in row.items()})
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def verify_rows(rows: Iterator[dict[str, Any]]) -> ChainReport:
    """Verify an exported chain (JSON Lines rows) without the database."""
    expected_prev = GENESIS_HASH
    count = 0
    for row in rows:
        seq = row.get("seq")
        if seq != count + 1:
            return ChainReport(False, count, count + 1, f"event {count + 1} is missing")
        if row.get("prev_hash") != expected_prev:
            return ChainReport(False, count, seq, "does not link to the event before it")
        if event_hash(row) != row.get("hash"):
            return ChainReport(False, count, seq, "its contents do not match its hash")
        expected_prev = row["hash"]
        count += 1
    return ChainReport(True, count)
