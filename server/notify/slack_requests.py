"""Requests from Slack: checking they are Slack's, and who clicked.

Slack signs every request (https://api.slack.com/authentication/verifying-requests-from-slack):
``X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:<X-Slack-Request-Timestamp>:<body>")>``.
A timestamp more than five minutes from now is refused, so a captured request cannot be replayed later.
The clicking user becomes a Countersign person only through an e-mail address Slack has confirmed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

import httpx2
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

REPLAY_WINDOW_SECONDS = 300
logger = logging.getLogger(__name__)


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def is_from_slack(secret: str, *, timestamp: str | None, signature: str | None, body: bytes, now: float) -> bool:
    """True for a request Slack signed with ``secret`` within the last five minutes."""
    if not timestamp or not signature or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(slack_signature(secret, timestamp, body), signature)


def reply(response_url: str, text: str, *, allowed_prefix: str, timeout: float = 5.0) -> bool:
    """Show ``text`` to the clicking user only (Slack ignores the body of our HTTP answer to a click).

    Only URLs under ``allowed_prefix`` (Slack's hooks host) are called; no redirects are followed.
    """
    if not response_url.startswith(allowed_prefix):
        return False
    body = {"response_type": "ephemeral", "replace_original": False, "text": text}
    try:
        with httpx2.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            return client.post(response_url, json=body).is_success
    except httpx2.HTTPError:
        logger.warning("could not answer a Slack click at its response URL")
        return False


def verified_email(client: WebClient, user_id: str) -> str | None:
    """The Slack user's e-mail address if Slack has confirmed it (``users.info``); None otherwise."""
    try:
        response = client.users_info(user=user_id)
    except (SlackApiError, SlackClientError, OSError):
        return None
    user = response.get("user") or {}
    email = (user.get("profile") or {}).get("email")
    if not user.get("is_email_confirmed") or user.get("deleted") or not isinstance(email, str):
        return None
    return email
