"""The JSON decision API under ``/api``: list and read calls, approve and reject them.

Who may call it: a person, identified by :func:`current_person`. That dependency first takes
``request.state.person`` (set by another authentication source, e.g. a signed-in session that has
already passed its CSRF check), then a person's bearer token (``countersign token create``). Agent
tokens are refused with 403 on every route: agent credentials never reach a decision.

Deciding goes through the review service (server/review/), the same rules as the review page:
an approval names the ``args_hash`` it saw (``GET /api/calls/{id}`` returns it), needs an
``override_reason`` where the page asks for one (``override_grounds`` in the call's detail), and
edits are validated and re-classified there. This module only translates.

Errors: 401 no credentials, 403 not allowed (agent token, self-approval, wrong queue), 404 unknown
call, 409 already decided or expired, or edited since the ``args_hash`` you sent, 422 invalid body,
reject without reason, invalid edit, missing override reason, 503 database unavailable (when it
failed after a commit, e.g. the approval is stored but the call could not start, the message says
what is stored). The review
service blocks, so each call to it runs in a worker thread.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from server.health import healthy
from server.lifecycle.actors import Person
from server.lifecycle.decisions import decisions_for
from server.lifecycle.errors import LifecycleError
from server.lifecycle.states import CallStatus
from server.mcp.outcomes import review_url
from server.people import Principal
from server.review import Approval, Channel, Via
from server.runtime import Runtime
from server.store.db import StoreUnavailable
from server.store.models import Decision, ToolCall
from web.mcp_http import bearer_token

logger = logging.getLogger(__name__)

T = TypeVar("T")
UNAVAILABLE = (
    "the database is unavailable and the request was not completed; read the call (GET /api/calls/{id}) "
    "to see its state before trying again"
)


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def current_principal(request: Request, runtime: RuntimeDep) -> Principal | None:
    """Who is calling: a person set by another auth source, else the bearer token's principal."""
    person = getattr(request.state, "person", None)
    if isinstance(person, Person):
        return Principal("person", person.name, person)
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return None
    return await _blocking(runtime.people.authenticate_token, token)


async def current_person(principal: Annotated[Principal | None, Depends(current_principal)]) -> Person:
    if principal is None:
        raise HTTPException(401, "a person's bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    if principal.person is None:
        raise HTTPException(403, "agent credentials can never see or decide calls")
    return principal.person


PersonDep = Annotated[Person, Depends(current_person)]


# --- bodies and views ---------------------------------------------------------------------------


class ApproveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=5000)
    override_reason: str | None = Field(default=None, max_length=5000, description="Why approve against the policy.")
    arguments: dict[str, Any] | None = Field(default=None, description="Edited arguments: approve these instead.")
    args_hash: str = Field(
        min_length=1,
        max_length=64,
        description="The args_hash of the call as you reviewed it (GET /api/calls/{id}); 409 if it was edited since.",
    )


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=5000)


class DecisionView(BaseModel):
    actor: str
    kind: str
    reason: str | None
    override_reason: str | None
    diff: list[dict[str, Any]] | None
    created_at: datetime


class CallSummary(BaseModel):
    id: str
    tool: str
    agent: str
    on_behalf_of: str | None
    # Whether on_behalf_of names a known person (None when it is not set).
    on_behalf_of_known: bool | None = None
    # The person the agent's token is bound to (`agent add --for`); never an approver of this call.
    bound_person: str | None = None
    summary: str
    status: str
    queue: str
    risk: str
    priority: float
    exposure_amount: float | None
    exposure_currency: str | None
    customer: str | None
    approvals: int
    required_approvals: int
    created_at: datetime
    sla_due_at: datetime | None
    expires_at: datetime | None
    review_url: str


class CallDetail(CallSummary):
    proposed_arguments: dict[str, Any]
    arguments: dict[str, Any]
    # Send this back when approving: it binds your approval to these arguments.
    args_hash: str
    # Why approving needs an override_reason (empty: it does not).
    override_grounds: list[str]
    # Set while the kill switch stops this call's tool: an approval is recorded, the call runs when it is off.
    kill_switch: str | None = None
    justification: dict[str, Any] | None
    verdict: dict[str, Any] | None
    result: Any
    is_error: bool
    error: str | None
    decided_at: datetime | None
    finished_at: datetime | None
    decisions: list[DecisionView]
    preview: dict[str, Any] | None


class DecisionResult(BaseModel):
    call: CallDetail
    # True once the quorum was reached by this decision (the call then ran, see call.status).
    approved: bool
    approvals: int
    required: int
    diff: list[dict[str, Any]] | None = None


class Health(BaseModel):
    status: str
    policy_version: str | None = None
    # Each configured upstream MCP server: "up", "down" or "connecting" (a down upstream does not make us unhealthy).
    upstreams: dict[str, str] = {}


# --- routes ---------------------------------------------------------------------------------------

router = APIRouter(prefix="/api", tags=["calls"])
health_router = APIRouter(tags=["health"])


