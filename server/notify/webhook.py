"""Webhooks: the event as JSON, signed like Stripe and Slack sign theirs.

    Countersign-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
    Countersign-Event-Id: <stable event id>     (the same on every redelivery: drop duplicates by it)

Receivers check the HMAC over the exact body bytes and refuse timestamps older than five minutes
(README.md has a verification example). We never follow redirects, only speak http(s), and give up
on a slow receiver after the configured timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime

import httpx2

from server.notify.channels import DeliveryFailed, Message

SIGNATURE_HEADER = "Countersign-Signature"
EVENT_ID_HEADER = "Countersign-Event-Id"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Countersign-Signature`` header value for ``body`` sent at ``timestamp``."""
    signed = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


class WebhookChannel:
    def __init__(self, secret: str, *, timeout: float, clock: Callable[[], datetime]) -> None:
        self.secret = secret
        self.timeout = timeout
        self.clock = clock

    def send(self, message: Message, target: str) -> str | None:
        if not target.startswith(("https://", "http://")):
            raise DeliveryFailed("only http(s) webhooks are sent")
        body = json.dumps(message.as_json(), separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Countersign-Webhook/1",
            SIGNATURE_HEADER: signature(self.secret, int(self.clock().timestamp()), body),
            EVENT_ID_HEADER: message.event_id,
        }
        try:
            with httpx2.Client(timeout=self.timeout, follow_redirects=False, trust_env=False) as client:
                response = client.post(target, content=body, headers=headers)
        except httpx2.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"the receiver answered HTTP {response.status_code}")
        return None
