"""Fixtures for the JSON API: a seeded runtime, its app, and tokens for people and an agent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from server.config import Settings
from server.lifecycle.records import NewCall
from server.runtime import Runtime
from server.store.models import ToolCall
from tests.mcp.support import BASE_URL, make_runtime, make_settings, refund
from web.app import create_app


@dataclass(frozen=True)
class Tokens:
    fiona: str  # reviewer, finance queue
    sam: str  # reviewer, support queue
    ada: str  # admin
    agent: str  # agent-a


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    runtime = make_runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def tokens(runtime: Runtime) -> Tokens:
    people = runtime.people
    people.create_user("fiona", "reviewer", queues=["finance"])
    people.create_user("sam", "reviewer", queues=["support"])
    people.create_user("ada", "admin")
    return Tokens(
        fiona=people.create_person_token("fiona"),
        sam=people.create_person_token("sam"),
        ada=people.create_person_token("ada"),
        agent=people.create_agent_token("agent-a"),
    )


@pytest.fixture
def app(settings: Settings, runtime: Runtime) -> FastAPI:
    return create_app(settings, runtime)


@asynccontextmanager
async def api(app: FastAPI, token: str | None = None) -> AsyncIterator[httpx2.AsyncClient]:
    """An HTTP client on the app in this process (lifespan running); opened inside the test body."""
    headers = auth(token) if token else {}
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL, headers=headers) as client,
    ):
        yield client


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def seen(call: ToolCall | dict[str, Any], **body: Any) -> dict[str, Any]:
    """An approval body naming the arguments the approver saw, with an override reason (the refund's
    preview warns, so the review rules ask for one)."""
    args_hash = call["args_hash"] if isinstance(call, dict) else call.args_hash
    return {"args_hash": args_hash, "override_reason": "checked the preview's warning", **body}


def held(runtime: Runtime, amount: float = 400.0, *, on_behalf_of: str | None = None) -> ToolCall:
    """A held refund (finance queue), submitted straight to the gateway."""
    call = runtime.gateway.submit(
        NewCall(tool="issue_refund", arguments=refund(amount), agent="agent-a", on_behalf_of=on_behalf_of)
    ).call
    assert call.status == "held"
    return call
