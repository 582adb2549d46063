"""Deciding a call from the packet: approve, reject with a reason, edit the arguments then approve.

Every route here is a POST behind :data:`Actor` (signed in, CSRF-checked). The server re-checks
everything the page showed: that the viewer reviews the call's queue, that the arguments are still
the ones the page showed (``args_hash``, so nobody approves something they did not see), and whether
an override reason is needed (web/pages/override.py). The core then refuses self-approval, a second
approval by the same person, and any decision on a call that is no longer held.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from server.lifecycle.diff import argument_diff
from server.lifecycle.errors import Conflict, InvalidDecision, LifecycleError
from server.policy.types import Justification
from server.store.models import ToolCall
from web.auth import ActiveSession
from web.pages import schema_form
from web.pages.context import PagesContext
from web.pages.deps import Actor, Pages, Viewer, render
from web.pages.dossier import hidden_in, preview_of, tool_schema
from web.pages.override import override_grounds
from web.pages.packet import packet_response, visible_call

router = APIRouter()

Text = Annotated[str, Form(max_length=5000)]


def _stale(call: ToolCall, args_hash: str) -> None:
    if args_hash != call.args_hash:
        raise Conflict("The call's arguments changed since you opened it (someone edited it). Review it again.")


def _edited(pages: PagesContext, call: ToolCall, arguments_json: str) -> dict[str, Any] | None:
    """The edited arguments posted by the confirm page, validated by the tool; None when not edited."""
    if not arguments_json.strip():
        return None
    try:
        arguments = json.loads(arguments_json)
    except json.JSONDecodeError:
        raise InvalidDecision("The edited arguments are not valid JSON.") from None
    if not isinstance(arguments, dict):
        raise InvalidDecision("The edited arguments must be an object.")
    return _validated(pages, call, arguments)


def _validated(pages: PagesContext, call: ToolCall, arguments: dict[str, Any]) -> dict[str, Any]:
    spec = pages.gateway.registry.get(call.tool)
    if spec is None and tool_schema(pages.gateway, call.tool):
        return arguments  # an upstream tool: the gateway checks edits against its server's schema
    if spec is None:
        raise InvalidDecision(f"The tool {call.tool!r} is no longer known; this call cannot be edited.")
    try:
        return spec.parse(arguments)
    except ValueError as exc:  # the tool's ToolInputError names the field
        raise InvalidDecision(f"The edited arguments are not valid: {exc}") from None


def _grounds(pages: PagesContext, call: ToolCall, arguments: dict[str, Any] | None) -> list[str]:
    """Why approving these arguments needs an override reason (computed here, never taken from the form)."""
    if arguments is None:
        current = json.loads(call.arguments)
        risk = call.risk
    else:
        current = arguments
        risk = _verdict_for(pages, call, arguments).risk.value
    warnings = preview_of(pages.gateway, pages.office, call.tool, current).warnings
    hidden = [path for path, _ in hidden_in(call, current)]
    return override_grounds(risk=risk, warnings=warnings, hidden=hidden)


def _verdict_for(pages: PagesContext, call: ToolCall, arguments: dict[str, Any]) -> Any:
    justification = Justification.model_validate(call.justification or {})
    return pages.gateway.classify(call.tool, arguments, agent=call.agent, justification=justification)


@router.post("/calls/{call_id}/approve")
def approve(
    call_id: str,
    request: Request,
    pages: Pages,
    session: Actor,
    args_hash: Annotated[str, Form(max_length=64)] = "",
    reason: Text = "",
    override_reason: Text = "",
    arguments: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    call = visible_call(pages, session.person, call_id)
    form = {"reason": reason, "override_reason": override_reason}
    try:
        _stale(call, args_hash)
        edited = _edited(pages, call, arguments)
        grounds = _grounds(pages, call, edited)
        if grounds and not override_reason.strip():
            raise InvalidDecision(
                "Approving this call goes against the policy's recommendation ("
                + "; ".join(grounds)
                + "). Write an override reason to approve it anyway."
            )
        outcome = pages.gateway.approve(
            call_id,
            session.person,
            reason=reason.strip() or None,
            override_reason=override_reason.strip() or None,
            arguments=edited,
            expected_args_hash=args_hash or None,  # checked again under the row lock
        )
    except LifecycleError as exc:
        if arguments.strip() and isinstance(exc, InvalidDecision):
            return _edit_page(pages, request, session, call, None, error=exc.message, status_code=exc.status_code)
        return _refused(pages, request, session, call_id, exc, form)
    done = "approved" if outcome.approved else "recorded"
    return RedirectResponse(f"/calls/{call_id}?done={done}", status_code=303)


@router.post("/calls/{call_id}/reject")
def reject(
    call_id: str,
    request: Request,
    pages: Pages,
    session: Actor,
    args_hash: Annotated[str, Form(max_length=64)] = "",
    preset: Annotated[str, Form(max_length=200)] = "",
    reason: Text = "",
) -> Response:
    call = visible_call(pages, session.person, call_id)
    text = " - ".join(part for part in (preset.strip(), reason.strip()) if part)
    try:
        if args_hash:  # a rejection stops the call whatever its arguments; check them when the page sent them
            _stale(call, args_hash)
        pages.gateway.reject(call_id, session.person, reason=text)
    except LifecycleError as exc:
        return _refused(pages, request, session, call_id, exc, {"reject_reason": reason, "preset": preset})
    return RedirectResponse(f"/calls/{call_id}?done=rejected", status_code=303)


def _refused(
    pages: PagesContext,
    request: Request,
    session: ActiveSession,
    call_id: str,
    exc: LifecycleError,
    form: dict[str, Any],
) -> Response:
    call = visible_call(pages, session.person, call_id)  # reload: the refusal may mean it changed
    return packet_response(pages, request, session, call, error=exc.message, status_code=exc.status_code, form=form)


# --- edit, then approve ----------------------------------------------------------------------------


@router.get("/calls/{call_id}/edit")
def edit_page(call_id: str, request: Request, pages: Pages, session: Viewer) -> Response:
    call = visible_call(pages, session.person, call_id)
    return _edit_page(pages, request, session, call, None)


@router.post("/calls/{call_id}/edit")
async def edit_preview(call_id: str, request: Request, pages: Pages, session: Actor) -> Response:
    """Read the edited form and show the change as a diff with the new verdict, before confirming."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    response: Response = await anyio.to_thread.run_sync(edit_confirm_page, pages, request, session, call_id, form)
    return response


