"""Slack: a message per held call (Block Kit), updated in place as the call moves on.

The bot posts with ``chat.postMessage`` and keeps the message's ``channel:ts`` on the delivery, so
later events of the same call (decided, executed, expired...) ``chat.update`` that message.
Approve / Reject controls appear only where server/notify/decide_in.py allows; the decision itself
arrives at ``POST /slack/interactions`` (web/slack.py) and goes through the same code as the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from server.notify.channels import DeliveryFailed, Message
from server.notify.email import HEADLINES
from server.notify.plain import shown

# Reasons a reviewer can pick when rejecting in Slack (a rejection always has a reason).
REJECT_REASONS = (
    "Not enough evidence",
    "Amount or details are wrong",
    "Duplicate of another request",
    "Against policy",
    "Suspected fraud or spoofing",
)


def blocks_for(message: Message, *, buttons: bool) -> list[dict[str, Any]]:
    call = message.payload.get("call") or {}
    headline = HEADLINES.get(message.event_type, message.event_type)
    summary = shown(str(call.get("summary") or call.get("tool") or "a call"), limit=200)
    exposure = call.get("exposure") or {}
    amount = shown(f"{exposure.get('amount')} {exposure.get('currency') or ''}") if exposure else "–"
    fields = [
        f"*Queue*\n{shown(message.queue_label)}",
        f"*Risk*\n{shown(str(call.get('risk', '')))}",
        f"*Exposure*\n{amount}",
        f"*SLA due*\n{call.get('sla_due_at') or '–'}",
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "text": {"type": "plain_text", "text": summary}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _escape(f)} for f in fields]},
    ]
    if message.payload.get("reason") and message.event_type != "call.held":
        reason = shown(str(message.payload["reason"]))
        actor = shown(str(message.payload.get("actor") or ""))
        blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": f"{actor}: {reason}"[:3000]}]})
    actions: list[dict[str, Any]] = []
    value = json.dumps({"call": call.get("id"), "hash": call.get("args_hash")})
    if buttons:
        actions.append(
            {
                "type": "button",
                "action_id": "approve",
                "style": "primary",
                "value": value,
                "text": {"type": "plain_text", "text": "Approve"},
            }
        )
        actions.append(
            {
                "type": "static_select",
                "action_id": "reject",
                "placeholder": {"type": "plain_text", "text": "Reject…"},
                "options": [
                    {"text": {"type": "plain_text", "text": r}, "value": json.dumps({**json.loads(value), "reason": r})}
                    for r in REJECT_REASONS
                ],
            }
        )
    if message.packet_url:
        actions.append(
            {
                "type": "button",
                "action_id": "open",
                "url": message.packet_url,
                "text": {"type": "plain_text", "text": "Open in Countersign"},
            }
        )
    if actions:
        blocks.append({"type": "actions", "elements": actions})
    return blocks


def _escape(text: str) -> str:
    # mrkdwn: agent text must not become a link or a mention.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel:
    def __init__(
        self,
        token: str,
        *,
        base_url: str,
        timeout: float,
        may_decide: Callable[[Message, str], bool],
        reference_of: Callable[[Message, str], str | None],
    ) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=int(timeout))
        self.may_decide = may_decide
        self.reference_of = reference_of

    def send(self, message: Message, target: str) -> str | None:
        blocks = blocks_for(message, buttons=self.may_decide(message, target))
        summary = str((message.payload.get("call") or {}).get("summary", ""))
        text = f"{HEADLINES.get(message.event_type, message.event_type)}: {shown(summary, limit=150)}"
        try:
            earlier = self.reference_of(message, target)
            if earlier is not None:
                channel, ts = earlier.split(":", 1)
                self.client.chat_update(channel=channel, ts=ts, blocks=blocks, text=text)
                return earlier
            response = self.client.chat_postMessage(channel=target, blocks=blocks, text=text)
        except (SlackApiError, SlackClientError, OSError) as exc:
            raise DeliveryFailed(f"Slack: {type(exc).__name__}: {exc}") from exc
        return f"{response['channel']}:{response['ts']}"
