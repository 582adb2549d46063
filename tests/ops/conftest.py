"""Fixtures for the operations tests: settings on a fresh database (a short write deadline) and a runtime."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.config import Settings
from server.runtime import Runtime
from tests.mcp.support import make_runtime, make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, health_write_deadline_seconds=1.0, journal_writer="thread")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = make_runtime(settings)
    yield runtime
    runtime.close()
