"""The approval packet of one call: everything a reviewer weighs, gathered for the packet page.

The proposed action (in words and as arguments), the agent's reason, evidence and confidence, the
tool's reviewer preview (before/after, context, warnings), why the policy held it, the decisions
so far (quorum), similar calls and their outcomes, and what this viewer may do about it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from server.gateway import Gateway
from server.lifecycle.actors import Person
from server.lifecycle.decisions import decisions_for
from server.lifecycle.diff import argument_diff
from server.lifecycle.states import CallStatus
from server.people import People
from server.review import ToolPreview
from server.store.models import Decision, ToolCall
from server.text import LookalikeHost, lookalike_hosts, strings_in
from web.pages import queries


@dataclass(frozen=True)
class Packet:
    call: ToolCall
    arguments: dict[str, Any]
    proposed: dict[str, Any]
    # The reviewer edit applied so far (proposed -> current arguments), empty when none.
    edit: list[dict[str, Any]]
    justification: dict[str, Any]
    verdict: dict[str, Any]
    preview: ToolPreview
    decisions: list[Decision]
    approvers: list[str]
    similar: list[ToolCall]
    similar_decisions: dict[str, list[Decision]]
    hidden: list[tuple[str, list[str]]]
    # E-mail and URL hosts that can pass for another (punycode, mixed scripts), where they appear.
    lookalikes: list[tuple[str, LookalikeHost]]
    override: list[str]
    may_review: bool
    requested_by_viewer: bool
    approved_by_viewer: bool
    previous_id: str | None
    next_id: str | None
    schema: dict[str, Any]
    # Why the call's tool does not run now (the kill switch is on), or None.
    kill_switch: str | None = None
    # Whether on_behalf_of names a known person (None: not set).
    on_behalf_of_known: bool | None = None

    @property
    def held(self) -> bool:
        return self.call.status == CallStatus.HELD

    @property
    def may_approve(self) -> bool:
        return self.held and self.may_review and not self.requested_by_viewer and not self.approved_by_viewer

    @property
    def editable(self) -> bool:
        return self.may_approve and bool(self.schema.get("properties"))


def _agent_fields(call: ToolCall, arguments: dict[str, Any]) -> list[tuple[str, Any]]:
    """Every field of a call whose text came from the agent, with the name the packet gives it."""
    return [
        ("agent", call.agent),
        ("on_behalf_of", call.on_behalf_of or ""),
        ("summary", call.summary),
        ("arguments", arguments),
        ("justification", call.justification or {}),
    ]


def lookalikes_in(call: ToolCall, arguments: dict[str, Any]) -> list[tuple[str, LookalikeHost]]:
    """Look-alike e-mail and URL hosts in what the agent supplied, each with the field it is in."""
    return [
        (name, host)
        for name, value in _agent_fields(call, arguments)
        for string in strings_in(value)
        for host in lookalike_hosts(string)
    ]


def build_packet(
    gateway: Gateway,
    people: People,
    call: ToolCall,
    person: Person,
    neighbours: tuple[str | None, str | None],
) -> Packet:
    """The packet; every rule (grounds, who may approve, the kill switch) comes from the review service."""
    review = gateway.review
    arguments = json.loads(call.arguments)
    proposed = json.loads(call.proposed_arguments)
    # A preview describes what the call *would* change, so it only means something while it waits.
    proposal = review.proposal(call)
    decisions = decisions_for(gateway.store, call.id)
    approvers = [d.actor for d in decisions if d.kind == "approve" and d.args_hash == call.args_hash]
    similar = queries.similar_calls(gateway.store, person, call)
    waiting = call.status in (CallStatus.HELD, CallStatus.APPROVED)
    return Packet(
        call=call,
        arguments=arguments,
        proposed=proposed,
        edit=argument_diff(proposed, arguments) if proposed != arguments else [],
        justification=dict(call.justification or {}),
        verdict=dict(call.verdict or {}),
        preview=proposal.preview,
        decisions=decisions,
        approvers=approvers,
        similar=similar,
        similar_decisions=queries.decisions_by_call(gateway.store, [c.id for c in similar]),
        hidden=proposal.hidden,
        lookalikes=lookalikes_in(call, arguments),
        override=proposal.grounds,
        may_review=person.may_decide and person.may_review(call.queue),
        requested_by_viewer=review.requested_by(call, person),
        approved_by_viewer=person.name in approvers,
        previous_id=neighbours[0],
        next_id=neighbours[1],
        schema=review.schema(call.tool),
        kill_switch=review.kill_switch(call) if waiting else None,
        on_behalf_of_known=people.is_known(call.on_behalf_of) if call.on_behalf_of else None,
    )
