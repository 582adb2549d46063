"""A real server (uvicorn on a free port, SQLite, seeded demo) and a real Chromium driven by Playwright.

The browser is Debian's ``/usr/bin/chromium`` (CI installs it); without it every test here is
skipped with that reason. Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from server.runtime import Runtime
from tests.conftest import REPO
from tests.mcp.support import loopback_socket, serving
from tests.web.support import Clock, make_runtime, make_settings, password
from web.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.nodeid:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install -y chromium)"))


@dataclass
class LiveServer:
    url: str
    runtime: Runtime


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    sock = loopback_socket()  # bound first: the settings need the URL before the app exists
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(f"sqlite:///{tmp_path / 'countersign.db'}", base_url=url)
    runtime = make_runtime(settings, Clock())
    try:
        with serving(create_app(settings, runtime), sock):
            yield LiveServer(url, runtime)
    finally:
        runtime.close()


# Module scope, not session: sync Playwright runs an event loop in this thread while it lives, which
# would break the async tests collected after this package.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture
def open_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[str], Page]]:
    """Opens a fresh browser context (its own cookies) signed in as a person; closed after the test."""
    contexts: list[BrowserContext] = []

    def open_as(name: str) -> Page:
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto("/signin")
        page.fill("input[name=name]", name)
        page.fill("input[name=password]", password(name))
        page.click("button[type=submit]")
        page.wait_for_url("**/queue")
        return page

    yield open_as
    for context in contexts:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
