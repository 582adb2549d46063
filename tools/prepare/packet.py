"""The approval packet: everything a reviewer needs about one proposed act, assembled before it is proposed."""

from __future__ import annotations

from typing import Any

from tools import act
from tools.backoffice import queries as q
from tools.backoffice.store import BackOffice
from tools.contract import ToolInputError, ToolRegistry
from tools.prepare.documents import GATHERABLE, gather
from tools.prepare.exceptions import ActToolName, Arguments, score

registry = ToolRegistry()


@registry.tool(category="prepare", risk="low", action="allow", minutes_saved=15)
def assemble_approval_packet(office: BackOffice, tool: ActToolName, arguments: Arguments) -> dict[str, Any]:
    """Assemble what a reviewer will weigh for a proposed act: preview, related documents, exception score.

    Call this before an act tool to see what the reviewer will see and fix problems first. Nothing is
    executed. Returns {"tool", "summary", "risk", "default_action", "arguments" (as the tool would
    read them), "validation": {"valid", "error", "field"}, "preview": {summary, before, after,
    context, warnings}, "documents": gather_documents of the subject or null, "exception":
    score_exception's answer, "minutes_saved"}.
    """
    spec = act.registry.get(tool)
    if spec is None:
        names = ", ".join(s.name for s in act.registry)
        raise ToolInputError(f"tool: {tool!r} is not an act tool; use one of {names}", field="tool")
    validation: dict[str, Any] = {"valid": True, "error": None, "field": None}
    try:
        parsed = spec.parse(arguments)
    except ToolInputError as exc:
        parsed = dict(arguments)
        validation = {"valid": False, "error": exc.message, "field": exc.field}
    exception = score(office, tool, parsed)
    refusal = next((f for f in exception["factors"] if f["code"] == "would_be_refused"), None)
    if validation["valid"] and refusal is not None:
        validation = {"valid": False, "error": refusal["message"].removeprefix("Would be refused: "), "field": None}
    documents = None
    subject_id = parsed.get(spec.subject.arg) if spec.subject is not None else None
    if isinstance(subject_id, str) and q.kind_of(subject_id) in GATHERABLE:
        with office.read() as conn:
            try:
                documents = gather(conn, subject_id)
            except ToolInputError:
                documents = None  # an unknown subject is already reported by the validation
    assert spec.preview is not None  # every act tool has one (tests hold this)
    return {
        "tool": tool,
        "summary": spec.summarize(parsed),
        "risk": spec.risk,
        "default_action": spec.action,
        "arguments": parsed,
        "validation": validation,
        "preview": spec.preview(office, parsed).as_dict(),
        "documents": documents,
        "exception": exception,
        "minutes_saved": spec.minutes_saved,
    }
