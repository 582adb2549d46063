"""Fixtures for the admins' side: a store on a real database, a policy and a gateway on a test clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from server.gateway import Gateway
from server.runtime import Runtime
from server.store.db import Store
from tests.admin.web import Visitor, make_runtime, pages_app, visitor
from tests.admin.world import Clock, make_gateway, make_registry, write_policy


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    return write_policy(tmp_path / "policies")


@pytest.fixture
def gateway(store: Store, policy_dir: Path) -> Iterator[Gateway]:
    gateway = make_gateway(store, policy_dir)
    yield gateway
    gateway.close()


@pytest.fixture
def runtime(store: Store, policy_dir: Path, database_url: str) -> Iterator[Runtime]:
    runtime = make_runtime(store, policy_dir, make_registry(), database_url)
    runtime.people.create_user("ada", "admin")
    runtime.people.create_user("rita", "reviewer")
    yield runtime
    runtime.gateway.close()


@pytest.fixture
def app(runtime: Runtime) -> FastAPI:
    return pages_app(runtime)


@pytest.fixture
def admin(app: FastAPI, runtime: Runtime) -> Visitor:
    return visitor(app, runtime, "ada")


@pytest.fixture
def reviewer(app: FastAPI, runtime: Runtime) -> Visitor:
    return visitor(app, runtime, "rita")


@pytest.fixture
def anonymous(app: FastAPI, runtime: Runtime) -> Visitor:
    return visitor(app, runtime, None)
