"""Execute once: an approved call runs exactly once, with exactly the approved arguments.

1. **Claim**: compare-and-set APPROVED -> EXECUTING with a fresh claim token and a lease, committed
   before the tool is touched. Only one executor in any process can win.
2. **Run** the tool with the stored arguments (whose hash must still match) and the idempotency key
   derived from the call id.
3. **Finish**: EXECUTING -> SUCCEEDED | FAILED, only by the holder of the claim token.

While the kill switch is on (server/overrides.py), act tools are never claimed by any path (the
approving request, the sweep of approved calls nobody ran, crash recovery): such a call stays
APPROVED, the packet says why, and the sweep runs it once the switch is turned off.

A crash between 1 and 3 leaves the call EXECUTING with a lease that runs out (short, renewed by a
heartbeat while the tool runs; see lease.py), or that its own instance reclaims on restart.
:func:`recover` then re-runs tools that declared idempotency (same key, so the tool acts at most
once) and marks the others UNKNOWN_OUTCOME for a person: we cannot know whether they acted, so we
never guess. A keyed tool that hits a transient database error is retried at once, with the same
key, a bounded number of times with backoff; any other tool that hits one becomes UNKNOWN_OUTCOME.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from server.canonical import arguments_hash
from server.lifecycle.decisions import compare_and_set, transition_event
from server.lifecycle.errors import AfterCommit, Conflict
from server.lifecycle.failures import is_transient, public_text
from server.lifecycle.lease import HELD, Heartbeat, Leases
from server.lifecycle.states import CallStatus
from server.observability import hooks
from server.policy.types import Action
from server.store.db import Store, StoreUnavailable
from server.store.models import ToolCall

logger = logging.getLogger(__name__)

TOOL_RETRIES = 3  # a keyed tool's extra attempts after a transient database error
FINISH_RETRIES = 5  # attempts at recording an outcome before the call is left to recovery
BACKOFF_SECONDS = 0.2  # doubled after each attempt
UNKNOWN_AFTER_DB_ERROR = (
    "the tool's database connection failed while it ran and this tool cannot be safely retried; check whether it acted"
)


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
        leases: Leases | None = None,
        stopped: Stopped = _never_stopped,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        self.store = store
        self.run_tool = run
        self.is_idempotent = is_idempotent
        self.leases = leases or Leases()
        self.heartbeat = Heartbeat(store, self.leases)
        self.stopped = stopped
        self.backoff = backoff

    @property
    def lease(self) -> timedelta:
        return self.leases.lease

    def hold(self, call_id: str, token: str) -> None:
        """Mark a claim as this process's before it commits, so nothing reclaims it while it runs."""
        self.heartbeat.hold(call_id, token)

    def claim(self, call_id: str) -> Claim | None:
        """Take the call for execution, or None when it is not APPROVED (someone else has it)."""
        token = self.leases.new_token()
        self.hold(call_id, token)
        try:
            return self._claim(call_id, token)
        except BaseException:
            self.heartbeat.release(token)
            raise

    def _claim(self, call_id: str, token: str) -> Claim | None:
        claim = self._try_claim(call_id, token)
        if claim is None:
            self.heartbeat.release(token)
        return claim

    def _try_claim(self, call_id: str, token: str) -> Claim | None:
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
        """Run a claimed call and record how it ended (the claim is released either way).

        Raises AfterCommit when the outcome could not be recorded: the call stays EXECUTING for recovery.
        """
        try:
            try:
                outcome = self._call_tool(claim)
            except ToolRefused as exc:
                return self._finish_or_report(claim, status=CallStatus.FAILED, error=str(exc))
            except Exception as exc:  # any tool crash is recorded; nothing retries it blindly
                logger.exception("tool %s failed for call %s", claim.tool, claim.call_id)
                if is_transient(exc):  # it may have acted before the connection dropped: a person checks
                    return self._finish_or_report(
                        claim, status=CallStatus.UNKNOWN_OUTCOME, error=UNKNOWN_AFTER_DB_ERROR
                    )
                return self._finish_or_report(claim, status=CallStatus.FAILED, error=public_text(exc))
            return self._finish_or_report(
                claim, status=CallStatus.SUCCEEDED, result=outcome.result, is_error=outcome.is_error
            )
        finally:
            self.heartbeat.release(claim.token)

    def _call_tool(self, claim: Claim) -> ToolOutcome:
        """Run the tool; a keyed tool is retried with the same key after a transient database error."""
        attempt = 0
        while True:
            try:
                return self.run_tool(claim.tool, claim.arguments, claim.idempotency_key)
            except Exception as exc:
                if claim.idempotency_key is None or not is_transient(exc) or attempt >= TOOL_RETRIES:
                    raise
                logger.warning(
                    "tool %s hit a transient database error for call %s; retrying with the same key",
                    claim.tool,
                    claim.call_id,
                    exc_info=True,
                )
                time.sleep(self.backoff * 2**attempt)
                attempt += 1

    def _finish_or_report(
        self, claim: Claim, *, status: CallStatus, result: Any = None, is_error: bool = False, error: str | None = None
    ) -> ToolCall:
        """Record the outcome, retrying while the database is unavailable; then say what is committed."""
        for attempt in range(FINISH_RETRIES):
            try:
                return self.finish(claim, status=status, result=result, is_error=is_error, error=error)
            except StoreUnavailable:
                logger.warning(
                    "could not record the outcome of call %s (attempt %d)", claim.call_id, attempt + 1, exc_info=True
                )
                if attempt + 1 < FINISH_RETRIES:
                    time.sleep(self.backoff * 2**attempt)
        raise AfterCommit(
            f"call {claim.call_id} ran, but the database failed before its outcome could be recorded; it stays "
            "'executing' until recovery settles it (a keyed tool is retried with the same key, any other is marked "
            "unknown_outcome for a person to check).",
            call_id=claim.call_id,
            committed=CallStatus.EXECUTING.value,
        )

    def execute(self, call_id: str) -> ToolCall | None:
        """Claim and run; None when the call was not ours to run."""
        claim = self.claim(call_id)
        return self.run(claim) if claim is not None else None

    def finish(
        self, claim: Claim, *, status: CallStatus, result: Any = None, is_error: bool = False, error: str | None = None
    ) -> ToolCall:
        with self.store.write() as session:
            call = session.get(ToolCall, claim.call_id, with_for_update=True)
            if call is not None and call.claim_token == claim.token and CallStatus(call.status).is_terminal:
                return call  # our earlier attempt committed, and only its answer was lost
            if call is None or call.status != CallStatus.EXECUTING or call.claim_token != claim.token:
                raise Conflict(f"call {claim.call_id} was taken over while it ran")
            now = self.store.now()
            event_type = {
                CallStatus.SUCCEEDED: "executed",
                CallStatus.UNKNOWN_OUTCOME: "unknown_outcome",
            }.get(status, "execution_failed")
            if call.action == Action.ALLOW.value and status in (CallStatus.SUCCEEDED, CallStatus.FAILED):
                # An allowed act call ends ALLOWED, as it would have had it been journaled (durable.py).
                failed = status == CallStatus.FAILED
                status, event_type = CallStatus.ALLOWED, "allowed_ran"
                result, is_error = ({"error": error}, True) if failed else (result, is_error)
            compare_and_set(
                session,
                call,
                CallStatus.EXECUTING,
                status,
                now,
                result=result,
                is_error=is_error or status not in (CallStatus.SUCCEEDED, CallStatus.ALLOWED),
                error=error,
                finished_at=now,
                lease_until=None,
            )
            transition_event(session, call, event_type, before=CallStatus.EXECUTING, at=now, reason=error)
            return call

    def recover(self) -> list[ToolCall]:
        """Resolve calls whose executor died: retry idempotent tools, mark the rest UNKNOWN_OUTCOME."""
        now = self.store.now()
        own = col(ToolCall.claim_token).like(f"%.{self.leases.tag}")
        with self.store.read() as session:
            stale = session.exec(
                select(ToolCall.id).where(
                    ToolCall.status == CallStatus.EXECUTING.value,
                    sa.or_(col(ToolCall.lease_until) < now - self.leases.grace, own),
                )
            ).all()
        resolved: list[ToolCall] = []
        for call_id in stale:
            claim = self._reclaim(call_id)
            if claim is not None:
                try:
                    resolved.append(self.run(claim))
                except AfterCommit:  # still EXECUTING: the next sweep tries again
                    logger.warning("recovered call %s ran but its outcome could not be recorded", call_id)
            else:  # not retryable: a person must check (marking it runs nothing)
                call = self._mark_unknown(call_id)
                if call is not None:
                    resolved.append(call)
        return resolved

    def _reclaim(self, call_id: str) -> Claim | None:
        with self.store.write() as session:
            call = session.get(ToolCall, call_id, with_for_update=True)
            now = self.store.now()
            if not self._stale(call, now) or call is None or not self.is_idempotent(call.tool):
                return None
            if self.stopped(call.tool) is not None:  # retried once the kill switch is off
                return None
            token = self.leases.new_token()
            self.hold(call_id, token)
            result = session.execute(
                sa.update(ToolCall)
                .where(col(ToolCall.id) == call_id, col(ToolCall.claim_token) == call.claim_token)
                .values(claim_token=token, lease_until=now + self.lease, attempts=call.attempts + 1, updated_at=now)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                self.heartbeat.release(token)
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
            if call is None or not self._stale(call, now) or self.is_idempotent(call.tool):
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

    def _stale(self, call: ToolCall | None, now: Any) -> bool:
        """Its executor is gone: the lease ran out (plus grace), or it is this instance's and no thread holds it."""
        if call is None or call.status != CallStatus.EXECUTING:
            return False
        token = call.claim_token or ""
        if token.endswith(f".{self.leases.tag}") and token not in HELD.tokens():
            return True  # a predecessor of this instance took it and died: reclaimed at once
        return call.lease_until is not None and call.lease_until < now - self.leases.grace


def _attempt(call: ToolCall) -> dict[str, Any]:
    return {"attempt": call.attempts}
