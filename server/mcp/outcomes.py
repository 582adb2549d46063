"""Every result an agent can get from a tools/call, in one place (DESIGN.md, "Outcome shapes").

| outcome              | isError         | structuredContent                                          |
|----------------------|-----------------|------------------------------------------------------------|
| executed             | as the tool did | the tool's own; ``_meta["countersign/call"]`` has call_id, |
|                      |                 | verdict, approvers and the reviewer's edit diff            |
| pending_approval     | false           | status, call_id, queue, review_url, expires_at             |
| rejected             | true            | status, call_id, reason, reviewer, do_not_retry            |
| blocked              | true            | status, call_id, rule, reason, do_not_retry                |
| expired              | true            | status, call_id, expired_at, do_not_retry                  |
| failed, unknown_     | true            | status, call_id, error, do_not_retry                       |
| outcome, cancelled   |                 |                                                            |
| invalid_arguments    | true            | status, call_id, field, error, do_not_retry: false         |
| error (gateway)      | true            | status "error", error                                      |
| stored, unanswered   | true            | status (held, executing...), call_id, error, do_not_retry  |

The text content repeats the structured content as JSON (executed) or says in one plain sentence
what happened and what to do next, for models that only read text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import mcp_types as types

from server.lifecycle.diff import argument_diff, describe_diff
from server.lifecycle.states import WAITING, CallStatus
from server.store.models import Decision, ToolCall
from server.upstream import UPSTREAM_RESULT

CALL_META = "countersign/call"
PENDING = "pending_approval"


def review_url(base_url: str, call_id: str) -> str:
    return f"{base_url.rstrip('/')}/calls/{call_id}"


def for_call(call: ToolCall, decisions: Sequence[Decision], *, base_url: str) -> types.CallToolResult:
    """The result an agent gets for ``call`` as it stands now."""
    status = CallStatus(call.status)
    if status in WAITING:
        return pending(call, base_url=base_url)
    if status == CallStatus.ALLOWED and call.result is None and not call.is_error:
        return ran_at_once(call)
    if status in (CallStatus.ALLOWED, CallStatus.SUCCEEDED):
        return executed(call, decisions)
    if status == CallStatus.BLOCKED:
        return blocked(call)
    if status == CallStatus.REJECTED:
        reviewer = next((d.actor for d in reversed(decisions) if d.kind == "reject"), None)
        return _refusal(
            call,
            {"reason": call.error, "reviewer": reviewer},
            f"A person ({reviewer or 'a reviewer'}) rejected this call: {call.error}. Nothing was done. "
            "Do not retry it; tell the user why, or ask them how to proceed.",
        )
    if status == CallStatus.EXPIRED:
        expired_at = call.finished_at or call.expires_at
        return _refusal(
            call,
            {"expired_at": _iso(expired_at)},
            "Nobody approved this call before it expired, so nothing was done. Do not retry it on your own; "
            "ask the user whether it is still wanted.",
        )
    if status == CallStatus.UNKNOWN_OUTCOME:
        return _refusal(
            call,
            {"error": call.error},
            "The gateway stopped while this call ran, and it cannot tell whether the tool acted. A person will "
            "check. Do not retry it.",
        )
    if status == CallStatus.CANCELLED:
        return _refusal(call, {"reason": call.error}, f"This call was withdrawn before a decision: {call.error}.")
    return _refusal(  # FAILED: the approved call ran and the tool refused or crashed
        call,
        {"error": call.error},
        f"The approved call failed when it ran: {call.error}. Do not retry it without asking the user.",
    )


def ran_at_once(call: ToolCall) -> types.CallToolResult:
    """An allowed reading call looked up later: its output was returned then and is not kept."""
    structured = {"status": "allowed", "call_id": call.id}
    text = (
        "This call was allowed and ran at once; its result was returned to you then. Results of reading and "
        "preparing tools are not kept: call the tool again if you need it."
    )
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], structured_content=structured)


def executed(call: ToolCall, decisions: Sequence[Decision] = ()) -> types.CallToolResult:
    """The tool's own result, with the gateway's notes in ``_meta`` (and in text when a person edited it)."""
    edited = call.proposed_arguments != call.arguments
    changes = argument_diff(json.loads(call.proposed_arguments), json.loads(call.arguments)) if edited else []
    approvers = sorted({d.actor for d in decisions if d.kind == "approve" and d.args_hash == call.args_hash})
    return _executed(
        call.result,
        bool(call.is_error),
        _note(call.id, call.status, call.verdict, call.action, call.risk, call.queue, approvers),
        changes,
    )


def ran_now(row: Mapping[str, Any]) -> types.CallToolResult:
    """An allowed call that just ran, from its fresh row (``Submission.ran``): nobody approved or edited it."""
    note = _note(row["id"], row["status"], row["verdict"], row["action"], row["risk"], row["queue"], [])
    return _executed(row["result"], bool(row["is_error"]), note, [])


def _note(
    call_id: str,
    status: str,
    verdict: dict[str, Any] | None,
    action: str,
    risk: str,
    queue: str,
    approvers: list[str],
) -> dict[str, Any]:
    verdict = verdict or {}
    return {
        "call_id": call_id,
        "status": status,
        "verdict": {
            "action": verdict.get("action", action),
            "risk": risk,
            "queue": queue,
            "rules": list(verdict.get("matched_rules", [])),
        },
        "approvers": approvers,
    }


def _executed(result: Any, is_error: bool, note: dict[str, Any], changes: list[dict[str, Any]]) -> types.CallToolResult:
    if isinstance(result, dict) and UPSTREAM_RESULT in result:
        return _upstream(result[UPSTREAM_RESULT], note, changes)
    structured = result if isinstance(result, dict) else {"result": result}
    content: list[types.TextContent] = [_text(_json(structured))]
    if changes:
        note["diff"] = changes
        note["changes"] = describe_diff(changes)
        content.append(
            _text(
                f"Note: a person changed the arguments before approving ({note['changes']}). "
                "The result above is for the changed call."
            )
        )
    return types.CallToolResult(
        content=content, structured_content=structured, is_error=is_error, meta={CALL_META: note}
    )


def _upstream(raw: dict[str, Any], note: dict[str, Any], changes: list[dict[str, Any]]) -> types.CallToolResult:
    """An upstream tool's own result, unchanged (every content type, structuredContent, isError, _meta);
    the gateway adds only its note under ``_meta`` and, after an edit, one text line saying so."""
    result = types.CallToolResult.model_validate(raw)
    if changes:
        note["diff"] = changes
        note["changes"] = describe_diff(changes)
        extra = _text(f"Note: a person changed the arguments before approving ({note['changes']}).")
        result = result.model_copy(update={"content": [*result.content, extra]})
    return result.model_copy(update={"meta": {**(result.meta or {}), CALL_META: note}})


def pending(call: ToolCall, *, base_url: str) -> types.CallToolResult:
    url = review_url(base_url, call.id)
    data = {
        "status": PENDING,
        "call_id": call.id,
        "queue": call.queue,
        "review_url": url,
        "expires_at": _iso(call.expires_at),
    }
    running = "allowed and running" if call.action == "allow" else "approved and running"
    progress = running if call.status != CallStatus.HELD else "waiting for a person's approval"
    text = (
        f"This call is {progress} ({call.summary or call.tool}); nothing has been done yet. A reviewer in the "
        f"{call.queue!r} queue decides at {url}; the call expires at {data['expires_at']}. "
        f'Call await_decision with call_id "{call.id}" to get the result. Do not repeat the original call.'
    )
    return types.CallToolResult(content=[_text(text)], structured_content=data, is_error=False)


def blocked(call: ToolCall) -> types.CallToolResult:
    verdict = call.verdict or {}
    rules = list(verdict.get("matched_rules", []))
    rule = rules[0] if rules else None
    reason = call.error or "; ".join(verdict.get("reasons", [])) or "refused by policy"
    return _refusal(
        call,
        {"rule": rule, "reason": reason},
        f"Refused by policy{f' (rule {rule})' if rule else ''}: {reason}. Nothing was done. "
        "Do not retry this call or work around it; tell the user it needs a person.",
    )


def invalid_arguments(message: str, *, field: str | None, call_id: str | None) -> types.CallToolResult:
    data = {
        "status": "invalid_arguments",
        "call_id": call_id,
        "field": field,
        "error": message,
        "do_not_retry": False,
    }
    text = f"Invalid arguments: {message}. Nothing was done; fix the arguments and call again."
    return types.CallToolResult(content=[_text(text)], structured_content=data, is_error=True)


def gateway_error(message: str) -> types.CallToolResult:
    """A refusal that is not about one stored call: unknown call id, database down, unknown tool."""
    return types.CallToolResult(
        content=[_text(message)], structured_content={"status": "error", "error": message}, is_error=True
    )


_STORED = {
    "held": "it is stored and held for a person's approval",
    "executing": "it ran (or is running), and its outcome is not recorded yet",
    "decision_stored": "it is stored and approved",
}


def stored_but_unanswered(call_id: str, committed: str) -> types.CallToolResult:
    """The database failed after the call was committed: say what is stored; never invite a retry."""
    what = _STORED.get(committed, "it is stored")
    error = f"the gateway's database failed after this call was committed ({what})"
    data = {"status": committed, "call_id": call_id, "error": error, "do_not_retry": True}
    text = (
        f"Your call was recorded as call {call_id}: {what}. The gateway's database failed before it could answer. "
        f'Do not repeat the call: call await_decision with call_id "{call_id}" (again in a minute if it fails) '
        "to get its outcome."
    )
    return types.CallToolResult(content=[_text(text)], structured_content=data, is_error=True)


def pending_list(calls: Sequence[ToolCall], *, base_url: str) -> types.CallToolResult:
    items = [
        {
            "call_id": call.id,
            "tool": call.tool,
            "summary": call.summary,
            "status": call.status,
            "queue": call.queue,
            "review_url": review_url(base_url, call.id),
            "created_at": _iso(call.created_at),
            "expires_at": _iso(call.expires_at),
        }
        for call in calls
    ]
    data = {"calls": items, "count": len(items)}
    return types.CallToolResult(content=[_text(_json(data))], structured_content=data, is_error=False)


def _refusal(call: ToolCall, fields: dict[str, Any], text: str) -> types.CallToolResult:
    data = {"status": call.status, "call_id": call.id, **fields, "do_not_retry": True}
    return types.CallToolResult(content=[_text(text)], structured_content=data, is_error=True)


def _text(text: str) -> types.TextContent:
    return types.TextContent(type="text", text=text)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
