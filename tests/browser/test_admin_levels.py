"""Admin pages in a real browser: a tool's level changed on the page governs the next MCP call over HTTP.

Uses this package's live server and signed-in pages (conftest.py); the agent is the MCP SDK's client
speaking streamable HTTP to the same server with an agent bearer token.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import anyio
from playwright.sync_api import Page

from tests.browser.conftest import LiveServer, screenshot
from tests.mcp.support import http_agent
from tools.backoffice import ids


def _lookup(url: str, token: str) -> Any:
    """One tools/call over HTTP, run on its own event loop: sync Playwright owns this thread's loop."""
    outcome: list[Any] = []

    async def call() -> None:
        async with http_agent(f"{url}/mcp", token) as client:
            outcome.append(await client.call_tool("get_customer", {"customer_id": ids.REFUND_CUSTOMER_ID}))

    worker = threading.Thread(target=anyio.run, args=(call,))
    worker.start()
    worker.join(timeout=60)
    assert outcome, "the MCP call did not finish"
    return outcome[0]


def test_admin_blocks_a_tool_on_its_page_and_the_next_mcp_call_is_blocked(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    token = live_server.runtime.people.create_agent_token("agent-a")
    assert _lookup(live_server.url, token).is_error is False

    page = open_page("ada")
    page.goto("/admin/tools/get_customer")
    page.select_option("[data-testid=risk-get_customer]", "high")
    page.select_option("[data-testid=action-get_customer]", "block")
    page.fill("[data-testid=reason-get_customer]", "customer data review")
    page.click("form.level-form button[type=submit]")
    page.wait_for_url("**/admin/tools/get_customer?saved=level")
    history = page.inner_text("#level-history")
    assert "ada" in history and "customer data review" in history
    screenshot(page, "admin-tool-level")

    after = _lookup(live_server.url, token)
    assert after.is_error is True
    data = after.structured_content or {}
    assert data["status"] == "blocked" and data["do_not_retry"] is True
    assert "customer data review" in str(data)


def test_a_reviewer_is_refused_the_admin_pages(open_page: Callable[[str], Page], live_server: LiveServer) -> None:
    page = open_page("alice")
    response = page.goto("/admin/tools")
    assert response is not None and response.status == 403
    assert "for admins" in page.inner_text("main")