@router.get("/calls", response_model=list[CallSummary])
async def list_calls(
    person: PersonDep,
    runtime: RuntimeDep,
    status: Annotated[str | None, Query(description="One status, or several separated by commas.")] = None,
    queue: str | None = None,
    tool: str | None = None,
    agent: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[CallSummary]:
    statuses = _statuses(status)
    if queue is not None and not person.may_review(queue):
        raise HTTPException(403, f"you do not review the {queue!r} queue")
    # Restricted in the query, so a reviewer of some queues still gets up to `limit` of their calls.
    calls = await _blocking(
        lambda: runtime.gateway.list_calls(
            statuses=statuses, queue=queue, tool=tool, agent=agent, limit=limit, queues=person.review_scope
        )
    )
    base = runtime.settings.base_url
    return [_summary(call, base) for call in calls if person.may_review(call.queue)]


@router.get("/calls/{call_id}", response_model=CallDetail)
async def get_call(call_id: str, person: PersonDep, runtime: RuntimeDep) -> CallDetail:
    call = await _visible_call(runtime, person, call_id)
    return await _detail(runtime, call)


@router.post("/calls/{call_id}/approve", response_model=DecisionResult)
async def approve(
    call_id: str, body: ApproveBody, request: Request, person: PersonDep, runtime: RuntimeDep
) -> DecisionResult:
    approval = Approval(body.args_hash, body.reason, body.override_reason, body.arguments)
    outcome = await _blocking(lambda: runtime.gateway.review.approve(call_id, person, approval, via=_via(request)))
    return DecisionResult(
        call=await _detail(runtime, outcome.call),
        approved=outcome.approved,
        approvals=outcome.approvals,
        required=outcome.required,
        diff=outcome.diff,
    )


@router.post("/calls/{call_id}/reject", response_model=DecisionResult)
async def reject(
    call_id: str, body: RejectBody, request: Request, person: PersonDep, runtime: RuntimeDep
) -> DecisionResult:
    call = await _blocking(
        lambda: runtime.gateway.review.reject(call_id, person, reason=body.reason, via=_via(request))
    )
    return DecisionResult(
        call=await _detail(runtime, call), approved=False, approvals=call.approvals, required=call.required_approvals
    )


@health_router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(runtime: RuntimeDep) -> Any:
    """200 when a write commits within the deadline and allowed calls are being recorded (else every call
    is refused); 503 otherwise. Also says which policy version is in force."""

    def check() -> tuple[bool, str | None]:
        policy = runtime.policies.current()  # may stat the policy directory
        alive = healthy(runtime)  # the journal writes and a write commits within the deadline (server/health.py)
        return alive, policy.version if policy is not None else None

    alive, version = await anyio.to_thread.run_sync(check)
    hub = runtime.hub
    upstreams = {name: state["state"] for name, state in hub.status().items()} if hub is not None else {}
    if not alive:
        body = {"status": "unavailable", "policy_version": version, "upstreams": upstreams}
        return JSONResponse(body, status_code=503)
    return Health(status="ok", policy_version=version, upstreams=upstreams)


# --- helpers --------------------------------------------------------------------------------------


async def _blocking(func: Callable[[], T] | Callable[[str], T], *args: Any) -> T:
    """Run a blocking gateway call in a worker thread, mapping its refusals to HTTP errors."""
    try:
        return await anyio.to_thread.run_sync(func, *args)
    except LifecycleError as exc:
        raise HTTPException(exc.status_code, exc.message) from exc
    except StoreUnavailable as exc:
        logger.warning("database unavailable", exc_info=True)
        # Not "nothing was changed": a commit whose answer was lost cannot be told from one that never ran.
        raise HTTPException(503, UNAVAILABLE) from exc


def _statuses(status: str | None) -> list[str] | None:
    if not status:
        return None
    values = [s.strip() for s in status.split(",") if s.strip()]
    unknown = [s for s in values if s not in CallStatus.__members__.values()]
    if unknown:
        raise HTTPException(422, f"unknown status {unknown[0]!r}; use one of {', '.join(s.value for s in CallStatus)}")
    return values


async def _visible_call(runtime: Runtime, person: Person, call_id: str) -> ToolCall:
    return await _blocking(lambda: runtime.gateway.review.visible_call(person, call_id))


def _via(request: Request) -> Via:
    return Via(Channel.API, request.client.host if request.client is not None else None)


def _summary(call: ToolCall, base_url: str, known: bool | None = None) -> CallSummary:
    return CallSummary(
        id=call.id,
        tool=call.tool,
        agent=call.agent,
        on_behalf_of=call.on_behalf_of,
        on_behalf_of_known=known,
        bound_person=call.bound_person,
        summary=call.summary,
        status=call.status,
        queue=call.queue,
        risk=call.risk,
        priority=call.priority,
        exposure_amount=call.exposure_amount,
        exposure_currency=call.exposure_currency,
        customer=call.customer,
        approvals=call.approvals,
        required_approvals=call.required_approvals,
        created_at=call.created_at,
        sla_due_at=call.sla_due_at,
        expires_at=call.expires_at,
        review_url=review_url(base_url, call.id),
    )


async def _detail(runtime: Runtime, call: ToolCall) -> CallDetail:
    review = runtime.gateway.review
    decisions = await _blocking(lambda: decisions_for(runtime.store, call.id))
    proposal = await _blocking(lambda: review.proposal(call))
    known = await _blocking(lambda: runtime.people.is_known(call.on_behalf_of)) if call.on_behalf_of else None
    stopped = await _blocking(lambda: review.kill_switch(call))
    return CallDetail(
        **_summary(call, runtime.settings.base_url, known).model_dump(),
        proposed_arguments=json.loads(call.proposed_arguments),
        arguments=json.loads(call.arguments),
        args_hash=call.args_hash,
        override_grounds=proposal.grounds if call.status == CallStatus.HELD else [],
        kill_switch=stopped if call.status in (CallStatus.HELD, CallStatus.APPROVED) else None,
        justification=call.justification,
        verdict=call.verdict,
        result=call.result,
        is_error=call.is_error,
        error=call.error,
        decided_at=call.decided_at,
        finished_at=call.finished_at,
        decisions=[_decision(d) for d in decisions],
        preview=proposal.preview.as_dict(),
    )


def _decision(decision: Decision) -> DecisionView:
    return DecisionView(
        actor=decision.actor,
        kind=decision.kind,
        reason=decision.reason,
        override_reason=decision.override_reason,
        diff=decision.diff,
        created_at=decision.created_at,
    )
