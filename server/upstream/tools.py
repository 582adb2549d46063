"""Upstream tools as the gateway sees them (``server.catalog.ExternalTools``).

What our own tools declare in code, an upstream tool gets from its entry in the policy's ``tools:``
(kind, exposure, subject, idempotency, preview). Upstream annotations (``readOnlyHint``...) are
never read here: they cannot loosen the policy. The pin is checked on every call, from the database,
so an admin's accept on any instance takes effect everywhere at once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Protocol

import mcp_types as types

from server.lifecycle.execution import ToolOutcome, ToolRefused
from server.policy import Policy
from server.policy.declared import declared_exposure, declared_subject, preview_arguments
from server.policy.model import ToolEntry
from server.policy.types import CallFacts, Justification
from server.upstream import UPSTREAM_RESULT
from server.upstream.config import HttpUpstream
from server.upstream.connection import UpstreamUnavailable
from server.upstream.hub import ForwardLog, ForwardProgress, UpstreamHub, UpstreamRefused
from server.upstream.pins import Pins
from tools.contract import ToolInputError

# Set by the MCP surface around an agent's call: where the upstream's progress goes (allowed calls only).
FORWARD_PROGRESS: ContextVar[ForwardProgress | None] = ContextVar("countersign_forward_progress", default=None)
# Likewise for the upstream's log messages (notifications/message) during an allowed call.
FORWARD_LOG: ContextVar[ForwardLog | None] = ContextVar("countersign_forward_log", default=None)


class CurrentPolicy(Protocol):
    def current(self) -> Policy | None: ...


class UpstreamTools:
    def __init__(self, hub: UpstreamHub, policies: CurrentPolicy, pins: Pins) -> None:
        self.hub = hub
        self.policies = policies
        self.pins = pins

    def _entry(self, tool: str) -> ToolEntry | None:
        policy = self.policies.current()
        return policy.tools.get(tool) if policy is not None else None

    def definitions(self) -> list[tuple[str, types.Tool]]:
        return [(tool.listed, tool.tool) for tool in self.hub.tools()]

    def on_change(self, listener: Callable[[], None]) -> None:
        self.hub.on_change(listener)

    def description(self, tool: str) -> str:
        listed = self.hub.get(tool)
        return (listed.tool.description or "") if listed is not None else ""

    def input_schema(self, tool: str) -> dict[str, Any]:
        listed = self.hub.get(tool)
        schema = listed.tool.input_schema if listed is not None else None
        return dict(schema) if isinstance(schema, dict) else {}

    def owns(self, tool: str) -> bool:
        return self.hub.get(tool) is not None

    def refusal(self, tool: str) -> str | None:
        listed = self.hub.get(tool)
        if listed is None:
            upstream = self.hub.connections.get(tool.split("__", 1)[0])
            if upstream is not None and upstream.state != "up":
                return (
                    f"upstream {upstream.name!r} is down ({upstream.last_error or 'not connected'}); nothing was done"
                )
            return f"upstream tool {tool!r} is not listed by its upstream now; nothing was done"
        pinned = self.pins.pinned_hash(tool)
        if pinned is not None and pinned != listed.hash:
            return (
                f"the upstream changed the definition of {tool} since it was pinned; it is blocked until an "
                f"admin reviews and accepts the change (countersign upstream accept {listed.upstream} {listed.name})"
            )
        return None

    def facts(
        self,
        tool: str,
        args: dict[str, Any],
        *,
        agent: str,
        justification: Justification | None,
        on_behalf_of: str | None = None,
    ) -> CallFacts:
        entry = self._entry(tool)
        return CallFacts(
            tool=tool,
            args=args,
            agent=agent,
            server=self.server_of(tool),
            justification=justification or Justification(),
            exposure=declared_exposure(entry, args),
            customer=declared_subject(entry, args),
            category=entry.kind if entry is not None else None,
            on_behalf_of=on_behalf_of,
        )

    def server_of(self, tool: str) -> str:
        listed = self.hub.get(tool)
        return listed.upstream if listed is not None else tool.split("__", 1)[0]

    def idempotent(self, tool: str) -> bool:
        """Whether a retry is safe: the policy names where the key goes, and we can deliver it there
        (a header only reaches a streamable-HTTP upstream; over stdio a crash means unknown_outcome)."""
        entry = self._entry(tool)
        if entry is None or entry.idempotency is None:
            return False
        return entry.idempotency.header is None or self._over_http(tool)

    def _over_http(self, tool: str) -> bool:
        connection = self.hub.connections.get(self.server_of(tool))
        return connection is not None and isinstance(connection.config, HttpUpstream)

    def keeps_result(self, tool: str) -> bool:
        entry = self._entry(tool)
        return entry is None or entry.kind in (None, "act")

    def summarize(self, tool: str, args: dict[str, Any]) -> str:
        text = f"{tool}({', '.join(sorted(args))})"
        return text if len(text) <= 200 else text[:199] + "…"

    def check(self, tool: str, args: dict[str, Any]) -> None:
        listed = self.hub.get(tool)
        if listed is None:
            raise ToolInputError(f"upstream tool {tool!r} is not available now")
        error = listed.validator.problem(args)
        if error is not None:
            where = ".".join(str(p) for p in error.absolute_path) or None
            raise ToolInputError(f"{where or 'arguments'}: {error.message[:300]}", field=where)

    def run(self, tool: str, args: dict[str, Any], idempotency_key: str | None) -> ToolOutcome:
        """Call the upstream with exactly ``args`` (plus the idempotency key where the policy says)."""
        refusal = self.refusal(tool)
        if refusal is not None:
            raise ToolRefused(refusal)
        entry = self._entry(tool)
        sent = dict(args)
        headers: dict[str, str] | None = None
        if idempotency_key is not None and entry is not None and entry.idempotency is not None:
            if entry.idempotency.argument is not None:
                sent[entry.idempotency.argument] = idempotency_key
            elif entry.idempotency.header is not None and self._over_http(tool):
                headers = {entry.idempotency.header: idempotency_key}
        try:
            result = self.hub.call(tool, sent, progress=FORWARD_PROGRESS.get(), headers=headers, log=FORWARD_LOG.get())
        except (UpstreamUnavailable, UpstreamRefused) as exc:
            raise ToolRefused(str(exc)) from exc
        raw = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        return ToolOutcome({UPSTREAM_RESULT: raw}, is_error=bool(result.is_error))

    def preview(self, tool: str, args: dict[str, Any]) -> dict[str, Any] | None:
        """The declared preview tool's result for a reviewer: ``{"result"}`` or ``{"error"}``; None if none declared."""
        entry = self._entry(tool)
        if entry is None or entry.preview is None:
            return None
        preview_tool = entry.preview.tool
        preview_entry = self._entry(preview_tool)
        if preview_entry is None or preview_entry.kind != "read":
            return {"error": f"preview tool {preview_tool} is not declared `kind: read` in the policy; not called"}
        try:
            arguments = preview_arguments(entry, args)
            refusal = self.refusal(preview_tool)
            if refusal is not None:
                return {"error": refusal}
            result = self.hub.call(preview_tool, arguments)
        except (ValueError, UpstreamUnavailable, UpstreamRefused) as exc:
            return {"error": str(exc)}
        dumped = json.loads(result.model_dump_json(by_alias=True, exclude_none=True))
        if result.is_error:  # the preview tool answered with an error: shown as a failed preview
            texts = [item.get("text", "") for item in dumped.get("content", []) if item.get("type") == "text"]
            return {"error": f"{preview_tool}: {' '.join(texts) or 'error'}"}
        return {"tool": preview_tool, "result": dumped}
