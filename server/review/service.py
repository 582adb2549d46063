"""The review service: the one place where a person's decision on a held call is checked and made.

The review page, the JSON API, the CLI and any later channel (Slack buttons) call this and only
translate requests and answers. The rules, in order:

1. **Who may decide**: a person (agent credentials never reach this service) who reviews the call's
   queue, who is not the person the call was made for (``on_behalf_of`` or the agent's bound person,
   compared by identity key), and who has not approved these arguments already.
2. **Argument-hash binding**: an approval names the ``args_hash`` of the arguments the approver saw;
   if someone edited the call since, it is refused (checked again under the row lock).
3. **Edits**: edited arguments are parsed by the tool's schema and classified again; a call the
   policy would block cannot be approved; everything the policy derives is re-routed
   (server/lifecycle/decisions.py), and the editor alone never completes the quorum.
4. **Override reasons**: critical risk, preview warnings, a preview that failed, or hidden
   characters (server/review/grounds.py) need a written override reason.
5. **Kill switch**: an approved act call does not run while the switch is on; it stays approved.

Every decision's audit event records its channel and client address (:class:`Via`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.catalog import ExternalTools
from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.decisions import DecisionOutcome, requested_by
from server.lifecycle.errors import AfterCommit, CallNotFound, Conflict, Forbidden, InvalidDecision
from server.lifecycle.execution import Executor
from server.lifecycle.states import CallStatus
from server.lifecycle.waiting import ChangeBus
from server.observability import hooks
from server.overrides import Overrides
from server.policy.types import Action, Justification, Verdict
from server.review.channel import Via
from server.review.grounds import override_grounds, override_needed_message
from server.review.hidden import hidden_in_call
from server.review.preview import ToolPreview, preview_of, upstream_preview
from server.store.db import Store, StoreUnavailable
from server.store.models import ToolCall
from tools.contract import ToolInputError, ToolRegistry

logger = logging.getLogger(__name__)

# (tool, arguments, agent=..., justification=...) -> the verdict (the agent side's classify).
Classify = Callable[..., Verdict]
LoadCall = Callable[[str], ToolCall | None]
# The upstream catalogue when it owns a tool the registry lacks (AgentDesk.external_for).
ExternalFor = Callable[[str], ExternalTools | None]


@dataclass(frozen=True)
class Proposal:
    """What approving a call with these arguments would mean: the verdict, preview and grounds."""

    arguments: dict[str, Any]
    verdict: Verdict | None  # None: the call's own verdict (not edited)
    summary: str
    preview: ToolPreview
    hidden: list[tuple[str, list[str]]]
    grounds: list[str]


@dataclass(frozen=True)
class Approval:
    """One person's approval as a surface received it. ``arguments`` are raw (parsed here)."""

    args_hash: str
    reason: str | None = None
    override_reason: str | None = None
    arguments: dict[str, Any] | None = None


