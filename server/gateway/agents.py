"""The agent-facing side of the gateway: submit a call, read it, wait for it, list one's own calls.

    submit --classify--> allow -> record, run at once, store the outcome
                     --> block -> record, refuse
                     --> hold  -> record (committed before anyone hears "pending"), wait for people

Calls to a tool nobody knows and calls whose arguments do not fit are refused and recorded too.
Agent credentials reach nothing else: deciding is the review service's (server/review/), upkeep
and overrides the admin side's (server/gateway/admin.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from server.catalog import ExternalTools, build_facts
from server.lifecycle import decisions, duplicates, durable, records
from server.lifecycle.execution import Executor, ToolOutcome, ToolRefused
from server.lifecycle.failures import public_text
from server.lifecycle.journal import Journal
from server.lifecycle.records import NewCall
from server.lifecycle.states import CallStatus
from server.lifecycle.waiting import ChangeBus, wait_for_outcome
from server.observability import hooks, tracing
from server.overrides import Overrides
from server.policy import PolicyHolder, classify
from server.policy.model import Defaults
from server.policy.types import Action, Justification, Risk, Verdict
from server.store.db import Store, StoreUnavailable
from server.store.models import ApiToken, ToolCall, listing_only
from tools.contract import ToolInputError, ToolRegistry

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """What happened to a submitted call: held and blocked calls come with their stored row, allowed
    ones with the values of theirs (``ran``), which the journal is writing; ``call`` has it either way."""

    verdict: Verdict
    row: ToolCall | None = None
    ran: Mapping[str, Any] | None = None
    # True when the call was an identical retry that attached to an existing call (no new row).
    attached: bool = False

    @cached_property
    def call(self) -> ToolCall:
        """The call as an ORM row (status says which path it took). Allowed calls pay for it only if asked."""
        if self.row is not None:
            return self.row
        assert self.ran is not None
        return ToolCall(**self.ran)


class AgentDesk:
    """What an agent may do. Methods block (database I/O); async callers run them in a worker thread."""

    def __init__(
        self,
        *,
        store: Store,
        policies: PolicyHolder,
        registry: ToolRegistry,
        overrides: Overrides,
        executor: Executor,
        journal: Journal,
        bus: ChangeBus,
        external: ExternalTools | None = None,
        base_url: str = "http://127.0.0.1:8765",
    ) -> None:
        self.store = store
        # Where reviewers open a call (the duplicate note links the earlier call).
        self.base_url = base_url
        self.policies = policies
        self.registry = registry
        self.overrides = overrides
        self.executor = executor
        self.journal = journal
        self.bus = bus
        # Tools from upstream MCP servers: consulted only for names the registry does not have.
        self.external = external

    def external_for(self, tool: str) -> ExternalTools | None:
        """The external catalogue when it owns ``tool`` (and the registry does not)."""
        if self.external is not None and tool not in self.registry and self.external.owns(tool):
            return self.external
        return None

    def classify(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        agent: str,
        justification: Justification | None = None,
        server: str = NewCall.server,
        on_behalf_of: str | None = None,
    ) -> Verdict:
        """The verdict the next call would get, with the admins' overrides as of now (read every call)."""
        external = self.external_for(tool)
        if external is not None:
            refusal = external.refusal(tool)
            if refusal is not None:  # fail closed: a changed upstream definition blocks until accepted
                return Verdict(action=Action.BLOCK, risk=Risk.HIGH, category="definition-changed", reasons=(refusal,))
            facts = external.facts(tool, arguments, agent=agent, justification=justification, on_behalf_of=on_behalf_of)
        else:
            spec = self.registry.get(tool)
            facts = build_facts(
                spec,
                tool,
                arguments,
                agent=agent,
                server=server,
                justification=justification,
                on_behalf_of=on_behalf_of,
            )
        with tracing.step("classify", **{"gen_ai.tool.name": tool}):
            return classify(self.policies.current(), facts, self.overrides.for_tool(tool))

    def submit(self, new: NewCall) -> Submission:
        """Classify and record a call; run it now if allowed. Raises StoreUnavailable (fail closed).

        Retries are safe (server/lifecycle/duplicates.py): a call identical to a held one attaches to it,
        and an agent's idempotency key gives the same call again. Raises duplicates.KeyReused when the
        key named a different request, duplicates.KeyInFlight while its first request is still running.
        """
        if new.agent_key is None:
            return self._submit(new)
        fingerprint = duplicates.submission_key(new)
        known = duplicates.keyed_call_id(self.store, new.agent, new.agent_key, fingerprint)
        if known is None:
            reserved = records.new_call_id()
            known = duplicates.remember_key(self.store, new.agent, new.agent_key, fingerprint, reserved)
            if known == reserved:
                try:
                    submission = self._submit(replace(new, call_id=reserved))
                except BaseException:
                    duplicates.forget_key(self.store, new.agent, new.agent_key)
                    raise
                if submission.call.id != reserved:  # attached to a held twin: the key names that call
                    duplicates.repoint_key(self.store, new.agent, new.agent_key, submission.call.id)
                return submission
        call = self.get_call(known)
        if call is None:
            if duplicates.forget_abandoned_key(self.store, new.agent, new.agent_key):
                return self.submit(new)  # its first request died before making a call: start again
            raise duplicates.KeyInFlight(new.agent_key)
        return Submission(_stored_verdict(call), row=call, attached=True)

    def _submit(self, new: NewCall) -> Submission:
        spec = self.registry.get(new.tool)
        if spec is not None and not new.summary:
            new = replace(new, summary=spec.summarize(new.arguments))
        elif (external := self.external_for(new.tool)) is not None:
            new = replace(
                new,
                server=external.server_of(new.tool),
                summary=new.summary or external.summarize(new.tool, new.arguments),
            )
        verdict = self.classify(
            new.tool,
            new.arguments,
            agent=new.agent,
            justification=new.justification,
            server=new.server,
            on_behalf_of=new.on_behalf_of,
        )
        hooks.classified(new.tool, verdict.action, known=spec is not None or self.external_for(new.tool) is not None)
        key: str | None = None
        if verdict.action == Action.HOLD or (verdict.action == Action.ALLOW and self.acts(new.tool)):
            key = duplicates.submission_key(new)
            twin = duplicates.held_twin(self.store, key) if verdict.action == Action.HOLD else None
            if twin is not None:  # a retry of an undecided held call is that call
                return Submission(_stored_verdict(twin), row=twin, attached=True)
            policy = self.policies.current()
            window = (policy.defaults if policy is not None else Defaults()).duplicate_window
            approved = duplicates.approved_twin(self.store, key, window_seconds=window)
            if approved is not None:
                verdict = duplicates.as_duplicate(verdict, approved, self._review_url(approved.id))
        if verdict.action == Action.ALLOW:
            with tracing.step("execute", **{"gen_ai.tool.name": new.tool}):
                ran = self._run_allowed(new, verdict)
            hooks.ran_allowed(ran)
            self.bus.publish(ran["id"], ran["status"], forward=False)  # answered inline: no other instance waits
            return Submission(verdict, ran=ran)
        # Only calls people may decide learn whom the agent works for: the allowed path stays one query short.
        new = replace(new, bound_person=self.bound_person(new.agent))
        if verdict.action == Action.BLOCK:
            call = records.insert(
                self.store, new, verdict, CallStatus.BLOCKED, event_type="blocked", error=verdict.reason
            )
        else:
            try:
                call = records.insert(self.store, new, verdict, CallStatus.HELD, event_type="held", submission_key=key)
            except IntegrityError:
                # An identical call was held between our look and our insert: attach to it (the index's job).
                twin = duplicates.held_twin(self.store, key) if key is not None else None
                if twin is None:
                    raise
                return Submission(_stored_verdict(twin), row=twin, attached=True)
        tracing.call_identified(call.id, held=call.status == CallStatus.HELD)
        self.bus.publish(call.id, call.status)
        return Submission(verdict, row=call)

    def acts(self, tool: str) -> bool:
        """Whether the tool changes the world (an act tool, or an upstream tool whose results are kept)."""
        spec = self.registry.get(tool)
        external = self.external_for(tool) if spec is None else None
        return external.keeps_result(tool) if external is not None else spec is not None and spec.category == "act"

    def _review_url(self, call_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/calls/{call_id}"

    def bound_person(self, agent: str) -> str | None:
        """The person an admin bound this agent's live token to (`agent add --for`), if any."""
        with self.store.read() as session:
            return session.exec(
                select(ApiToken.person)
                .where(
                    ApiToken.principal_kind == "agent",
                    ApiToken.principal == agent,
                    ApiToken.revoked == False,  # noqa: E712
                    col(ApiToken.person).is_not(None),
                )
                .order_by(col(ApiToken.id).desc())
            ).first()

    def record_invalid(self, new: NewCall, error: str) -> ToolCall:
        """Arguments that do not fit the tool's schema are refused and recorded, never run."""
        verdict = Verdict(action=Action.BLOCK, risk=Risk.LOW, category=records.INVALID_ARGUMENTS, reasons=(error,))
        return records.insert(self.store, new, verdict, CallStatus.BLOCKED, event_type="invalid_arguments", error=error)

    def record_unknown(self, new: NewCall, error: str) -> ToolCall:
        """A call to a tool nobody knows is refused and recorded (audited), never classified or run."""
        verdict = Verdict(action=Action.BLOCK, risk=Risk.LOW, category=records.UNKNOWN_TOOL, reasons=(error,))
        return records.insert(self.store, new, verdict, CallStatus.BLOCKED, event_type="unknown_tool", error=error)

    def _run_allowed(self, new: NewCall, verdict: Verdict) -> dict[str, Any]:
        """Run at once. An act call is committed before it runs (lifecycle/durable.py); reading and
        preparing calls go to the group-commit journal (lifecycle/journal.py)."""
        if self.acts(new.tool):
            return durable.run_recorded(
                self.store, self.executor, records.new_row(new, verdict, CallStatus.ALLOWED, self.store), new.arguments
            )
        if not self.journal.healthy:
            raise StoreUnavailable("the audit trail cannot be written; no call runs until it recovers")
        row = records.new_row(new, verdict, CallStatus.ALLOWED, self.store)
        key = row["idempotency_key"] if self.executor.is_idempotent(new.tool) else None
        try:
            outcome = self.executor.run_tool(new.tool, new.arguments, key)
        except Exception as exc:  # any tool crash becomes a recorded, readable tool error
            logger.exception("allowed call %s of %s failed", row["id"], new.tool, extra={"call_id": row["id"]})
            outcome = ToolOutcome({"error": _error_text(exc)}, is_error=True)
        result = outcome.result
        row["result"] = result
        row["is_error"] = outcome.is_error
        row["error"] = result.get("error") if outcome.is_error and isinstance(result, dict) else None
        row["finished_at"] = self.store.now()
        # What reading and preparing tools return can be had again by asking again.
        self.journal.append(row, keep_result=False)
        return row

    def get_call(self, call_id: str) -> ToolCall | None:
        """The call as it stands; a held call past its expiry is expired first (checked on read)."""
        call = self._load(call_id)
        if call is None and self.journal.flush():  # only an allowed call can still be on its way to the table
            call = self._load(call_id)
        if (
            call is not None
            and decisions.overdue(call, self.store.now())
            and decisions.expire_if_due(self.store, call_id)
        ):
            self.bus.publish(call_id, CallStatus.EXPIRED)
            call = self._load(call_id)
        return call

    def _load(self, call_id: str) -> ToolCall | None:
        with self.store.read() as session:
            return session.get(ToolCall, call_id)

    async def wait(
        self,
        call_id: str,
        *,
        timeout: float,
        on_tick: Callable[[float], Awaitable[None]] | None = None,
        tick_every: float = 5.0,
    ) -> ToolCall | None:
        """Wait (across processes) until the call has an outcome for the agent, or the timeout passes."""
        return await wait_for_outcome(
            self.bus, call_id, load=self.get_call, timeout=timeout, on_tick=on_tick, tick_every=tick_every
        )

    def list_calls(
        self,
        *,
        statuses: Sequence[str] | None = None,
        queue: str | None = None,
        agent: str | None = None,
        tool: str | None = None,
        limit: int = 200,
        queues: Collection[str] | None = None,
    ) -> list[ToolCall]:
        """Newest first. ``queues`` restricts to those queues (a reviewer's), in the query, before the limit.

        A listing: the rows come without their bulky columns (see ``listing_only``); read one call for those.
        """
        query = select(ToolCall)
        if queues is not None:
            query = query.where(col(ToolCall.queue).in_(sorted(queues)))
        if statuses:
            query = query.where(col(ToolCall.status).in_(list(statuses)))
        if queue:
            query = query.where(ToolCall.queue == queue)
        if agent:
            query = query.where(ToolCall.agent == agent)
        if tool:
            query = query.where(ToolCall.tool == tool)
        # Served by ix_tool_call_created_id (the id makes the order total).
        query = query.order_by(col(ToolCall.created_at).desc(), col(ToolCall.id).desc()).limit(limit)
        query = query.options(*listing_only())
        if not statuses or CallStatus.ALLOWED in statuses:  # allowed calls are the only ones the journal writes
            self.journal.flush()
        with self.store.read() as session:
            return list(session.exec(query).all())


def _stored_verdict(call: ToolCall) -> Verdict:
    """The verdict a stored call got (for a retry that attached to it)."""
    return Verdict.model_validate(call.verdict) if call.verdict else Verdict(action=call.action, risk=call.risk)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, ToolInputError):
        return exc.message
    if isinstance(exc, ToolRefused):
        return str(exc)
    return public_text(exc)  # never SQL or parameters: those go to the log
