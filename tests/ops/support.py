"""Shared helpers for the operations tests: an HTTP client on an app, and a write lock held from outside."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx2
import sqlalchemy as sa
from fastapi import FastAPI

from server.store.engine import make_engine
from tests.mcp.support import BASE_URL


@asynccontextmanager
async def client(app: FastAPI, **headers: str) -> AsyncIterator[httpx2.AsyncClient]:
    """An HTTP client on the app in this process, its lifespan running."""
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url=BASE_URL, headers=headers) as http,
    ):
        yield http


@contextmanager
def external_write_lock(database_url: str) -> Iterator[None]:
    """Another connection holding the write lock: ``BEGIN IMMEDIATE`` on SQLite; on PostgreSQL an EXCLUSIVE
    lock on the calls table (what a long migration or a stuck batch job holds), which blocks every write to it."""
    engine = make_engine(database_url)
    conn: Any = engine.connect()
    try:
        conn.begin()  # SQLite: BEGIN IMMEDIATE (server/store/engine.py), the database's write lock
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("LOCK TABLE tool_call IN EXCLUSIVE MODE"))
        else:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = version_num"))
        yield
    finally:
        conn.rollback()
        conn.close()
        engine.dispose()
