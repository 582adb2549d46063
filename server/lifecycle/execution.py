"""Execute once: an approved call runs exactly once, with exactly the approved arguments.

1. **Claim**: compare-and-set APPROVED -> EXECUTING with a fresh claim token and a lease, committed
   before the tool is touched. Only one executor in any process can win.
2. **Run** the tool with the stored arguments (whose hash must still match) and the idempotency key
   derived from the call id.
3. **Finish**: EXECUTING -> SUCCEEDED | FAILED, only by the holder of the claim token.

While the kill switch is on (server/overrides.py), act tools are never claimed by any path (the
approving request, the sweep of approved calls nobody ran, crash recovery): such a call stays
APPROVED, the packet says why, and the sweep runs it once the switch is turned off.

A crash between 1 and 3 leaves the call EXECUTING with a lease that runs out. :func:`recover` then
re-runs tools that declared idempotency (same key, so the tool acts at most once) and marks the
others UNKNOWN_OUTCOME for a person: we cannot know whether they acted, so we never guess.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from server.canonical import arguments_hash
from server.lifecycle.decisions import compare_and_set, transition_event
from server.lifecycle.errors import Conflict
from server.lifecycle.states import CallStatus
from server.observability import hooks
from server.store.db import Store
from server.store.models import ToolCall

logger = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool run produced. ``is_error`` marks a tool-level error result (not a crash)."""

    result: Any
    is_error: bool = False


class ToolRefused(Exception):
    """The tool refused to run (bad input, unknown tool). Nothing happened; the call FAILED."""


# Runs one tool: (tool name, arguments, idempotency key or None) -> outcome. Raises on failure.
ToolRunner = Callable[[str, dict[str, Any], str | None], ToolOutcome]
# Whether a tool accepts an idempotency key (so it may be retried safely after a crash).
IsIdempotent = Callable[[str], bool]
# Why a tool may not run now (the kill switch), or None when it may.
Stopped = Callable[[str], str | None]


def _never_stopped(_tool: str) -> str | None:
    return None


@dataclass(frozen=True)
class Claim:
    call_id: str
    token: str
    tool: str
    arguments: dict[str, Any]
    idempotency_key: str | None
    attempt: int