def edit_confirm_page(
    pages: PagesContext, request: Request, session: ActiveSession, call_id: str, form: dict[str, str]
) -> Response:
    call = visible_call(pages, session.person, call_id)
    schema = tool_schema(pages.gateway, call.tool)
    current = json.loads(call.arguments)
    try:
        _stale(call, form.get("args_hash", ""))
        arguments = _validated(pages, call, schema_form.parse(schema, form, current))
    except schema_form.FormError as exc:
        return _edit_page(pages, request, session, call, form, error=str(exc), status_code=422)
    except LifecycleError as exc:
        return _edit_page(pages, request, session, call, form, error=exc.message, status_code=exc.status_code)
    changes = argument_diff(current, arguments)
    verdict = _verdict_for(pages, call, arguments)
    preview = preview_of(pages.gateway, pages.office, call.tool, arguments)
    context = {
        "call": call,
        "changes": changes,
        "arguments": arguments,
        "arguments_json": json.dumps(arguments, ensure_ascii=False),
        "verdict": verdict,
        "preview": preview,
        "grounds": override_grounds(
            risk=verdict.risk.value, warnings=preview.warnings, hidden=[p for p, _ in hidden_in(call, arguments)]
        ),
        "count": None,
    }
    return render(pages, request, "edit_confirm.html", context)


def _edit_page(
    pages: PagesContext,
    request: Request,
    session: ActiveSession,
    call: ToolCall,
    form: dict[str, str] | None,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    schema = tool_schema(pages.gateway, call.tool)
    current = json.loads(call.arguments)
    fields = schema_form.fields(schema, current)
    if form:  # keep what the reviewer typed when showing an error
        fields = [schema_form.FormField(**{**f.__dict__, "value": form.get(f.input_name, f.value)}) for f in fields]
    packet = {"call": call, "fields": fields, "error": error, "original": current, "count": None}
    may_edit = (
        call.status == "held" and session.person.may_review(call.queue) and call.on_behalf_of != session.person.name
    )
    return render(pages, request, "edit.html", {**packet, "may_edit": may_edit}, status_code=status_code)
