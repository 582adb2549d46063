"""Deciding a call from the packet: approve, reject with a reason, edit the arguments then approve.

Every route here is a POST behind :data:`Actor` (signed in, CSRF-checked), and a thin adapter over
the review service (server/review/): it reads the form, calls the service, and renders the answer.
The service checks everything the page showed (the queue, the ``args_hash`` of the arguments shown,
override reasons, edits and their re-classification, self-approval), the same way for every surface.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from server.lifecycle.diff import argument_diff
from server.lifecycle.errors import Conflict, InvalidDecision, LifecycleError
from server.lifecycle.states import CallStatus
from server.review import Approval, Channel, Via
from server.store.models import ToolCall
from web.auth import ActiveSession
from web.pages import schema_form
from web.pages.context import PagesContext
from web.pages.deps import Actor, Pages, Viewer, render
from web.pages.packet import packet_response, visible_call
from web.render import sentence

router = APIRouter()

Text = Annotated[str, Form(max_length=5000)]


def _via(request: Request) -> Via:
    return Via(Channel.PAGE, request.client.host if request.client is not None else None)


def _decoded(arguments_json: str) -> dict[str, Any] | None:
    """The confirm page's edited arguments (JSON text); None when not edited. The service validates them."""
    if not arguments_json.strip():
        return None
    try:
        arguments = json.loads(arguments_json)
    except json.JSONDecodeError:
        raise InvalidDecision("The edited arguments are not valid JSON.") from None
    if not isinstance(arguments, dict):
        raise InvalidDecision("The edited arguments must be an object.")
    return arguments


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
        approval = Approval(args_hash, reason, override_reason, _decoded(arguments))
        outcome = pages.gateway.review.approve(call_id, session.person, approval, via=_via(request))
    except LifecycleError as exc:
        if arguments.strip() and isinstance(exc, InvalidDecision):
            return _edit_page(
                pages, request, session, call, None, error=sentence(exc.message), status_code=exc.status_code
            )
        return _refused(pages, request, session, call_id, exc, form)
    if outcome.approved and outcome.call.status == CallStatus.APPROVED:
        done = "held-by-switch"  # approved, but the kill switch keeps it from running
    else:
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
    visible_call(pages, session.person, call_id)
    text = " - ".join(part for part in (preset.strip(), reason.strip()) if part)
    try:
        # A rejection stops the call whatever its arguments; they are checked when the page sent them.
        pages.gateway.review.reject(
            call_id, session.person, reason=text, via=_via(request), args_hash=args_hash or None
        )
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
    message = sentence(exc.message)
    if isinstance(exc, Conflict) and call.status != CallStatus.HELD:
        # The service's "call <id> is already <status>" is for the API; the person sees the outcome below it.
        message = f"This call was already settled (status: {call.status}); your decision was not recorded."
    return packet_response(pages, request, session, call, error=message, status_code=exc.status_code, form=form)


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
    review = pages.gateway.review
    call = visible_call(pages, session.person, call_id)
    current = json.loads(call.arguments)
    try:
        if form.get("args_hash", "") != call.args_hash:
            raise Conflict("The call's arguments changed since you opened it (someone edited it). Review it again.")
        arguments = review.parse_arguments(call, schema_form.parse(review.schema(call.tool), form, current))
        proposal = review.proposal(call, arguments)
    except schema_form.FormError as exc:
        return _edit_page(pages, request, session, call, form, error=str(exc), status_code=422)
    except LifecycleError as exc:
        return _edit_page(pages, request, session, call, form, error=sentence(exc.message), status_code=exc.status_code)
    context = {
        "call": call,
        "changes": argument_diff(current, arguments),
        "arguments": arguments,
        "arguments_json": json.dumps(arguments, ensure_ascii=False),
        "verdict": proposal.verdict,
        "summary": proposal.summary,
        "preview": proposal.preview,
        "grounds": proposal.grounds,
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
    review = pages.gateway.review
    current = json.loads(call.arguments)
    fields = schema_form.fields(review.schema(call.tool), current)
    if form:  # keep what the reviewer typed when showing an error
        fields = [schema_form.FormField(**{**f.__dict__, "value": form.get(f.input_name, f.value)}) for f in fields]
    packet = {"call": call, "fields": fields, "error": error, "original": current, "count": None}
    may_edit = (
        call.status == CallStatus.HELD
        and session.person.may_decide
        and session.person.may_review(call.queue)
        and not review.requested_by(call, session.person)
    )
    return render(pages, request, "edit.html", {**packet, "may_edit": may_edit}, status_code=status_code)
