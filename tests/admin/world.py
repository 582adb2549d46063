"""A small world for the admin tests: a policy, four tools, a gateway on a clock the test controls."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server.gateway import Gateway
from server.lifecycle.execution import ToolOutcome
from server.policy import PolicyHolder
from tests.clock import Clock as BaseClock
from tools.contract import ExposureArgs, SubjectArg, ToolRegistry

POLICY = """\
version: 1
defaults: {queue: general, sla: 4h, expires: 24h}
queues:
  general: {owner: ops}
  finance: {owner: finance-team, sla: 1h}
  support: {owner: support-team, sla: 2h}
tools:
  lookup: {action: allow, risk: low}
  refund: {action: hold, risk: high, queue: finance, category: refund}
  email: {action: hold, risk: medium, queue: support, category: customer-email}
  wipe: {action: block, risk: critical}
rules:
  - id: big-refund
    tools: [refund]
    when: "args.amount >= 1000.0"
    action: hold
    category: large-refund
    reason: Refund of 1,000 or more.
"""


def write_policy(directory: Path, text: str = POLICY) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "policy.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return directory


def make_registry() -> ToolRegistry:
    registry = ToolRegistry()

    @registry.tool(category="read", risk="low", action="allow", minutes_saved=1)
    def lookup(office: Any, customer_id: str) -> dict[str, Any]:
        """Look a customer up."""
        return {"customer_id": customer_id}

    @registry.tool(
        category="act",
        risk="high",
        action="hold",
        exposure=ExposureArgs(amount="amount", currency="currency"),
        subject=SubjectArg("order_id"),
        minutes_saved=10,
    )
    def refund(office: Any, order_id: str, amount: float, currency: str) -> dict[str, Any]:
        """Refund an order."""
        return {"refunded": amount}

    @registry.tool(category="act", risk="medium", action="hold", minutes_saved=5)
    def email(office: Any, to: str, body: str) -> dict[str, Any]:
        """Email a customer."""
        return {"sent": to}

    @registry.tool(category="act", risk="critical", action="block")
    def wipe(office: Any, table: str) -> dict[str, Any]:
        """Wipe a table."""
        return {"wiped": table}

    return registry


def runner(registry: ToolRegistry) -> Any:
    def run(tool: str, arguments: dict[str, Any], key: str | None) -> ToolOutcome:
        return ToolOutcome(registry[tool].call(None, arguments, idempotency_key=key))

    return run


@dataclass
class Clock(BaseClock):
    """Starts early in the month, so a seeded 30-day history fits before "now"."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))


def make_gateway(store: Any, policy_dir: Path, registry: ToolRegistry | None = None) -> Gateway:
    registry = registry or make_registry()
    # check_interval=0: a policy file written by the test is seen on the next call, without sleeping.
    return Gateway(
        store=store, policies=PolicyHolder(policy_dir, check_interval=0), registry=registry, runner=runner(registry)
    )
