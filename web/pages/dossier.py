"""The approval packet of one call: everything a reviewer weighs, gathered for the packet page.

The proposed action (in words and as arguments), the agent's reason, evidence and confidence, the
tool's reviewer preview (before/after, context, warnings), why the policy held it, the decisions
so far (quorum), similar calls and their outcomes, and what this viewer may do about it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from server.gateway import Gateway
from server.lifecycle.actors import Person
from server.lifecycle.decisions import decisions_for
from server.lifecycle.diff import argument_diff
from server.lifecycle.states import CallStatus
from server.store.models import Decision, ToolCall
from server.text import LookalikeHost, hidden_paths, lookalike_hosts, strings_in
from web.pages import queries
from web.pages.override import override_grounds

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolPreview:
    """The tool's reviewer preview as plain data, or why there is none."""

    summary: str = ""
    rows: list[dict[str, Any]] = field(default_factory=list)  # field, before, after, changed
    context: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    available: bool = False


def preview_of(gateway: Gateway, office: Any, tool: str, arguments: dict[str, Any]) -> ToolPreview:
    """Ask the tool for its reviewer preview (it only reads). A failing preview never breaks the page."""
    spec = gateway.registry.get(tool)
    if spec is None or spec.preview is None or office is None:
        return ToolPreview()
    try:
        data = spec.preview(office, arguments).as_dict()
    except ValueError as exc:  # ToolInputError and friends: the arguments do not fit the records
        return ToolPreview(error=str(exc), available=True)
    except Exception:  # display boundary: a broken preview must not hide the call from its reviewer
        logger.exception("preview of %s failed", tool)
        return ToolPreview(error="the tool's preview failed; see the server log", available=True)
    before: dict[str, Any] = data.get("before") or {}
    after: dict[str, Any] = data.get("after") or {}
    names = list(before) + [name for name in after if name not in before]
    rows = [
        {
            "field": name,
            "before": before.get(name),
            "after": after.get(name),
            "changed": before.get(name) != after.get(name),
        }
        for name in names
    ]
    return ToolPreview(
        summary=str(data.get("summary") or ""),
        rows=rows,
        context=dict(data.get("context") or {}),
        warnings=[str(w) for w in data.get("warnings") or []],
        available=True,
    )


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


def hidden_in(call: ToolCall, arguments: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Where hidden Unicode sits in what the agent supplied (every field, on_behalf_of included)."""
    return [
        (f"{name}.{path}" if path != "(text)" else name, cps)
        for name, value in _agent_fields(call, arguments)
        for path, cps in hidden_paths(value)
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
    office: Any,
    call: ToolCall,
    person: Person,
    neighbours: tuple[str | None, str | None],
) -> Packet:
    arguments = json.loads(call.arguments)
    proposed = json.loads(call.proposed_arguments)
    # A preview describes what the call *would* change, so it only means something while it waits.
    preview = preview_of(gateway, office, call.tool, arguments) if call.status == CallStatus.HELD else ToolPreview()
    decisions = decisions_for(gateway.store, call.id)
    approvers = [d.actor for d in decisions if d.kind == "approve" and d.args_hash == call.args_hash]
    hidden = hidden_in(call, arguments)
    similar = queries.similar_calls(gateway.store, person, call)
    spec = gateway.registry.get(call.tool)
    return Packet(
        call=call,
        arguments=arguments,
        proposed=proposed,
        edit=argument_diff(proposed, arguments) if proposed != arguments else [],
        justification=dict(call.justification or {}),
        verdict=dict(call.verdict or {}),
        preview=preview,
        decisions=decisions,
        approvers=approvers,
        similar=similar,
        similar_decisions=queries.decisions_by_call(gateway.store, [c.id for c in similar]),
        hidden=hidden,
        lookalikes=lookalikes_in(call, arguments),
        override=override_grounds(risk=call.risk, warnings=preview.warnings, hidden=[path for path, _ in hidden]),
        may_review=person.may_review(call.queue),
        requested_by_viewer=call.on_behalf_of is not None and call.on_behalf_of == person.name,
        approved_by_viewer=person.name in approvers,
        previous_id=neighbours[0],
        next_id=neighbours[1],
        schema=spec.input_schema if spec is not None else {},
    )
