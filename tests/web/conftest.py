"""Fixtures for the review pages: a seeded runtime with people, and the app behind a TestClient."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from server.config import Settings
from server.runtime import Runtime
from tests.web.support import Clock, make_runtime, make_settings
from web.app import create_app


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def runtime(settings: Settings, clock: Clock) -> Iterator[Runtime]:
    runtime = make_runtime(settings, clock)
    yield runtime
    runtime.close()


@pytest.fixture
def new_client(settings: Settings, runtime: Runtime) -> Iterator[Callable[[], TestClient]]:
    """Makes browsers (independent cookie jars) on one app. The first runs the app's lifespan (MCP, sweeper)."""
    app = create_app(settings, runtime)
    clients: list[TestClient] = []

    def make() -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        if not clients:
            client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients[1:]):
        client.close()
    if clients:
        clients[0].__exit__(None, None, None)


@pytest.fixture
def client(new_client: Callable[[], TestClient]) -> TestClient:
    return new_client()
