"""Security headers on every response: pages, static files, API, MCP, health, redirects, refusals, errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from server.runtime import Runtime
from tests.web.support import hold_refund, sign_in

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}
CSP_PARTS = (
    "default-src 'self'",
    "script-src ",
    "style-src 'self'",
    "object-src 'none'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is checked here does not depend on the database."""
    return f"sqlite:///{tmp_path / 'countersign.db'}"


def assert_secure_headers(response: httpx2.Response) -> None:
    headers = response.headers
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, (name, headers)
    assert headers.get("referrer-policy") in ("no-referrer", "same-origin")
    csp = headers.get("content-security-policy", "")
    for part in CSP_PARTS:
        assert part in csp, (part, csp)
    assert "unsafe-inline" not in csp


ANONYMOUS_ROUTES = [
    ("GET", "/"),
    ("GET", "/signin"),
    ("GET", "/queue"),
    ("GET", "/queue/rows"),
    ("GET", "/events"),
    ("GET", "/history"),
    ("GET", "/calls/nope"),
    ("GET", "/static/app.css"),
    ("GET", "/static/app.js"),
    ("GET", "/static/missing.js"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/api/calls"),
    ("POST", "/api/calls/nope/approve"),
    ("GET", "/mcp"),
    ("POST", "/mcp"),
    ("GET", "/no-such-page"),
    ("POST", "/calls/nope/approve"),
    ("POST", "/signout"),
    ("POST", "/signin"),
]


@pytest.mark.parametrize(("method", "path"), ANONYMOUS_ROUTES)
def test_every_route_sends_the_security_headers(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, follow_redirects=False)
    assert_secure_headers(response)


def test_signed_in_pages_send_the_security_headers(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    for path in ("/queue", "/queue/rows", f"/calls/{call.id}", f"/calls/{call.id}/edit", "/history"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_secure_headers(response)


def test_refusals_by_host_and_origin_send_the_security_headers(client: TestClient) -> None:
    assert_secure_headers(client.get("/queue", headers={"host": "evil.example"}))
    assert_secure_headers(client.post("/signin", headers={"origin": "https://evil.example"}))


def test_an_unexpected_error_still_sends_the_security_headers(new_client: Callable[[], TestClient]) -> None:
    client = new_client()

    def boom() -> None:
        raise RuntimeError("boom")

    client.app.router.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    quiet = TestClient(client.app, base_url="http://testserver", raise_server_exceptions=False)
    response = quiet.get("/boom")
    assert response.status_code == 500
    assert "boom" not in response.text
    assert_secure_headers(response)


def test_pages_allow_only_scripts_carrying_this_responses_nonce(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    nonces = []
    for path in ("/queue", "/queue", f"/calls/{call.id}/edit", "/history"):
        response = client.get(path, follow_redirects=False)
        csp = response.headers["content-security-policy"]
        nonce = re.search(r"script-src 'nonce-([A-Za-z0-9_-]{20,})';", csp)
        assert nonce is not None, csp  # no 'self': a same-origin script without the nonce does not run
        nonces.append(nonce.group(1))
        scripts = re.findall(r"<script[^>]*>", response.text)
        stylesheets = re.findall(r'<link rel="stylesheet"[^>]*>', response.text)
        assert scripts
        assert all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts + stylesheets), path
    assert len(set(nonces)) == len(nonces)  # a fresh nonce per response


def test_json_answers_keep_the_fixed_policy_without_a_nonce(client: TestClient) -> None:
    csp = client.get("/healthz").headers["content-security-policy"]
    assert "nonce-" not in csp and "script-src 'self'" in csp and "object-src 'none'" in csp
