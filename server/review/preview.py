"""The tool's reviewer preview of a call, as plain data: what the call would change, and warnings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from server.catalog import ExternalTools
from tools.contract import ToolRegistry

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
    # The tool's preview as it returned it (the JSON API's view).
    raw: dict[str, Any] | None = None
    # True when a failure of this preview is shown but is no ground for an override reason.
    advisory: bool = False

    def as_dict(self) -> dict[str, Any] | None:
        """The JSON API's view: None when the tool has no preview."""
        if not self.available:
            return None
        if self.error is not None:
            return {"summary": "no preview", "warnings": [self.error]}
        return self.raw


def preview_of(registry: ToolRegistry, office: Any, tool: str, arguments: dict[str, Any]) -> ToolPreview:
    """Ask the tool for its reviewer preview (it only reads). A failing preview never breaks a review."""
    spec = registry.get(tool)
    if spec is None or spec.preview is None or office is None:
        return ToolPreview()
    try:
        data = spec.preview(office, arguments).as_dict()
    except (ValueError, LookupError) as exc:  # ToolInputError and friends: the arguments do not fit the records
        return ToolPreview(error=str(exc), available=True)
    except Exception:  # display boundary: a broken preview must not hide the call from its reviewer
        logger.exception("preview of %s failed", tool)
        error = "the tool's preview failed; see the server log"
        return ToolPreview(error=error, available=True)
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
        raw=data,
    )


def upstream_preview(external: ExternalTools, tool: str, arguments: dict[str, Any]) -> ToolPreview:
    """An upstream tool's preview: its own description, and the policy's preview tool's answer as "now".

    The preview tool is called while the packet is built. Its failure is shown but, unlike a built-in
    tool's broken preview, is no ground for an override reason: a failing upstream preview never
    stands in the way of a decision (the upstream may simply have nothing to show yet).
    """
    context: dict[str, Any] = {"what the tool says it does": external.description(tool)}
    try:
        found = external.preview(tool, arguments)
    except Exception:  # display boundary: a broken preview must not hide the call from its reviewer
        logger.exception("upstream preview of %s failed", tool)
        found = {"error": "the preview failed; see the server log"}
    if found is None:
        return ToolPreview(context=context, available=True, raw={"context": context})
    if "error" in found:
        return ToolPreview(context=context, error=str(found["error"]), available=True, advisory=True)
    now = _readable(found.get("result") or {})
    row = {"field": f"now (from {found.get('tool')})", "before": now, "after": arguments, "changed": True}
    return ToolPreview(rows=[row], context=context, available=True, raw={"now": now, "context": context})


def _readable(result: dict[str, Any]) -> Any:
    """An MCP result as a reviewer reads it: its structured content, else its text."""
    if result.get("structuredContent") is not None:
        return result["structuredContent"]
    texts = [item.get("text", "") for item in result.get("content", []) if item.get("type") == "text"]
    return "\n".join(texts) if texts else result.get("content")
