"""``POST /slack/interactions``: Approve and Reject clicked on a Slack message.

Only Slack's signed requests are read (server/notify/slack_requests.py); the user is mapped to a
person by verified e-mail; the decision goes through the review service (server/review), the same
rules as the packet page and the JSON API (queue access, no self-approval, quorum, argument-hash
binding, override reasons, compare-and-set), and its audit event records the channel ``slack``. Slack shows our
answer's ``text`` to the clicking user only.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from slack_sdk import WebClient

from server.lifecycle.actors import Person
from server.lifecycle.errors import LifecycleError
from server.notify.decide_in import slack_may_decide
from server.notify.slack_requests import is_from_slack, reply, verified_email
from server.review import Approval, Channel, Via
from server.runtime import Runtime

router = APIRouter(include_in_schema=False)


@router.post("/slack/interactions")
async def interactions(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    if not settings.slack_signing_secret or not settings.slack_bot_token:
        raise HTTPException(404, "Slack is not configured")
    body = await request.body()
    if not is_from_slack(
        settings.slack_signing_secret,
        timestamp=request.headers.get("x-slack-request-timestamp"),
        signature=request.headers.get("x-slack-signature"),
        body=body,
        now=time.time(),
    ):
        raise HTTPException(401, "not a request signed by Slack in the last five minutes")
    try:
        payload = json.loads(parse_qs(body.decode())["payload"][0])
        action = payload["actions"][0]
        user_id = str(payload["user"]["id"])
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise HTTPException(400, "not a Slack block action") from exc
    via = Via(Channel.SLACK, request.client.host if request.client else None)
    text = await anyio.to_thread.run_sync(_act, runtime, user_id, action, via)
    response_url = payload.get("response_url")
    if isinstance(response_url, str):
        prefix = settings.slack_response_url_prefix
        await anyio.to_thread.run_sync(lambda: reply(response_url, text, allowed_prefix=prefix))
    return JSONResponse({"response_type": "ephemeral", "replace_original": False, "text": text})


def _act(runtime: Runtime, user_id: str, action: dict[str, Any], via: Via) -> str:
    settings = runtime.settings
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_base_url, timeout=10)
    email = verified_email(client, user_id)
    person = runtime.people.by_email(email) if email else None
    if person is None:
        return "Your Slack account is not linked to a Countersign person (by a verified e-mail address)."
    try:
        kind = str(action["action_id"])
        raw = action["selected_option"]["value"] if kind == "reject" else action["value"]
        value = json.loads(raw)
        call_id, args_hash = str(value["call"]), str(value["hash"])
    except (KeyError, TypeError, ValueError):
        return "This button is not one of Countersign's."
    if kind not in ("approve", "reject"):
        return "Open the packet in Countersign to decide."
    return _decide(runtime, person, kind, call_id, args_hash, str(value.get("reason", "")), via)


def _decide(runtime: Runtime, person: Person, kind: str, call_id: str, args_hash: str, reason: str, via: Via) -> str:
    review = runtime.gateway.review
    call = runtime.gateway.get_call(call_id)
    if call is None:
        return "There is no such call."
    if call.status == "held":
        # Slack takes one click: a call whose policy keeps it on the page, whose approval needs an
        # override reason or an edit, or that this person may not decide, is sent to the page.
        allowed = slack_may_decide(
            runtime.policies.current(),
            queue=call.queue,
            risk=call.risk,
            summary=call.summary,
            status=call.status,
            matched_rules=[str(rule) for rule in (call.verdict or {}).get("matched_rules") or ()],
            page_only_grounds=review.proposal(call).grounds if kind == "approve" else (),
        )
        if not allowed:
            return "This call is decided on its packet page only; open it in Countersign."
        refusal = review.refusal(call, person) if kind == "approve" else None
        if refusal is not None:
            return f"Not decided: {refusal}. Open it in Countersign."
    try:
        if kind == "approve":
            outcome = review.approve(call_id, person, Approval(args_hash, reason="approved in Slack"), via=via)
            return "Approved." if outcome.approved else "Your approval is recorded; it needs another person."
        review.reject(call_id, person, reason=reason or "rejected in Slack", via=via, args_hash=args_hash)
        return "Rejected."
    except LifecycleError as exc:  # Conflict, Forbidden, InvalidDecision, CallNotFound: said as they are
        return f"Not decided: {exc}"
