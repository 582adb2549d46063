"""An app with the review pages and the admin pages on a test runtime, and signed-in clients."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from server.config import Settings
from server.runtime import Runtime, build_runtime
from server.store.db import Store
from tests.admin.world import runner
from tools.contract import ToolRegistry
from web import pages
from web.admin import router as admin_router
from web.auth import SESSION_COOKIE

SECRET = "test-secret-key-that-is-long-enough-0123456789"


def make_runtime(store: Store, policy_dir: Path, registry: ToolRegistry, database_url: str) -> Runtime:
    settings = Settings(database_url=database_url, policies=policy_dir, secret_key=SECRET, base_url="http://testserver")
    return build_runtime(settings, registry=registry, office=object(), runner=runner(registry), store=store)


def pages_app(runtime: Runtime) -> FastAPI:
    """The review pages and the admin pages, as web/app.py assembles them (without MCP)."""
    app = FastAPI()
    app.state.runtime = runtime
    app.state.settings = runtime.settings
    pages.install(app, runtime)
    app.include_router(admin_router)
    return app


@dataclass
class Visitor:
    """A browser-like client, signed in as ``name`` (or anonymous), with its CSRF token."""

    client: TestClient
    csrf: str = ""

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, follow_redirects=False, **kwargs)

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs: Any) -> Any:
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.client.post(url, data=form, follow_redirects=False, **kwargs)


def visitor(app: FastAPI, runtime: Runtime, name: str | None) -> Visitor:
    client = TestClient(app, base_url="http://testserver")
    if name is None:
        return Visitor(client)
    sessions = app.state.pages.sessions
    token = sessions.start(name)
    client.cookies.set(SESSION_COOKIE, token)
    active = sessions.resume(token, touch=False)
    assert active is not None
    return Visitor(client, active.csrf_token)