class ReviewService:
    """Decides held calls for people. Methods block (database I/O); async callers use a worker thread."""

    def __init__(
        self,
        *,
        store: Store,
        registry: ToolRegistry,
        overrides: Overrides,
        executor: Executor,
        bus: ChangeBus,
        classify: Classify,
        load: LoadCall,
        office: Any = None,
        external: ExternalFor | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.overrides = overrides
        self.executor = executor
        self.bus = bus
        self.classify = classify
        self.load = load
        self.office = office
        self.external_for: ExternalFor = external or (lambda tool: None)

    # --- reading -------------------------------------------------------------------------------

    def visible_call(self, person: Person, call_id: str) -> ToolCall:
        """The call if it exists and the person reviews its queue; CallNotFound / Forbidden otherwise."""
        call = self.load(call_id)
        if call is None:
            raise CallNotFound(f"no call {call_id}")
        if not person.may_review(call.queue):
            raise Forbidden(f"you do not review the {call.queue!r} queue")
        return call

    def schema(self, tool: str) -> dict[str, Any]:
        """The tool's input schema (the edit form is built from it); empty for an unknown tool."""
        spec = self.registry.get(tool)
        if spec is None and (external := self.external_for(tool)) is not None:
            return dict(external.input_schema(tool))
        return dict(spec.input_schema) if spec is not None else {}

    def preview(self, call: ToolCall, arguments: dict[str, Any] | None = None) -> ToolPreview:
        """The tool's preview of the call (of ``arguments`` if given); none once the call stopped waiting."""
        if call.status != CallStatus.HELD:
            return ToolPreview()
        current = arguments if arguments is not None else json.loads(call.arguments)
        if (external := self.external_for(call.tool)) is not None:
            return upstream_preview(external, call.tool, current)
        return preview_of(self.registry, self.office, call.tool, current)

    def hidden(self, call: ToolCall, arguments: dict[str, Any] | None = None) -> list[tuple[str, list[str]]]:
        """Where hidden characters sit in what the agent supplied (and in the arguments being approved)."""
        current = arguments if arguments is not None else json.loads(call.arguments)
        return hidden_in_call(
            summary=call.summary, arguments=current, justification=call.justification, on_behalf_of=call.on_behalf_of
        )

    def proposal(self, call: ToolCall, arguments: dict[str, Any] | None = None) -> Proposal:
        """What approving ``arguments`` (parsed; None: the call's own) would mean, grounds included."""
        verdict = self.reclassify(call, arguments)[0] if arguments is not None else None
        current = arguments if arguments is not None else json.loads(call.arguments)
        risk = verdict.risk.value if verdict is not None else call.risk
        preview = self.preview(call, current)
        hidden = self.hidden(call, current)
        grounds = override_grounds(
            risk=risk,
            warnings=preview.warnings,
            hidden=[path for path, _ in hidden],
            preview_error=None if preview.advisory else preview.error,
        )
        summary = self._summary(call.tool, current) if arguments is not None else call.summary
        return Proposal(current, verdict, summary, preview, hidden, grounds)

    def refusal(self, call: ToolCall, person: Person) -> str | None:
        """Why ``person`` may not approve ``call`` now, or None when they may (the page hides its buttons)."""
        if call.status != CallStatus.HELD:
            return f"the call is {call.status}"
        if not person.may_decide:
            return "auditors read calls; they do not decide them"
        if not person.may_review(call.queue):
            return f"you do not review the {call.queue!r} queue"
        if requested_by(call, person.name):
            return "you requested this call; someone else must approve it"
        if person.name in self.approvers(call):
            return "you already approved this call; it needs another person"
        return None

    def approvers(self, call: ToolCall) -> list[str]:
        """Who approved the call's current arguments."""
        return [
            d.actor
            for d in decisions.decisions_for(self.store, call.id)
            if d.kind == "approve" and d.args_hash == call.args_hash
        ]

    def requested_by(self, call: ToolCall, person: Person) -> bool:
        return requested_by(call, person.name)

    def kill_switch(self, call: ToolCall) -> str | None:
        """Why this call's tool does not run now (the kill switch), or None."""
        return self.overrides.stops(call.tool)

    # --- edits ---------------------------------------------------------------------------------

    def parse_arguments(self, call: ToolCall, arguments: object) -> dict[str, Any]:
        """Edited arguments in the tool's canonical form (400 -> 400.0); InvalidDecision when they do not fit."""
        if not isinstance(arguments, dict):
            raise InvalidDecision("the edited arguments must be an object")
        spec = self.registry.get(call.tool)
        if spec is None and (external := self.external_for(call.tool)) is not None:
            try:
                external.check(call.tool, arguments)  # an upstream tool: its server's schema decides
            except ToolInputError as exc:
                raise InvalidDecision(f"the edited arguments are not valid: {exc.message}") from exc
            return arguments
        if spec is None:
            raise InvalidDecision(f"the tool {call.tool!r} is no longer known; this call cannot be edited")
        try:
            return spec.parse(arguments)
        except ToolInputError as exc:
            raise InvalidDecision(f"the edited arguments are not valid: {exc.message}") from exc
        except ValueError as exc:
            raise InvalidDecision(f"the edited arguments are not valid: {exc}") from exc

    def parse_arguments_json(self, call: ToolCall, text: str) -> dict[str, Any] | None:
        """Edited arguments sent as JSON text (the page's confirm form); None when empty."""
        if not text.strip():
            return None
        try:
            arguments = json.loads(text)
        except json.JSONDecodeError:
            raise InvalidDecision("the edited arguments are not valid JSON") from None
        return self.parse_arguments(call, arguments)

    def reclassify(self, call: ToolCall, arguments: dict[str, Any] | None) -> tuple[Verdict, str]:
        """The verdict and summary the call would get with ``arguments`` (parsed and validated here)."""
        parsed = self.parse_arguments(call, arguments)
        justification = Justification.model_validate(call.justification or {})
        verdict = self.classify(
            call.tool, parsed, agent=call.agent, justification=justification, on_behalf_of=call.on_behalf_of
        )
        return verdict, self._summary(call.tool, parsed)

    def _summary(self, tool: str, arguments: dict[str, Any]) -> str:
        spec = self.registry.get(tool)
        if spec is None and (external := self.external_for(tool)) is not None:
            return external.summarize(tool, arguments)
        return spec.summarize(arguments) if spec is not None else ""

    # --- deciding ------------------------------------------------------------------------------

    @hooks.decides
    def approve(self, call_id: str, person: Person, approval: Approval, *, via: Via) -> DecisionOutcome:
        """Approve (and, with ``arguments``, edit); on quorum the call runs once unless the kill switch is on.

        Raises CallNotFound, Forbidden, Conflict (stale ``args_hash``, already decided) or
        InvalidDecision (bad edit, a blocked edit, a missing override reason).
        """
        call = self.visible_call(person, call_id)
        if not person.may_decide:
            raise Forbidden("auditors read calls; they do not decide them")
        if approval.args_hash != call.args_hash:
            raise Conflict("the call's arguments changed since you opened it (someone edited it); review it again")
        self._check_upstream_definition(call)
        override_reason = (approval.override_reason or "").strip() or None
        edited = None
        if call.status == CallStatus.HELD:  # a decided call gets its 409 from the lifecycle below
            edited = self.parse_arguments(call, approval.arguments) if approval.arguments is not None else None
            proposal = self.proposal(call, edited)
            if proposal.verdict is not None and proposal.verdict.action == Action.BLOCK:
                raise InvalidDecision(f"the edited call would be blocked: {proposal.verdict.reason}")
            if proposal.grounds and override_reason is None:
                raise InvalidDecision(override_needed_message(proposal.grounds))
        outcome = decisions.approve(
            self.store,
            call_id,
            person,
            reason=(approval.reason or "").strip() or None,
            override_reason=override_reason,
            edited_arguments=edited,
            reclassify=self.reclassify,
            expected_args_hash=approval.args_hash,  # checked again under the row lock
            via=via.as_data(),
        )
        self.bus.publish(call_id, outcome.call.status)
        if outcome.approved:
            executed = self._execute_approved(call_id)  # None while the kill switch holds it (stays approved)
            if executed is not None:
                self.bus.publish(call_id, executed.status)
                return DecisionOutcome(executed, True, outcome.approvals, outcome.required, outcome.diff)
        return outcome

    def _execute_approved(self, call_id: str) -> ToolCall | None:
        """Run an approval that is already committed: a database failure now must say so (AfterCommit)."""
        try:
            return self.executor.execute(call_id)
        except StoreUnavailable as exc:
            logger.warning("call %s was approved, but could not be started", call_id, exc_info=True)
            raise AfterCommit(
                f"the approval of call {call_id} is stored (the call is approved), but the database failed before "
                "it could start; it runs once the database recovers. Do not approve it again.",
                call_id=call_id,
                committed="decision_stored",
            ) from exc

    def _check_upstream_definition(self, call: ToolCall) -> None:
        """A call held under an upstream definition that changed since cannot be approved until an admin accepts it."""
        external = self.external_for(call.tool)
        refusal = external.refusal(call.tool) if external is not None else None
        if refusal is not None:
            raise InvalidDecision(refusal)

    @hooks.decides
    def reject(self, call_id: str, person: Person, *, reason: str, via: Via, args_hash: str | None = None) -> ToolCall:
        """Reject with a reason. ``args_hash``, when the surface sent it, must still be the call's."""
        call = self.visible_call(person, call_id)
        if not person.may_decide:
            raise Forbidden("auditors read calls; they do not decide them")
        if args_hash is not None and args_hash != call.args_hash:
            raise Conflict("the call's arguments changed since you opened it (someone edited it); review it again")
        rejected = decisions.reject(self.store, call_id, person, reason=reason, via=via.as_data())
        self.bus.publish(call_id, rejected.status)
        return rejected
