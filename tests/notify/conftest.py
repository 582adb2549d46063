"""Fixtures for the notification tests: a store on SQLite or PostgreSQL, a receiver, a notifier."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from server.notify.channels import Channel
from server.notify.webhook import WebhookChannel
from server.notify.worker import Notifier
from server.policy import PolicyHolder
from server.store.db import Store
from server.store.types import utcnow
from tests.notify.mailserver import Inbox, smtp_server
from tests.notify.support import SECRET, Receiver, receiver, write_policy

BACKOFF = timedelta(seconds=10)
LEASE = timedelta(seconds=60)


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with smtp_server() as state:
        yield state


@pytest.fixture
def hook() -> Iterator[Receiver]:
    with receiver() as state:
        yield state


@pytest.fixture
def policies(tmp_path: Path, hook: Receiver) -> PolicyHolder:
    return PolicyHolder(write_policy(tmp_path / "policies", webhook=hook.url))


def channels() -> dict[str, Channel]:
    # Signed with the wall clock: the receiver checks the timestamp against its own.
    return {"webhook": WebhookChannel(SECRET, timeout=5.0, clock=utcnow)}


def make_notifier(store: Store, policies: PolicyHolder, *, max_attempts: int = 3) -> Notifier:
    return Notifier(
        store,
        policies,
        channels(),
        base_url="https://countersign.example",
        max_attempts=max_attempts,
        backoff=BACKOFF,
        lease=LEASE,
    )


@pytest.fixture
def notifier(store: Store, policies: PolicyHolder) -> Notifier:
    return make_notifier(store, policies)
