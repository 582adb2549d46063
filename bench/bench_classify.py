"""How long classify() takes for a tool with 200 rules, next to building the same context and one trivial rule.

Target: under 150 µs per call with 200 rules. Both figures come from the same run, so the ratio holds
across machines even where absolute times do not.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from server.policy import Policy, classify, load_policy
from server.policy.expressions import VARIABLES
from server.policy.types import CallFacts, Evidence, Exposure, Justification

TARGET_MICROSECONDS = 150.0
RULES = 200
RUNS = 3000

HEADER = """\
version: 1
queues:
  general: {owner: ops}
  finance: {owner: finance-team, sla: 2h}
tools:
  issue_refund: {action: hold, risk: high, queue: finance, customer_impact: medium}
rules:
"""

# A mix of what real rules look at: money, confidence, evidence, arguments, text, the agent.
CONDITIONS = (
    "exposure.amount >= {n}.0 && exposure.currency == 'EUR'",
    "justification.confidence < 0.{d} && justification.has_confidence",
    "args.reason.matches('(?i)rule{n}\\\\b')",
    "agent == 'agent-{n}' || customer == 'C-{n}'",
    "justification.evidence.exists(e, e.source == 'source-{n}')",
    "has(args.note) && args.note.contains('{n}')",
    "args.amount > {n} && args.order_id.startsWith('O-{n}')",
    "tool == 'issue_refund' && exposure.amount < 0.{d}",
)

FACTS = CallFacts(
    tool="issue_refund",
    args={"customer_id": "C-1001", "order_id": "O-2002", "amount": 940.0, "currency": "EUR", "reason": "lost parcel"},
    agent="support-bot",
    justification=Justification(
        reason="The carrier confirmed the loss.",
        confidence=0.82,
        evidence=(Evidence(source="carrier", excerpt="Parcel lost", url="https://example.com/track/1"),),
    ),
    exposure=Exposure(amount=940.0, currency="EUR"),
    customer="C-1001",
    category="act",
)


def _policy(directory: Path, conditions: list[str]) -> Policy:
    lines = [HEADER]
    for n, when in enumerate(conditions):
        action = ("allow", "hold")[n % 2]
        lines.append(f'  - {{id: rule-{n}, tools: [issue_refund], action: {action}, when: "{when}"}}\n')
    directory.mkdir()
    (directory / "bench.yaml").write_text("".join(lines), encoding="utf-8")
    return load_policy(directory)


def _median_microseconds(call: Callable[[], object], runs: int = RUNS) -> float:
    for _ in range(runs // 10):
        call()  # warm up
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        call()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000.0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        conditions = [CONDITIONS[n % len(CONDITIONS)].format(n=n + 1000, d=n % 10) for n in range(RULES)]
        full = _policy(Path(tmp) / "full", conditions)
        # One trivial rule that still reads every variable, so the baseline builds the same context.
        trivial = _policy(Path(tmp) / "trivial", [f"size([{', '.join(VARIABLES)}]) == 0"])
    assert len(full.rules_for("issue_refund")) == RULES
    verdict = classify(full, FACTS)
    assert verdict.category != "policy-error", verdict.reasons  # a benchmark of errors would flatter us
    baseline = _median_microseconds(lambda: classify(trivial, FACTS))
    measured = _median_microseconds(lambda: classify(full, FACTS))
    per_rule = (measured - baseline) / (RULES - 1)
    verdict_line = f"{'OK' if measured < TARGET_MICROSECONDS else 'SLOW'} (target < {TARGET_MICROSECONDS:.0f} µs)"
    print(f"classify(), {RULES} rules:             {measured:8.1f} µs median of {RUNS}  {verdict_line}")
    print(f"baseline, context + 1 trivial rule: {baseline:8.1f} µs median of {RUNS}")
    winners = len(verdict.matched_rules)
    print(f"ratio {measured / baseline:.1f}x; {per_rule:.2f} µs per rule; {verdict.action} by {winners} rules")


if __name__ == "__main__":
    main()
