"""The channels and the worker, built from Settings (the environment)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from server.config import Settings
from server.notify.channels import Channel, Message, Unconfigured
from server.notify.decide_in import slack_may_decide
from server.notify.email import EmailChannel, SmtpSettings
from server.notify.slack import SlackChannel
from server.notify.webhook import WebhookChannel
from server.notify.worker import Notifier, reference_of
from server.policy import PolicyHolder
from server.store.db import Store

# A held call's id -> why approving it needs the packet page (the review service's override grounds).
PageOnly = Callable[[str], Sequence[str]]


def channels_from(
    settings: Settings, store: Store, policies: PolicyHolder, page_only: PageOnly | None = None
) -> dict[str, Channel]:
    channels: dict[str, Channel] = {
        "webhook": Unconfigured("COUNTERSIGN_WEBHOOK_SECRET"),
        "email": Unconfigured("COUNTERSIGN_SMTP_URL"),
        "slack": Unconfigured("COUNTERSIGN_SLACK_BOT_TOKEN"),
    }
    if settings.webhook_secret:
        channels["webhook"] = WebhookChannel(
            settings.webhook_secret, timeout=settings.notify_timeout_seconds, clock=store.now
        )
    if settings.smtp_url:
        channels["email"] = EmailChannel(
            SmtpSettings.from_url(settings.smtp_url), sender=settings.smtp_from, timeout=settings.notify_timeout_seconds
        )
    if settings.slack_bot_token:
        channels["slack"] = slack_channel(settings, store, policies, page_only)
    return channels


def slack_channel(
    settings: Settings, store: Store, policies: PolicyHolder, page_only: PageOnly | None = None
) -> SlackChannel:
    assert settings.slack_bot_token is not None

    def may_decide(message: Message, channel: str) -> bool:
        call = message.payload.get("call") or {}
        status = str(call.get("status", ""))
        grounds = page_only(str(call.get("id", ""))) if page_only is not None and status == "held" else ()
        return slack_may_decide(
            policies.current(),
            queue=message.queue,
            channel=channel,
            risk=str(call.get("risk", "")),
            summary=str(call.get("summary", "")),
            status=status,
            matched_rules=[str(rule) for rule in call.get("matched_rules") or ()],
            page_only_grounds=grounds,
        )

    return SlackChannel(
        settings.slack_bot_token,
        base_url=settings.slack_base_url,
        timeout=settings.notify_timeout_seconds,
        may_decide=may_decide,
        reference_of=lambda message, target: reference_of(store, message, "slack", target),
    )


def notifier_from(
    settings: Settings, store: Store, policies: PolicyHolder, page_only: PageOnly | None = None
) -> Notifier:
    return Notifier(
        store,
        policies,
        channels_from(settings, store, policies, page_only),
        base_url=settings.base_url,
        max_attempts=settings.notify_max_attempts,
        backoff=timedelta(seconds=settings.notify_backoff_seconds),
        # Longer than any send may take, so a live worker's claim never lapses mid-send.
        lease=timedelta(seconds=max(60.0, settings.notify_timeout_seconds * 4)),
    )
