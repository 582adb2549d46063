"""The gateway: the composition of the three sides the surfaces talk to, each its own class.

- :class:`~server.gateway.agents.AgentDesk` (``gateway.agents``): what an agent may do: submit a
  call, read it, wait for it, list its own calls.
- :class:`~server.review.ReviewService` (``gateway.review``): what a person may do: decide held
  calls, with every rule in one place, for every surface (page, JSON API, CLI, Slack).
- :class:`~server.gateway.admin.AdminDesk` (``gateway.admin``): tool overrides and the kill switch,
  audit notes, the sweep.

::

    submit --classify--> allow -> record, run at once, store the outcome
                     --> block -> record, refuse
                     --> hold  -> record (committed before anyone hears "pending"), wait for people
    approve/reject --> review service --> decision (compare-and-set) --> on quorum: execute once

The delegating methods below keep in-process callers (the MCP surface, tests) short. Methods block
and do I/O; async callers run them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

from server.catalog import ExternalTools
from server.gateway.admin import AdminDesk
from server.gateway.agents import AgentDesk, Submission
from server.lifecycle.actors import Person
from server.lifecycle.decisions import DecisionOutcome
from server.lifecycle.execution import Executor, ToolRunner
from server.lifecycle.journal import BatchWriter, Journal
from server.lifecycle.lease import Leases
from server.lifecycle.records import NewCall
from server.lifecycle.waiting import ChangeBus
from server.overrides import Overrides
from server.policy import PolicyHolder
from server.policy.types import Justification, Verdict
from server.review import Approval, Channel, ReviewService, Via
from server.store.db import Store
from server.store.models import ToolCall
from tools.contract import ToolRegistry

__all__ = ["Gateway", "Submission"]

# Decisions made in this process without a surface in between (the CLI, tests).
IN_PROCESS = Via(Channel.CLI)


class Gateway:
    def __init__(
        self,
        *,
        store: Store,
        policies: PolicyHolder,
        registry: ToolRegistry,
        runner: ToolRunner,
        bus: ChangeBus | None = None,
        journal_writer: BatchWriter | None = None,
        office: Any = None,
        external: ExternalTools | None = None,
        base_url: str = "http://127.0.0.1:8765",
        leases: Leases | None = None,
    ) -> None:
        self.store = store
        self.policies = policies
        self.registry = registry
        self.bus = bus or ChangeBus()
        # Tools from upstream MCP servers (server/upstream/): consulted only for names the registry lacks.
        self.external = external
        self.overrides = Overrides(store, registry, external_act=self._external_act)
        self.executor = Executor(store, runner, self._is_idempotent, stopped=self.overrides.stops, leases=leases)
        self.journal = Journal(store, writer=journal_writer)  # None: written by a thread of this process
        self.agents = AgentDesk(
            store=store,
            policies=policies,
            registry=registry,
            overrides=self.overrides,
            executor=self.executor,
            journal=self.journal,
            bus=self.bus,
            external=external,
            base_url=base_url,
        )
        self.review = ReviewService(
            store=store,
            registry=registry,
            overrides=self.overrides,
            executor=self.executor,
            bus=self.bus,
            classify=self.agents.classify,
            load=self.agents.get_call,
            office=office,
            external=self.agents.external_for,
        )
        self.admin = AdminDesk(store=store, overrides=self.overrides, executor=self.executor, bus=self.bus)

    def close(self) -> None:
        """Write out every queued record. Call before the process exits."""
        self.journal.close()

    def _external_act(self, tool: str) -> bool:
        """An upstream tool the policy does not declare read/prepare acts (the kill switch stops it), even
        while its upstream is down and the tool is not listed."""
        return self.external is not None and tool not in self.registry and self.external.keeps_result(tool)

    def _is_idempotent(self, tool: str) -> bool:
        spec = self.registry.get(tool)
        if spec is None and (external := self.agents.external_for(tool)) is not None:
            return external.idempotent(tool)
        return spec is not None and spec.idempotent

    # --- the agent's side ------------------------------------------------------------------------

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
        return self.agents.classify(
            tool, arguments, agent=agent, justification=justification, server=server, on_behalf_of=on_behalf_of
        )

    def submit(self, new: NewCall) -> Submission:
        return self.agents.submit(new)

    def record_invalid(self, new: NewCall, error: str) -> ToolCall:
        return self.agents.record_invalid(new, error)

    def record_unknown(self, new: NewCall, error: str) -> ToolCall:
        return self.agents.record_unknown(new, error)

    def get_call(self, call_id: str) -> ToolCall | None:
        return self.agents.get_call(call_id)

    async def wait(
        self,
        call_id: str,
        *,
        timeout: float,
        on_tick: Callable[[float], Awaitable[None]] | None = None,
        tick_every: float = 5.0,
    ) -> ToolCall | None:
        return await self.agents.wait(call_id, timeout=timeout, on_tick=on_tick, tick_every=tick_every)

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
        return self.agents.list_calls(
            statuses=statuses, queue=queue, agent=agent, tool=tool, limit=limit, queues=queues
        )

    # --- the people's side -----------------------------------------------------------------------

    def approve(
        self,
        call_id: str,
        person: Person,
        *,
        reason: str | None = None,
        override_reason: str | None = None,
        arguments: dict[str, Any] | None = None,
        expected_args_hash: str | None = None,
        via: Via = IN_PROCESS,
    ) -> DecisionOutcome:
        """The review service's approval for in-process callers (CLI, tests).

        Without ``expected_args_hash`` it binds to the arguments as stored now: only for callers that
        show the person nothing else (surfaces that show arguments pass the hash they showed).
        """
        if expected_args_hash is None:
            current = self.review.visible_call(person, call_id)
            expected_args_hash = current.args_hash
        approval = Approval(expected_args_hash, reason, override_reason, arguments)
        return self.review.approve(call_id, person, approval, via=via)

    def reject(self, call_id: str, person: Person, *, reason: str, via: Via = IN_PROCESS) -> ToolCall:
        return self.review.reject(call_id, person, reason=reason, via=via)

    # --- the admin's side ------------------------------------------------------------------------

    def sweep(self) -> None:
        self.admin.sweep()

    def audit_note(self, *, event_type: str, actor: str, actor_kind: str, reason: str, data: dict[str, Any]) -> None:
        self.admin.audit_note(event_type=event_type, actor=actor, actor_kind=actor_kind, reason=reason, data=data)
