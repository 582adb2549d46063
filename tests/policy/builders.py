"""Small builders for policy tests: a policy directory from YAML text, and call facts."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

from server.policy import Policy, load_policy
from server.policy.types import CallFacts, Evidence, Exposure, Justification

BASE = """\
version: 1
defaults: {queue: general, sla: 4h, expires: 24h}
queues:
  general: {owner: ops}
  finance: {owner: finance-team, sla: 2h}
  finance-senior: {owner: finance-leads, sla: 1h, expires: 48h}
tools:
  refund: {action: hold, risk: high, queue: finance, customer_impact: medium, category: refund}
  lookup: {action: allow, risk: low}
  wipe: {action: block, risk: critical}
"""


def write(directory: Path, name: str, text: str) -> Path:
    """Write a policy file and move its mtime forward, so a holder sees the change without sleeping."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    bumped = max(path.stat().st_mtime_ns, before + 1_000_000_000)
    os.utime(path, ns=(bumped, bumped))
    return path


def policy_with(tmp_path: Path, rules: str = "", base: str = BASE) -> Policy:
    """The base policy plus a `rules:` section (YAML text, already indented as a list)."""
    text = base + ("rules:\n" + textwrap.indent(textwrap.dedent(rules), "  ") if rules.strip() else "")
    write(tmp_path / "policies", "policy.yaml", text)
    return load_policy(tmp_path / "policies")


def facts(
    tool: str = "refund",
    args: dict[str, Any] | None = None,
    *,
    amount: float | None = None,
    currency: str = "EUR",
    confidence: float | None = None,
    evidence: tuple[str, ...] = (),
    reason: str | None = None,
    agent: str = "agent-1",
    customer: str | None = None,
    category: str | None = None,
) -> CallFacts:
    return CallFacts(
        tool=tool,
        args=args if args is not None else {},
        agent=agent,
        justification=Justification(
            reason=reason, confidence=confidence, evidence=tuple(Evidence(source=s) for s in evidence)
        ),
        exposure=Exposure(amount=amount, currency=currency) if amount is not None else None,
        customer=customer,
        category=category,
    )