class Executor:
    """Claims, runs and finishes approved calls. One per process; safe to share between threads."""

    def __init__(
        self,
        store: Store,
        run: ToolRunner,
        is_idempotent: IsIdempotent,
        *,
        lease: timedelta = DEFAULT_LEASE,
        stopped: Stopped = _never_stopped,
    ) -> None:
        self.store = store
        self.run_tool = run
        self.is_idempotent = is_idempotent
        self.lease = lease
        self.stopped = stopped

    def claim(self, call_id: str) -> Claim | None:
        """Take the call for execution, or None when it is not APPROVED (someone else has it)."""
        token = uuid.uuid4().hex
        try:
            with self.store.write() as session:
                call = session.get(ToolCall, call_id, with_for_update=True)
                if call is None or call.status != CallStatus.APPROVED or self.stopped(call.tool) is not None:
                    return None
                now = self.store.now()
                compare_and_set(
                    session,
                    call,
                    CallStatus.APPROVED,
                    CallStatus.EXECUTING,
                    now,
                    claim_token=token,
                    lease_until=now + self.lease,
                    attempts=call.attempts + 1,
                )
                transition_event(
                    session, call, "execution_started", before=CallStatus.APPROVED, at=now, data=_attempt(call)
                )
                return self._claim_of(call, token)
        except Conflict:
            return None

    def _claim_of(self, call: ToolCall, token: str) -> Claim:
        arguments = json.loads(call.arguments)
        if arguments_hash(arguments) != call.args_hash:
            # Hash-bound: arguments that are not exactly the approved ones never run.
            raise RuntimeError(f"call {call.id}: stored arguments do not match the approved hash")
        key = call.idempotency_key if self.is_idempotent(call.tool) else None
        return Claim(call.id, token, call.tool, arguments, key, call.attempts)

    @hooks.executes
    def run(self, claim: Claim) -> ToolCall:
        """Run a claimed call and record how it ended."""
        try:
            outcome = self.run_tool(claim.tool, claim.arguments, claim.idempotency_key)
        except ToolRefused as exc:
            return self.finish(claim, status=CallStatus.FAILED, error=str(exc))
        except Exception as exc:  # any tool crash is recorded as FAILED; nothing retries it blindly
            logger.exception("tool %s failed for call %s", claim.tool, claim.call_id)
            return self.finish(claim, status=CallStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
        return self.finish(claim, status=CallStatus.SUCCEEDED, result=outcome.result, is_error=outcome.is_error)

    def execute(self, call_id: str) -> ToolCall | None:
        """Claim and run; None when the call was not ours to run."""
        claim = self.claim(call_id)
        return self.run(claim) if claim is not None else None

    def finish(
        self, claim: Claim, *, status: CallStatus, result: Any = None, is_error: bool = False, error: str | None = None
    ) -> ToolCall:
        with self.store.write() as session:
            call = session.get(ToolCall, claim.call_id, with_for_update=True)
            if call is None or call.status != CallStatus.EXECUTING or call.claim_token != claim.token:
                raise Conflict(f"call {claim.call_id} was taken over while it ran")
            now = self.store.now()
            compare_and_set(
                session,
                call,
                CallStatus.EXECUTING,
                status,
                now,
                result=result,
                is_error=is_error or status != CallStatus.SUCCEEDED,
                error=error,
                finished_at=now,
                lease_until=None,
            )
            event_type = "executed" if status == CallStatus.SUCCEEDED else "execution_failed"
            transition_event(session, call, event_type, before=CallStatus.EXECUTING, at=now, reason=error)
            return call

    def recover(self) -> list[ToolCall]:
        """Resolve calls whose executor died: retry idempotent tools, mark the rest UNKNOWN_OUTCOME."""
        now = self.store.now()
        with self.store.read() as session:
            stale = session.exec(
                select(ToolCall.id).where(
                    ToolCall.status == CallStatus.EXECUTING.value, col(ToolCall.lease_until) < now
                )
            ).all()
        resolved: list[ToolCall] = []
        for call_id in stale:
            claim = self._reclaim(call_id)
            if claim is not None:
                resolved.append(self.run(claim))
            else:  # not retryable: a person must check (marking it runs nothing)
                call = self._mark_unknown(call_id)
                if call is not None:
                    resolved.append(call)
        return resolved

    def _reclaim(self, call_id: str) -> Claim | None:
        with self.store.write() as session:
            call = session.get(ToolCall, call_id, with_for_update=True)
            now = self.store.now()
            if not _stale(call, now) or call is None or not self.is_idempotent(call.tool):
                return None
            if self.stopped(call.tool) is not None:  # retried once the kill switch is off
                return None
            token = uuid.uuid4().hex
            result = session.execute(
                sa.update(ToolCall)
                .where(col(ToolCall.id) == call_id, col(ToolCall.claim_token) == call.claim_token)
                .values(claim_token=token, lease_until=now + self.lease, attempts=call.attempts + 1, updated_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return None
            call.claim_token, call.attempts = token, call.attempts + 1
            transition_event(
                session,
                call,
                "execution_retried",
                before=CallStatus.EXECUTING,
                at=now,
                reason="the executor stopped mid-call; retrying with the same idempotency key",
                data=_attempt(call),
            )
            return self._claim_of(call, token)

    @hooks.marks_unknown
    def _mark_unknown(self, call_id: str) -> ToolCall | None:
        with self.store.write() as session:
            call = session.get(ToolCall, call_id, with_for_update=True)
            now = self.store.now()
            if call is None or not _stale(call, now) or self.is_idempotent(call.tool):
                return None
            reason = "the executor stopped mid-call and this tool cannot be safely retried; check whether it acted"
            compare_and_set(
                session,
                call,
                CallStatus.EXECUTING,
                CallStatus.UNKNOWN_OUTCOME,
                now,
                error=reason,
                is_error=True,
                finished_at=now,
                lease_until=None,
            )
            transition_event(session, call, "unknown_outcome", before=CallStatus.EXECUTING, at=now, reason=reason)
            return call

    def pending_approved(self, *, limit: int = 100) -> list[str]:
        """Approved calls nobody has claimed (the approving process died before running them)."""
        with self.store.read() as session:
            return list(
                session.exec(select(ToolCall.id).where(ToolCall.status == CallStatus.APPROVED.value).limit(limit)).all()
            )


def _stale(call: ToolCall | None, now: Any) -> bool:
    return (
        call is not None
        and call.status == CallStatus.EXECUTING
        and call.lease_until is not None
        and call.lease_until < now
    )


def _attempt(call: ToolCall) -> dict[str, Any]:
    return {"attempt": call.attempts}
