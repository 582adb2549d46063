"""Single sign-on in a real browser: Chromium, the app on 127.0.0.1 and the OpenID provider on another site
(``localhost``), so the SameSite rules apply as they do in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.conftest import TIMEOUT_MS, LiveServer
from tests.mcp.support import loopback_socket, serving
from tests.web.oidc_idp import CLIENT_ID, CLIENT_SECRET, Idp, running_idp
from tests.web.support import Clock, make_runtime, make_settings
from web.app import create_app

MAPPING = "rules:\n  - group: payments\n    role: reviewer\n    queues: [finance]\n"


@pytest.fixture
def sso_server(tmp_path: Path) -> Iterator[tuple[LiveServer, Idp]]:
    sock = loopback_socket()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    mapping = tmp_path / "sso.yaml"
    mapping.write_text(MAPPING)
    with running_idp(f"{url}/signin/oidc/callback", host="localhost") as idp:
        settings = make_settings(
            f"sqlite:///{tmp_path / 'countersign.db'}",
            base_url=url,
            oidc_issuer=idp.issuer,
            oidc_client_id=CLIENT_ID,
            oidc_client_secret=CLIENT_SECRET,
            oidc_mapping=mapping,
        )
        runtime = make_runtime(settings, Clock())
        try:
            with serving(create_app(settings, runtime), sock):
                yield LiveServer(url, runtime), idp
        finally:
            runtime.close()


def test_a_person_signs_in_through_the_provider_and_lands_on_the_page_they_asked_for(
    browser: Browser, sso_server: tuple[LiveServer, Idp]
) -> None:
    server, idp = sso_server
    idp.control(accounts={"u-rita": {"preferred_username": "rita", "groups": ["payments"]}}, login="u-rita")
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto("/history")
        page.wait_for_url("**/signin?next=/history")
        page.click("#sso-signin")
        page.wait_for_url(f"{server.url}/history")
        assert page.locator(".who-name").inner_text() == "rita"
        assert page.locator(".chip-role").inner_text() == "reviewer"
    finally:
        context.close()
