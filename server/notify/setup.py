"""The channels and the worker, built from Settings (the environment)."""

from __future__ import annotations

from datetime import timedelta

from server.config import Settings
from server.notify.channels import Channel, Unconfigured
from server.notify.email import EmailChannel, SmtpSettings
from server.notify.webhook import WebhookChannel
from server.notify.worker import Notifier
from server.policy import PolicyHolder
from server.store.db import Store


def channels_from(settings: Settings, store: Store) -> dict[str, Channel]:
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
    return channels


def notifier_from(settings: Settings, store: Store, policies: PolicyHolder) -> Notifier:
    return Notifier(
        store,
        policies,
        channels_from(settings, store),
        base_url=settings.base_url,
        max_attempts=settings.notify_max_attempts,
        backoff=timedelta(seconds=settings.notify_backoff_seconds),
        # Longer than any send may take, so a live worker's claim never lapses mid-send.
        lease=timedelta(seconds=max(60.0, settings.notify_timeout_seconds * 4)),
    )
