"""Every admin route refuses reviewers (403) and anonymous visitors (sign-in redirect, or 401)."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute

from server.runtime import Runtime
from tests.admin.web import Visitor
from web.admin import ROUTERS

# Who may reach a route does not depend on the database; one backend keeps these many cases quick.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

PARAMS = {"name": "lookup", "kind": "csv", "delivery_id": "1"}
JSON_BODIES = {
    "/api/admin/tools/{name}/level": {"risk": "high", "action": "block", "reason": "x"},
    "/api/admin/kill-switch": {"on": True, "reason": "x"},
    "/api/admin/dry-run": {"tool": "lookup", "arguments": {"customer_id": "C-1"}},
}


def _routes() -> list[tuple[str, str]]:
    found = [
        (method, route.path)
        for family in ROUTERS
        for route in family.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]
    assert len(found) >= 20  # every admin route, pages and API; new ones are covered automatically
    return found


ROUTES = _routes()
PAGES = [(m, p) for m, p in ROUTES if not p.startswith("/api/")]
API = [(m, p) for m, p in ROUTES if p.startswith("/api/")]


def _url(path: str) -> str:
    return path.format(**PARAMS)


def _call(visitor: Visitor, method: str, path: str, token: str | None = None) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if path.startswith("/api/"):
        return visitor.client.request(
            method, _url(path), json=JSON_BODIES.get(path), headers=headers, follow_redirects=False
        )
    if method == "GET":
        return visitor.get(_url(path))
    return visitor.post(_url(path), {"reason": "r", "state": "on", "risk": "high", "action": "block"})


@pytest.mark.parametrize(("method", "path"), PAGES, ids=[f"{m} {p}" for m, p in PAGES])
def test_pages_send_anonymous_visitors_to_sign_in_and_refuse_their_posts(
    anonymous: Visitor, method: str, path: str
) -> None:
    response = _call(anonymous, method, path)
    if method == "GET":
        assert response.status_code == 303  # type: ignore[attr-defined]
        assert response.headers["location"].startswith("/signin?next=")  # type: ignore[attr-defined]
    else:
        assert response.status_code == 401  # type: ignore[attr-defined]


@pytest.mark.parametrize(("method", "path"), PAGES, ids=[f"{m} {p}" for m, p in PAGES])
def test_pages_refuse_reviewers_even_with_a_valid_csrf_token(reviewer: Visitor, method: str, path: str) -> None:
    assert _call(reviewer, method, path).status_code == 403  # type: ignore[attr-defined]


@pytest.mark.parametrize(("method", "path"), API, ids=[f"{m} {p}" for m, p in API])
def test_api_answers_401_without_credentials(anonymous: Visitor, method: str, path: str) -> None:
    assert _call(anonymous, method, path).status_code == 401  # type: ignore[attr-defined]


@pytest.mark.parametrize(("method", "path"), API, ids=[f"{m} {p}" for m, p in API])
def test_api_refuses_reviewer_and_agent_tokens(anonymous: Visitor, runtime: Runtime, method: str, path: str) -> None:
    reviewer_token = runtime.people.create_person_token("rita")
    agent_token = runtime.people.create_agent_token("agent-7")
    assert _call(anonymous, method, path, reviewer_token).status_code == 403  # type: ignore[attr-defined]
    assert _call(anonymous, method, path, agent_token).status_code == 403  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", [p for m, p in PAGES if m == "GET"])
def test_admins_can_open_every_page(admin: Visitor, path: str) -> None:
    response = admin.get(_url(path))
    assert response.status_code in (200, 303), response.text


def test_admin_posts_without_the_csrf_token_are_refused(admin: Visitor, runtime: Runtime) -> None:
    admin.csrf = "forged"
    response = admin.post("/admin/tools/lookup/level", {"risk": "high", "action": "block", "reason": "x"})
    assert response.status_code == 403
    assert runtime.gateway.overrides.all() == {}


def test_admin_posts_from_another_site_are_refused(admin: Visitor, runtime: Runtime) -> None:
    response = admin.post(
        "/admin/kill-switch", {"state": "on", "reason": "x"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 403
    assert not runtime.gateway.overrides.kill_switch().get("on")
