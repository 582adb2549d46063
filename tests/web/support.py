"""Builders for the review pages' tests: a seeded runtime with people, held calls, a signed-in client."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from server.config import Settings
from server.lifecycle.records import NewCall
from server.people import People
from server.policy.types import Evidence, Justification
from server.runtime import Runtime, build_runtime, seed_demo
from server.store.db import Store
from server.store.models import ToolCall
from tests.conftest import REPO
from tools.backoffice import ids

SECRET = "test-secret-key-that-is-long-enough-0123456789"
# Cheap hashing keeps the tests fast; production uses argon2-cffi's defaults.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# name -> (role, queues)
PEOPLE: dict[str, tuple[str, list[str] | None]] = {
    "alice": ("reviewer", ["finance", "finance-senior"]),
    "bob": ("reviewer", ["finance", "finance-senior"]),
    "sam": ("reviewer", ["support"]),
    "ada": ("admin", None),
}


def password(name: str) -> str:
    return f"{name}-correct-horse"


@dataclass
class Clock:
    """Wall-clock time that a test can move forward (sessions, throttling, SLAs)."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **kwargs: float) -> None:
        self.offset += timedelta(**kwargs)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "policies": REPO / "policies",
        "environment": "test",
        "secret_key": SECRET,
        "base_url": "http://testserver",
        "inline_wait_seconds": 0.2,
        "expiry_sweep_seconds": 0.5,
    }
    values.update(overrides)
    return Settings(**values)


def make_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    """A runtime on a seeded back office, with the people of :data:`PEOPLE`."""
    store = Store.open(settings.database_url, clock=clock or Clock())
    runtime = build_runtime(settings, store=store)
    runtime.people = People(store, hasher=FAST_HASHER)
    seed_demo(runtime)
    for name, (role, queues) in PEOPLE.items():
        runtime.people.create_user(name, role, password=password(name), queues=queues)  # type: ignore[arg-type]
    return runtime


def submit(
    runtime: Runtime,
    tool: str,
    arguments: dict[str, Any],
    *,
    agent: str = "support-agent",
    on_behalf_of: str | None = None,
    reason: str = "the customer asked",
    confidence: float | None = 0.5,
    evidence: tuple[Evidence, ...] = (),
) -> ToolCall:
    justification = Justification(reason=reason, confidence=confidence, evidence=evidence)
    new = NewCall(tool=tool, arguments=arguments, agent=agent, on_behalf_of=on_behalf_of, justification=justification)
    return runtime.gateway.submit(new).call


def refund(amount: float = 60.0, **changes: Any) -> dict[str, Any]:
    """A refund on the demo's ordinary order; 60 EUR at confidence 0.5 is held with no preview warnings."""
    arguments: dict[str, Any] = {
        "customer_id": ids.REFUND_CUSTOMER_ID,
        "order_id": ids.REFUND_ORDER_ID,
        "amount": amount,
        "currency": ids.REFUND_CURRENCY,
        "reason": "parcel arrived damaged",
    }
    arguments.update(changes)
    return arguments


def hold_refund(runtime: Runtime, amount: float = 60.0, **kwargs: Any) -> ToolCall:
    call = submit(runtime, "issue_refund", refund(amount), **kwargs)
    assert call.status == "held", call
    return call


def hold_two_person_payment(runtime: Runtime, **kwargs: Any) -> ToolCall:
    """The 48,750 EUR invoice: finance-senior queue, two approvals, preview warnings (override needed)."""
    arguments = {
        "vendor_id": ids.FRAUD_VENDOR_ID,
        "invoice_id": ids.FRAUD_INVOICE_ID,
        "amount": float(ids.FRAUD_INVOICE_AMOUNT),
        "currency": "EUR",
    }
    call = submit(runtime, "pay_invoice", arguments, **kwargs)
    assert call.status == "held" and call.required_approvals == 2, call
    return call


HOSTILE_TEXT = (
    "<script>alert('xss')</script><img src=x onerror=alert(1)> {{ 7*7 }} {% raw %}"
    " \u202eevil\u202c \u200bzero\u200d \U000e0041tag"
)


def hold_hostile(runtime: Runtime) -> ToolCall:
    """A held call whose every agent-supplied text is hostile."""
    evidence = (
        Evidence(source="<b>bold</b> {{ 7*7 }}", excerpt=HOSTILE_TEXT, url="javascript:alert(document.cookie)"),
        Evidence(source="ticket", url="https://example.com/ticket?id=<script>"),
        Evidence(source="spoof", url="https://exa\u202emple.com/"),
    )
    call = submit(
        runtime,
        "issue_refund",
        refund(60.0, reason=HOSTILE_TEXT[:900]),
        agent="agent<script>",
        reason=HOSTILE_TEXT,
        evidence=evidence,
    )
    assert call.status == "held", call
    return call


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: TestClient, name: str, secret: str | None = None) -> str:
    """Sign ``client`` in as ``name``; return the session's CSRF token."""
    form = client.get("/signin")
    response = client.post(
        "/signin",
        data={"name": name, "password": secret or password(name), "csrf_token": csrf_of(form.text), "next": "/queue"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/queue").text)


def status_of(runtime: Runtime, call_id: str) -> str:
    call = runtime.gateway.get_call(call_id)
    assert call is not None
    return call.status
