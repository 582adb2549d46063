"""Searching the audit trail: filter events, page through them newest first, and join each one
with the call it belongs to (evidence, the AI's draft, approvers, final state).

Pages are keyed by sequence number (``before_seq``), not by offset, so page 500 of a 100,000-event
log costs the same as page 1. Each page is three indexed queries: the events, their calls, and the
decisions on those calls.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from server.store.audit import ChainReport
from server.store.models import AuditEvent, Decision, ToolCall

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class AuditFilter:
    """What to look for. Every field is optional; ``since`` is inclusive and ``until`` exclusive."""

    call_id: str | None = None
    tool: str | None = None
    actor: str | None = None
    event_types: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Approver:
    name: str
    at: datetime
    reason: str | None
    override_reason: str | None
    edited: bool


@dataclass(frozen=True)
class CallContext:
    """The call an event belongs to, as it stands now."""

    id: str
    tool: str
    agent: str
    summary: str
    status: str
    category: str | None
    queue: str
    created_at: datetime
    decided_at: datetime | None
    # The AI's draft, and what was (or would be) run: equal unless a reviewer edited it.
    proposed_arguments: dict[str, Any]
    arguments: dict[str, Any]
    justification_reason: str | None
    confidence: float | None
    evidence: list[dict[str, Any]]
    approvers: list[Approver]
    rejected_by: str | None
    rejection_reason: str | None
    override_reasons: list[str]

    @property
    def edited(self) -> bool:
        return self.proposed_arguments != self.arguments


@dataclass(frozen=True)
class AuditEntry:
    event: AuditEvent
    call: CallContext | None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    # Pass as ``before_seq`` for the next (older) page; None on the last page.
    next_before_seq: int | None
    filters: AuditFilter = field(default_factory=AuditFilter)


def search(
    session: Session, filters: AuditFilter, *, before_seq: int | None = None, limit: int = DEFAULT_PAGE_SIZE
) -> AuditPage:
    """One page of matching events, newest first, each joined with its call."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _filtered(select(AuditEvent), filters)
    if before_seq is not None:
        query = query.where(col(AuditEvent.seq) < before_seq)
    # One row more than asked tells us whether an older page exists without counting.
    rows = list(session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(limit + 1)).all())
    more = len(rows) > limit
    events = rows[:limit]
    calls = load_call_contexts(session, {e.call_id for e in events if e.call_id})
    entries = [AuditEntry(event, calls.get(event.call_id) if event.call_id else None) for event in events]
    return AuditPage(entries, events[-1].seq if more and events else None, filters)


def _filtered(query: Any, filters: AuditFilter) -> Any:
    if filters.call_id:
        query = query.where(AuditEvent.call_id == filters.call_id)
    if filters.tool:
        query = query.where(AuditEvent.tool == filters.tool)
    if filters.actor:
        query = query.where(AuditEvent.actor == filters.actor)
    if filters.event_types:
        query = query.where(col(AuditEvent.event_type).in_(list(filters.event_types)))
    if filters.since is not None:
        query = query.where(col(AuditEvent.at) >= filters.since)
    if filters.until is not None:
        query = query.where(col(AuditEvent.at) < filters.until)
    return query


def event_types(session: Session) -> list[str]:
    """Every event type present in the log, for the filter's choices."""
    return sorted(session.exec(select(AuditEvent.event_type).distinct()).all())


def load_call_contexts(session: Session, call_ids: set[str]) -> dict[str, CallContext]:
    """The calls with these ids and their decisions, in two queries."""
    if not call_ids:
        return {}
    ids = sorted(call_ids)
    calls = session.exec(select(ToolCall).where(col(ToolCall.id).in_(ids))).all()
    decisions: dict[str, list[Decision]] = defaultdict(list)
    for decision in session.exec(
        select(Decision).where(col(Decision.call_id).in_(ids)).order_by(col(Decision.id))
    ).all():
        decisions[decision.call_id].append(decision)
    return {call.id: _context(call, decisions[call.id]) for call in calls}


def _context(call: ToolCall, decisions: Sequence[Decision]) -> CallContext:
    justification = call.justification or {}
    approvals = [d for d in decisions if d.kind == "approve"]
    rejection = next((d for d in decisions if d.kind == "reject"), None)
    return CallContext(
        id=call.id,
        tool=call.tool,
        agent=call.agent,
        summary=call.summary,
        status=call.status,
        category=call.category,
        queue=call.queue,
        created_at=call.created_at,
        decided_at=call.decided_at,
        proposed_arguments=json.loads(call.proposed_arguments),
        arguments=json.loads(call.arguments),
        justification_reason=justification.get("reason"),
        confidence=call.confidence,
        evidence=list(justification.get("evidence") or []),
        approvers=[
            Approver(d.actor, d.created_at, d.reason, d.override_reason, d.edited_arguments is not None)
            for d in approvals
        ],
        rejected_by=rejection.actor if rejection else None,
        rejection_reason=rejection.reason if rejection else None,
        override_reasons=[d.override_reason for d in decisions if d.override_reason],
    )


def tool_history(session: Session, tool: str, *, limit: int = 20) -> list[AuditEvent]:
    """Admin changes to one tool's level (overrides set and cleared), newest first."""
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.tool == tool,
            col(AuditEvent.event_type).in_(["tool_override_set", "tool_override_cleared"]),
        )
        .order_by(col(AuditEvent.seq).desc())
        .limit(limit)
    )
    return list(session.exec(query).all())


def describe_chain(report: ChainReport) -> str:
    """The verification result in one line, the same wherever the chain is checked (CLI, admin page)."""
    if report.ok:
        return f"audit chain intact: {report.events} events"
    where = f"event {report.broken_seq}" if report.broken_seq is not None else "the chain head"
    return f"audit chain broken at {where}: {report.problem} ({report.events} events verified before it)"
