"""Retry-safe submission: a retried call never becomes a second held call, nor a second payment.

Three rules, in the order ``AgentDesk.submit`` applies them:

1. **Agent keys** (``_meta`` ``countersign/idempotency_key``, Stripe's semantics): the first call with
   a key records (agent, key) -> call. The same key with the same request gives that call again,
   whatever its state; the same key with a different request is refused with :class:`KeyReused`.
2. **Attach to the held twin.** A call whose submission key (agent, server, tool, canonical proposed
   arguments) matches one of the agent's still-undecided held calls *is* that call: same id, same
   state, no new row. A partial unique index (``uq_tool_call_held_submission``: one held row per
   key) makes this hold under races, on SQLite and PostgreSQL: the loser of an insert race reads the
   winner's row.
3. **Recently approved twin.** An act call identical to one the same agent had approved within the
   policy's ``defaults.duplicate_window`` (default 24 h) is held, whatever the rules say, and its
   verdict names the earlier call (``duplicate_of``), so the packet says "possible duplicate of ...".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from server.canonical import canonical_json, sha256_hex
from server.lifecycle.records import NewCall
from server.lifecycle.states import CallStatus
from server.policy.types import Action, Verdict
from server.store.db import Store
from server.store.models import AgentRequestKey, ToolCall

# The `_meta` key an agent sends its own idempotency key under.
IDEMPOTENCY_META = "countersign/idempotency_key"
MAX_KEY_LENGTH = 200
# Calls that a person approved and that ran (or are running): an identical new one may be a repeat.
APPROVED_AND_ON = (
    CallStatus.APPROVED,
    CallStatus.EXECUTING,
    CallStatus.SUCCEEDED,
    CallStatus.FAILED,
    CallStatus.UNKNOWN_OUTCOME,
)


class KeyReused(ValueError):
    """The agent's idempotency key already named a different request."""

    def __init__(self, key: str, call_id: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for a different call ({call_id}) with other arguments; "
            "use a new key for a new request, or resend the original arguments"
        )
        self.key = key
        self.call_id = call_id


class KeyInFlight(RuntimeError):
    """The agent's key names a call that is still being made (a concurrent request with the same key)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"a call with idempotency key {key!r} is still being made; ask again in a moment")


def submission_key(new: NewCall) -> str:
    """What makes two calls "the same": the agent, the server, the tool and the canonical arguments."""
    return sha256_hex(canonical_json([new.agent, new.server, new.tool, new.arguments]))


def agent_key(meta: object) -> str | None:
    """The agent's idempotency key from a request's ``_meta``, if it sent a usable one.

    Raises:
        ValueError: a key that is not a non-empty string of at most 200 characters.
    """
    if not isinstance(meta, Mapping) or IDEMPOTENCY_META not in meta:
        return None
    key = meta[IDEMPOTENCY_META]
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"_meta {IDEMPOTENCY_META} must be a non-empty string of at most {MAX_KEY_LENGTH} characters")
    return key


def held_twin(store: Store, key: str) -> ToolCall | None:
    """The still-undecided held call with this submission key, if any."""
    with store.read() as session:
        return session.exec(
            select(ToolCall).where(ToolCall.submission_key == key, ToolCall.status == CallStatus.HELD.value)
        ).first()


def approved_twin(store: Store, key: str, *, window_seconds: int) -> ToolCall | None:
    """The newest call with this submission key that a person approved within the window, if any."""
    since: datetime = store.now() - timedelta(seconds=window_seconds)
    with store.read() as session:
        return session.exec(
            select(ToolCall)
            .where(
                ToolCall.submission_key == key,
                col(ToolCall.status).in_([s.value for s in APPROVED_AND_ON]),
                col(ToolCall.decided_at) >= since,
            )
            .order_by(col(ToolCall.decided_at).desc())
        ).first()


def as_duplicate(verdict: Verdict, twin: ToolCall, review_url: str) -> Verdict:
    """The verdict of a repeat of ``twin``: held, whatever the rules said, and naming the earlier call."""
    when = twin.decided_at.isoformat() if twin.decided_at is not None else "recently"
    reason = f"possible duplicate of {twin.id} (approved {when}, now {twin.status}): {review_url}"
    update: dict[str, Any] = {
        "action": Action.HOLD,
        "duplicate_of": twin.id,
        "reasons": (reason, *verdict.reasons),
    }
    if verdict.action == Action.BLOCK:  # the strictest action wins; a duplicate never loosens a block
        update.pop("action")
    return verdict.model_copy(update=update)


def keyed_call_id(store: Store, agent: str, key: str, fingerprint: str) -> str | None:
    """The call an earlier request with this key made, if any.

    Raises:
        KeyReused: the key was used for a request with a different fingerprint.
    """
    with store.read() as session:
        row = session.get(AgentRequestKey, (agent, key))
    if row is None:
        return None
    if row.submission_key != fingerprint:
        raise KeyReused(key, row.call_id)
    return row.call_id


def remember_key(store: Store, agent: str, key: str, fingerprint: str, call_id: str) -> str:
    """Record that ``key`` named ``call_id``; the call id the key names once this returns.

    A concurrent request that recorded the key first wins: its call id is returned (or KeyReused raised).
    """
    try:
        with store.write() as session:
            session.add(
                AgentRequestKey(
                    agent=agent, key=key, call_id=call_id, submission_key=fingerprint, created_at=store.now()
                )
            )
    except sa.exc.IntegrityError:
        existing = keyed_call_id(store, agent, key, fingerprint)
        if existing is None:  # pragma: no cover - the row that refused ours cannot vanish
            raise
        return existing
    return call_id


def forget_key(store: Store, agent: str, key: str) -> None:
    """Drop a key whose call could not be made, so a retry with it is not refused forever."""
    with store.write() as session:
        row = session.get(AgentRequestKey, (agent, key))
        if row is not None:
            session.delete(row)


def repoint_key(store: Store, agent: str, key: str, call_id: str) -> None:
    """The key names ``call_id`` (the held call its request attached to) instead of the id it reserved."""
    with store.write() as session:
        session.execute(
            sa.update(AgentRequestKey)
            .where(col(AgentRequestKey.agent) == agent, col(AgentRequestKey.key) == key)
            .values(call_id=call_id)
        )


# A key whose call never appeared this long after it was recorded belongs to a request that died.
ABANDONED_AFTER = timedelta(minutes=2)


def forget_abandoned_key(store: Store, agent: str, key: str) -> bool:
    """Drop the key if its request died before making its call (e.g. the database went away); True if dropped."""
    with store.write() as session:
        row = session.get(AgentRequestKey, (agent, key))
        if row is None or row.created_at > store.now() - ABANDONED_AFTER:
            return False
        if session.get(ToolCall, row.call_id) is not None:
            return False
        session.delete(row)
    return True
