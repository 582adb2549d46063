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

from server.catalog import ExternalTools
from server.gateway import Gateway
from server.lifecycle.actors import Person
from server.lifecycle.decisions import decisions_for
from server.lifecycle.diff import argument_diff
from server.lifecycle.states import CallStatus
from server.store.models import Decision, ToolCall
from web.pages import queries
from web.pages.override import override_grounds
from web.render import hidden_paths

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
    if spec is None and gateway.external is not None and gateway.external.owns(tool):
        return _upstream_preview(gateway.external, tool, arguments)
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


def _upstream_preview(external: ExternalTools, tool: str, arguments: dict[str, Any]) -> ToolPreview:
    """An upstream tool's packet: its own description, and the policy's preview tool's answer as "now".

    The preview tool is called while the page is built; its failure is shown, never blocks a decision.
    """
    context = {"what the tool says it does": external.description(tool)}
    try:
        found = external.preview(tool, arguments)
    except Exception:  # display boundary: a broken preview must not hide the call from its reviewer
        logger.exception("upstream preview of %s failed", tool)
        found = {"error": "the preview failed; see the server log"}
    if found is None:
        return ToolPreview(context=context, available=True)
    if "error" in found:
        return ToolPreview(context=context, error=str(found["error"]), available=True)
    now = _readable(found.get("result") or {})
    row = {"field": f"now (from {found.get('tool')})", "before": now, "after": arguments, "changed": True}
    return ToolPreview(rows=[row], context=context, available=True)


def _readable(result: dict[str, Any]) -> Any:
    """An MCP result as a reviewer reads it: its structured content, else its text."""
    if result.get("structuredContent") is not None:
        return result["structuredContent"]
    texts = [item.get("text", "") for item in result.get("content", []) if item.get("type") == "text"]
    return "\n".join(texts) if texts else result.get("content")


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


def hidden_in(call: ToolCall, arguments: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Where hidden Unicode sits in what the agent supplied (summary, arguments, justification)."""
    found = list(hidden_paths(call.summary, "summary"))
    found += [(f"arguments.{path}", cps) for path, cps in hidden_paths(arguments)]
    found += [(f"justification.{path}", cps) for path, cps in hidden_paths(call.justification or {})]
    return found


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
        override=override_grounds(risk=call.risk, warnings=preview.warnings, hidden=[path for path, _ in hidden]),
        may_review=person.may_review(call.queue),
        requested_by_viewer=call.on_behalf_of is not None and call.on_behalf_of == person.name,
        approved_by_viewer=person.name in approvers,
        previous_id=neighbours[0],
        next_id=neighbours[1],
        schema=tool_schema(gateway, call.tool),
    )


def tool_schema(gateway: Gateway, tool: str) -> dict[str, Any]:
    """The schema the edit form is built from: the tool's own, or the one an upstream server lists for it."""
    spec = gateway.registry.get(tool)
    if spec is not None:
        return spec.input_schema
    external = gateway.external
    return external.input_schema(tool) if external is not None and external.owns(tool) else {}
