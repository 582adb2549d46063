"""The mistake: a call held by an admin's tool override said "Matched rules: none (the tool's default)"."""

from __future__ import annotations

from fastapi.testclient import TestClient

from server.policy.types import Action, Risk
from server.runtime import Runtime
from tests.web.support import hold_refund, sign_in, submit


def _why(page: str) -> str:
    return page.split('id="policy-h"')[1].split("</section>")[0]


def test_a_call_held_by_an_admin_override_says_the_override_decided(client: TestClient, runtime: Runtime) -> None:
    runtime.gateway.overrides.set(
        "search_customers", risk=Risk.MEDIUM, action=Action.HOLD, reason="data export audit", actor="ada"
    )
    held = submit(runtime, "search_customers", {"query": "Acme"})
    assert held.status == "held", held
    sign_in(client, "ada")
    why = _why(client.get(f"/calls/{held.id}").text)
    assert "an admin override decided" in why and "the tool's default" not in why
    assert "data export audit" in why


def test_a_call_held_by_the_tools_default_still_says_so(client: TestClient, runtime: Runtime) -> None:
    held = hold_refund(runtime)
    sign_in(client, "ada")
    why = _why(client.get(f"/calls/{held.id}").text)
    assert "admin override" not in why
