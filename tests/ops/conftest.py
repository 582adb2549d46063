"""Fixtures for the operations tests: settings on a fresh database and a runtime.

The write deadline is generous here (a loaded test machine can take over a second to fsync); the tests
of a locked database set a short one themselves.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.config import Settings
from server.runtime import Runtime
from tests.mcp.support import make_runtime, make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, health_write_deadline_seconds=10.0, journal_writer="thread")


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = make_runtime(settings)
    yield runtime
    runtime.close()
