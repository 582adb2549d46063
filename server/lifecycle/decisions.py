"""Deciding held calls: approve (with quorum and edits), reject, cancel, expire.

Every decision runs in one write transaction that locks the call row, checks its status, writes the
decision, moves the status by compare-and-set (``UPDATE ... WHERE id = :id AND status = 'held'``,
row count checked) and appends the audit event. Two people deciding at once: exactly one wins; the
other gets :class:`Conflict`.

Approvals are bound to the argument hash they were given for: when a reviewer edits the arguments,
earlier approvals of the old arguments stop counting toward the quorum. An edit re-routes the call:
everything the policy derives from the arguments (action, risk, queue, owner, required approvals,
exposure, priority, summary) is taken from the new verdict, and an edited call needs at least one
approval from a person other than its editor (its quorum is at least two).

Who is deciding is compared by identity key (server/text/identity.py), so "Ana", "ana" and "аna"
with a Cyrillic letter are one person for separation of duties.

The rules a surface applies before calling here (override reasons, argument-hash binding, edit
validation) live in server/review/; this module enforces what must hold under the row lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from server.canonical import canonical_json, sha256_hex
from server.lifecycle.actors import SYSTEM, Person
from server.lifecycle.diff import argument_diff
from server.lifecycle.errors import CallNotFound, Conflict, Forbidden, InvalidDecision
from server.lifecycle.states import CallStatus, can_move
from server.notify import outbox
from server.policy.types import Action, Verdict
from server.store import audit
from server.store.db import Store
from server.store.models import Decision, ToolCall
from server.text.identity import identity_key

T = TypeVar("T")

# Re-classifies edited arguments: validates them (raising InvalidDecision) and returns the new verdict
# and the call's new summary (its title on every page and in the audit).
Reclassify = Callable[[ToolCall, dict[str, Any]], tuple[Verdict, str]]
# An edited call needs a person besides its editor, so its quorum is never below this.
EDITED_QUORUM = 2


def requested_by(call: ToolCall, name: str) -> bool:
    """Whether ``name`` is the person the call was made for (on_behalf_of, or the agent's bound person)."""
    key = identity_key(name)
    return any(other is not None and identity_key(other) == key for other in (call.on_behalf_of, call.bound_person))


@dataclass(frozen=True)
class DecisionOutcome:
    call: ToolCall
    # True when this decision completed the quorum and the call is now APPROVED (ready to execute).
    approved: bool
    approvals: int
    required: int
    diff: list[dict[str, Any]] | None = None


def compare_and_set(
    session: Session, call: ToolCall, expected: CallStatus, new: CallStatus, now: datetime, **values: Any
) -> None:
    """Move ``call`` from ``expected`` to ``new`` or raise Conflict; updates the in-memory row too."""
    if not can_move(expected, new):
        raise Conflict(f"a call cannot move from {expected} to {new}")
    result = session.execute(
        sa.update(ToolCall)
        .where(col(ToolCall.id) == call.id, col(ToolCall.status) == expected.value)
        .values(status=new.value, updated_at=now, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"call {call.id} is no longer {expected}")
    call.status = new
    call.updated_at = now
    for name, value in values.items():
        setattr(call, name, value)


def transition_event(
    session: Session,
    call: ToolCall,
    event_type: str,
    *,
    before: CallStatus,
    at: datetime,
    actor: str = SYSTEM,
    actor_kind: str = "system",
    reason: str | None = None,
    override_reason: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """The audit event of a transition ``call`` just made (from ``before`` to the status it has now)."""
    audit.append(
        session,
        at=at,
        event_type=event_type,
        actor=actor,
        actor_kind=actor_kind,
        call_id=call.id,
        tool=call.tool,
        before_status=before.value,
        after_status=call.status,
        reason=reason,
        override_reason=override_reason,
        category=call.category,
        args_hash=call.args_hash,
        data=data,
    )
    # Same transaction: the events worth telling (held, decided, executed...) go to the outbox.
    outbox.enqueue(session, call, event_type, at=at, actor=actor, reason=reason, data=data)


def _locked(session: Session, call_id: str) -> ToolCall:
    call = session.exec(select(ToolCall).where(ToolCall.id == call_id).with_for_update()).first()
    if call is None:
        raise CallNotFound(f"no call {call_id}")
    return call


def _expire_in(session: Session, call: ToolCall, now: datetime) -> None:
    compare_and_set(session, call, CallStatus.HELD, CallStatus.EXPIRED, now, finished_at=now)
    transition_event(
        session, call, "expired", before=CallStatus.HELD, at=now, reason="nobody decided before the call expired"
    )


def _require_held(store: Store, session: Session, call: ToolCall) -> bool:
    """True if the call is HELD and in time; expires it (to be committed) when it is past its expiry."""
    if call.status != CallStatus.HELD:
        return False
    if overdue(call, store.now()):
        _expire_in(session, call, store.now())
        return False
    return True


def overdue(call: ToolCall, now: datetime) -> bool:
    """A held call past its expiry: nobody may decide it any more, and the next look expires it."""
    return call.status == CallStatus.HELD and call.expires_at is not None and call.expires_at <= now


def approve(
    store: Store,
    call_id: str,
    person: Person,
    *,
    reason: str | None = None,
    override_reason: str | None = None,
    edited_arguments: dict[str, Any] | None = None,
    reclassify: Reclassify | None = None,
    expected_args_hash: str | None = None,
    via: dict[str, Any] | None = None,
) -> DecisionOutcome:
    """Record one person's approval; approve the call when the quorum of distinct people is reached.

    ``expected_args_hash`` is the hash of the arguments the person looked at: when someone edited the
    call since, the approval is refused (checked under the row lock, so nobody approves unseen arguments).
    ``via`` (channel, client address) goes into the audit event.

    Raises:
        CallNotFound, Conflict, Forbidden, InvalidDecision (see errors.py).
    """

    def decide(session: Session, call: ToolCall) -> DecisionOutcome:
        if requested_by(call, person.name):
            raise Forbidden("you requested this call; someone else must approve it")
        if expected_args_hash is not None and expected_args_hash != call.args_hash:
            raise Conflict("the call's arguments changed since you opened it (someone edited it); review it again")
        return _approve_held(store, session, call, person, reason, override_reason, edited_arguments, reclassify, via)

    return _decide(store, call_id, person, decide)


def _decide(store: Store, call_id: str, person: Person, decide: Callable[[Session, ToolCall], T]) -> T:
    """Run ``decide`` on the locked call if it is HELD and in time; otherwise raise Conflict.

    A call found past its expiry is expired on the way, and that is committed before the Conflict.
    """
    with store.write() as session:
        call = _locked(session, call_id)
        _check_may_decide(call, person)
        if _require_held(store, session, call):
            return decide(session, call)
        expired = call.status == CallStatus.EXPIRED
    if expired:
        raise Conflict(f"call {call_id} expired before it was decided")
    raise Conflict(f"call {call_id} is already {call.status}")


def _approve_held(
    store: Store,
    session: Session,
    call: ToolCall,
    person: Person,
    reason: str | None,
    override_reason: str | None,
    edited_arguments: dict[str, Any] | None,
    reclassify: Reclassify | None,
    via: dict[str, Any] | None,
) -> DecisionOutcome:
    now = store.now()
    changes: list[dict[str, Any]] | None = None
    edit_values: dict[str, Any] = {}
    edited_text = canonical_json(edited_arguments) if edited_arguments is not None else call.arguments
    if edited_arguments is not None and edited_text != call.arguments:
        if reclassify is None:
            raise InvalidDecision("this call cannot be edited here")
        verdict, summary = reclassify(call, edited_arguments)
        if verdict.action == Action.BLOCK:
            raise InvalidDecision(f"the edited call would be blocked: {verdict.reason}")
        changes = argument_diff(json.loads(call.arguments), edited_arguments)
        edit_values = _apply_edit(call, edited_text, verdict, summary)
    if session.exec(
        select(Decision).where(
            Decision.call_id == call.id, Decision.actor == person.name, Decision.args_hash == call.args_hash
        )
    ).first():
        raise Conflict("you already approved this call; it needs another person")
    session.add(
        Decision(
            call_id=call.id,
            actor=person.name,
            kind="approve",
            reason=reason,
            override_reason=override_reason,
            edited_arguments=call.arguments if changes is not None else None,
            diff=changes,
            args_hash=call.args_hash,
            created_at=now,
        )
    )
    session.flush()
    approvals = session.exec(
        select(func.count(func.distinct(Decision.actor))).where(
            Decision.call_id == call.id, Decision.kind == "approve", Decision.args_hash == call.args_hash
        )
    ).one()
    complete = approvals >= call.required_approvals
    if complete:
        compare_and_set(
            session, call, CallStatus.HELD, CallStatus.APPROVED, now, approvals=approvals, decided_at=now, **edit_values
        )
    else:
        _update_held(session, call, now, approvals=approvals, **edit_values)
    transition_event(
        session,
        call,
        "approved" if complete else "approval_recorded",
        before=CallStatus.HELD,
        at=now,
        actor=person.name,
        actor_kind="person",
        reason=reason,
        override_reason=override_reason,
        data=_event_data(
            {"approvals": approvals, "required": call.required_approvals, "diff": changes},
            edit=_routing(call) if changes is not None else None,
            via=via,
        ),
    )
    return DecisionOutcome(call, complete, approvals, call.required_approvals, changes)


def _apply_edit(call: ToolCall, arguments_text: str, verdict: Verdict, summary: str) -> dict[str, Any]:
    """Apply a reviewer's edit to the row in memory; the changed columns, for the guarded UPDATE.

    Everything the policy derives from the arguments follows the new verdict (a payment raised above
    the two-person threshold moves to its queue and needs two), and the quorum is at least two: the
    editor's own approval never suffices.
    """
    values = {
        "arguments": arguments_text,
        "args_hash": sha256_hex(arguments_text),
        "summary": summary[:500],
        "verdict": verdict.model_dump(mode="json"),
        "action": verdict.action.value,
        "risk": verdict.risk.value,
        "queue": verdict.queue,
        "owner": verdict.owner,
        "category": verdict.category,
        "required_approvals": max(verdict.required_approvals, EDITED_QUORUM),
        "exposure_amount": verdict.exposure.amount if verdict.exposure else None,
        "exposure_currency": verdict.exposure.currency if verdict.exposure else None,
        "customer": verdict.customer,
        "customer_impact": verdict.customer_impact.value,
        "priority": verdict.priority,
        "policy_version": verdict.policy_version,
    }
    for name, value in values.items():
        setattr(call, name, value)
    return values


def _routing(call: ToolCall) -> dict[str, Any]:
    """What an edit re-derived, for the audit event (the new title and route of the call)."""
    return {
        "summary": call.summary,
        "queue": call.queue,
        "risk": call.risk,
        "action": call.action,
        "required_approvals": call.required_approvals,
        "exposure_amount": call.exposure_amount,
        "exposure_currency": call.exposure_currency,
        "priority": call.priority,
    }


def _event_data(
    data: dict[str, Any], *, edit: dict[str, Any] | None = None, via: dict[str, Any] | None = None
) -> dict[str, Any]:
    if edit is not None:
        data["edit"] = edit
    if via is not None:
        data["via"] = via
    return data


def _update_held(session: Session, call: ToolCall, now: datetime, **values: Any) -> None:
    result = session.execute(
        sa.update(ToolCall)
        .where(col(ToolCall.id) == call.id, col(ToolCall.status) == CallStatus.HELD.value)
        .values(updated_at=now, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"call {call.id} is no longer held")
    for name, value in values.items():
        setattr(call, name, value)


def _check_may_decide(call: ToolCall, person: Person) -> None:
    if not person.may_decide:
        raise Forbidden("auditors read calls; they do not decide them")
    if not person.may_review(call.queue):
        raise Forbidden(f"you do not review the {call.queue!r} queue")


def reject(store: Store, call_id: str, person: Person, *, reason: str, via: dict[str, Any] | None = None) -> ToolCall:
    """Reject a held call; a reason is required. Any single rejection is final."""
    if not reason or not reason.strip():
        raise InvalidDecision("a rejection needs a reason")

    def decide(session: Session, call: ToolCall) -> ToolCall:
        now = store.now()
        session.add(
            Decision(
                call_id=call.id,
                actor=person.name,
                kind="reject",
                reason=reason,
                args_hash=call.args_hash,
                created_at=now,
            )
        )
        compare_and_set(
            session,
            call,
            CallStatus.HELD,
            CallStatus.REJECTED,
            now,
            decided_at=now,
            finished_at=now,
            error=reason,
            is_error=True,
        )
        transition_event(
            session,
            call,
            "rejected",
            before=CallStatus.HELD,
            at=now,
            actor=person.name,
            actor_kind="person",
            reason=reason,
            data=_event_data({}, via=via) or None,
        )
        return call

    return _decide(store, call_id, person, decide)


def cancel(store: Store, call_id: str, *, actor: str, actor_kind: str, reason: str) -> ToolCall:
    """Withdraw a held call (an agent changing its mind, or an admin)."""
    with store.write() as session:
        call = _locked(session, call_id)
        if call.status != CallStatus.HELD:
            raise Conflict(f"call {call_id} is already {call.status}")
        now = store.now()
        compare_and_set(
            session, call, CallStatus.HELD, CallStatus.CANCELLED, now, finished_at=now, error=reason, is_error=True
        )
        transition_event(
            session,
            call,
            "cancelled",
            before=CallStatus.HELD,
            at=now,
            actor=actor,
            actor_kind=actor_kind,
            reason=reason,
        )
    return call


def expire_due(store: Store, *, limit: int = 500) -> list[str]:
    """The periodic sweep: expire held calls past their expiry, each in its own small transaction."""
    now = store.now()
    with store.read() as session:
        due = session.exec(
            select(ToolCall.id)
            .where(ToolCall.status == CallStatus.HELD.value, col(ToolCall.expires_at) <= now)
            .limit(limit)
        ).all()
    return [call_id for call_id in due if expire_if_due(store, call_id)]


def expire_if_due(store: Store, call_id: str) -> bool:
    """Expire a held call past its expiry (checked again under the lock); True when this expired it."""
    with store.write() as session:
        call = session.get(ToolCall, call_id, with_for_update=True)
        if call is None or not overdue(call, store.now()):
            return False
        _expire_in(session, call, store.now())
    return True


def decisions_for(store: Store, call_id: str) -> list[Decision]:
    with store.read() as session:
        return list(session.exec(select(Decision).where(Decision.call_id == call_id).order_by(col(Decision.id))).all())
