"""The admins' JSON API: the same changes and numbers as the pages, for a person's bearer token."""

from __future__ import annotations

import pytest

from server.policy.types import Action
from server.runtime import Runtime
from tests.admin.history import Ledger, seed
from tests.admin.web import Visitor
from tests.admin.world import Clock


@pytest.fixture
def token(runtime: Runtime) -> dict[str, str]:
    return {"Authorization": f"Bearer {runtime.people.create_person_token('ada')}"}


def test_setting_a_level_through_the_api_governs_the_next_call(
    anonymous: Visitor, runtime: Runtime, token: dict[str, str]
) -> None:
    body = {"risk": "high", "action": "block", "reason": "incident 7"}
    response = anonymous.client.put("/api/admin/tools/lookup/level", json=body, headers=token)
    assert response.status_code == 200
    assert runtime.gateway.classify("lookup", {"customer_id": "C"}, agent="a").action == Action.BLOCK
    tools = {t["name"]: t for t in anonymous.client.get("/api/admin/tools", headers=token).json()}
    assert tools["lookup"]["override"]["reason"] == "incident 7" and tools["lookup"]["effective_action"] == "block"


def test_api_refuses_a_level_without_a_reason_and_an_unknown_tool(anonymous: Visitor, token: dict[str, str]) -> None:
    blank = {"risk": "high", "action": "block", "reason": "   "}
    assert anonymous.client.put("/api/admin/tools/lookup/level", json=blank, headers=token).status_code == 422
    body = {"risk": "high", "action": "block", "reason": "x"}
    assert anonymous.client.put("/api/admin/tools/nope/level", json=body, headers=token).status_code == 404


def test_api_dry_run_returns_the_verdict(anonymous: Visitor, token: dict[str, str]) -> None:
    body = {"tool": "refund", "arguments": {"order_id": "O-1", "amount": 2000, "currency": "EUR"}}
    verdict = anonymous.client.post("/api/admin/dry-run", json=body, headers=token).json()
    assert verdict["action"] == "hold" and verdict["matched_rules"] == ["big-refund"]


def test_api_insights_match_the_ledger(
    runtime: Runtime, clock: Clock, anonymous: Visitor, token: dict[str, str]
) -> None:
    ledger: Ledger = seed(runtime.gateway, clock)
    data = anonymous.client.get("/api/admin/insights?days=30", headers=token).json()
    assert data["totals"]["held"] == len(ledger.held)
    assert data["by"]["tool"]["email"]["rejected"] == 3
    assert {(c["kind"], c["name"], c["suggestion"]) for c in data["candidates"]} == {
        ("tool", "refund", "loosen"),
        ("tool", "email", "tighten"),
    }
    assert data["roi"]["decisions"] == len(ledger.decisions)


def test_api_verify_reports_the_chain(anonymous: Visitor, token: dict[str, str]) -> None:
    data = anonymous.client.get("/api/admin/audit/verify", headers=token).json()
    assert data["ok"] is True and data["message"].startswith("audit chain intact")
