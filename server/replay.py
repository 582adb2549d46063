"""Replay: classify the stored history of calls with a candidate policy and report what would change.

Each stored call is classified again, with the same engine the gateway uses (``server.policy.classify``),
from what the agent sent: the tool, the *proposed* arguments (the AI's draft, before any reviewer
edit), the agent and its justification. The baseline is what the policy actually did at the time
(``ToolCall.action``), and for calls that were held, what the people then decided on them.

Admin overrides stored in the database apply to the candidate, as they would if it went live; the
kill switch does not (it is an emergency stop, not policy). Calls refused for invalid arguments
never reached the policy and are skipped.

A candidate is a policy directory (``load_policy``), or the live policy with a few what-if changes
(``what_if``): a rule's action, or a tool's default action, set to something else.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.orm import defer
from sqlmodel import col, func, select

from server.catalog import build_facts
from server.insights.outcomes import outcome_of
from server.lifecycle.records import INVALID_ARGUMENTS
from server.policy import Policy, classify, load_policy
from server.policy.types import Action, Justification, Risk, ToolOverride, Verdict
from server.store.db import Store
from server.store.models import ToolCall, ToolRiskOverride
from tools.contract import ToolRegistry

Progress = Callable[[int, int], None]


# --- what-if candidates ----------------------------------------------------------------------------


def what_if(
    policy: Policy,
    *,
    rule_actions: Mapping[str, Action] | None = None,
    tool_actions: Mapping[str, Action] | None = None,
) -> Policy:
    """The policy with some rules' actions and some tools' default actions changed.

    Built the way an admin would: the policy's files are copied with those actions edited and loaded
    again, so the candidate goes through the same loader and checks as a real edit.

    Raises:
        KeyError: a rule or tool the policy does not have.
        PolicyError: the policy's files no longer load (edited since, or removed).
    """
    rule_actions = dict(rule_actions or {})
    tool_actions = dict(tool_actions or {})
    unknown = [f"rule {n!r}" for n in rule_actions if n not in {r.id for r in policy.rules}]
    unknown += [f"tool {n!r}" for n in tool_actions if n not in policy.tools]
    if unknown:
        raise KeyError(f"the policy has no {', '.join(unknown)}")
    if not rule_actions and not tool_actions:
        return policy
    with tempfile.TemporaryDirectory(prefix="countersign-what-if-") as directory:
        for path in policy.files:
            document = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
            for rule in document.get("rules") or ():
                if isinstance(rule, dict) and rule.get("id") in rule_actions:
                    rule["action"] = rule_actions[rule["id"]].value
            for name, entry in (document.get("tools") or {}).items():
                if name in tool_actions and isinstance(entry, dict):
                    entry["action"] = tool_actions[name].value
            target = Path(directory) / Path(path).name
            target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        return load_policy(directory)


def stored_overrides(store: Store) -> dict[str, ToolOverride]:
    """The admins' tool overrides as the policy sees them (without the kill switch)."""
    with store.read() as session:
        rows = session.exec(select(ToolRiskOverride)).all()
    return {
        row.tool: ToolOverride(
            tool=row.tool, risk=Risk(row.risk), action=Action(row.action), reason=row.reason, actor=row.actor
        )
        for row in rows
    }


# --- the report ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayedCall:
    id: str
    tool: str
    agent: str
    summary: str
    created_at: datetime
    before: Action
    after: Action
    # For calls that were held: what people decided (approved, edited, rejected...); else the status.
    outcome: str
    rules_before: tuple[str, ...]
    rules_after: tuple[str, ...]
    reason_after: str


@dataclass
class ChangeGroup:
    """Calls whose action would move from ``before`` to ``after``."""

    before: Action
    after: Action
    count: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    examples: list[ReplayedCall] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.before} → {self.after}"

    @property
    def loosens(self) -> bool:
        return self.after.strictness < self.before.strictness


@dataclass
class ReplayReport:
    candidate_version: str
    since: datetime | None
    until: datetime | None
    replayed: int = 0
    unchanged: int = 0
    # Still held, but routed to another queue.
    rerouted: int = 0
    skipped: int = 0
    changes: dict[tuple[Action, Action], ChangeGroup] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(group.count for group in self.changes.values())

    def groups(self) -> list[ChangeGroup]:
        """Change groups, loosening first, then by size."""
        return sorted(self.changes.values(), key=lambda g: (not g.loosens, -g.count, g.before, g.after))

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate_version": self.candidate_version,
            "replayed": self.replayed,
            "unchanged": self.unchanged,
            "changed": self.changed,
            "rerouted": self.rerouted,
            "skipped": self.skipped,
            "changes": [
                {"from": g.before.value, "to": g.after.value, "count": g.count, "outcomes": dict(g.outcomes)}
                for g in self.groups()
            ],
        }


# --- the replay ------------------------------------------------------------------------------------


def replay(
    store: Store,
    candidate: Policy,
    registry: ToolRegistry,
    *,
    overrides: Mapping[str, ToolOverride] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    on_progress: Progress | None = None,
    batch: int = 500,
    examples: int = 25,
) -> ReplayReport:
    """Classify every stored call created in [since, until) with ``candidate``; see the module docstring."""
    overrides = overrides or {}
    report = ReplayReport(candidate.version, since, until)
    total = _count(store, since, until)
    for done, call in enumerate(_calls(store, since, until, batch), start=1):
        if call.category == INVALID_ARGUMENTS and call.action == Action.BLOCK:
            report.skipped += 1
        else:
            verdict = _reclassify(candidate, registry, overrides, call)
            _tally(report, call, verdict, examples)
        if on_progress is not None and (done % batch == 0 or done == total):
            on_progress(done, total)
    for group in report.changes.values():
        group.examples.sort(key=lambda c: c.created_at, reverse=True)
    return report


def _reclassify(
    policy: Policy, registry: ToolRegistry, overrides: Mapping[str, ToolOverride], call: ToolCall
) -> Verdict:
    try:
        justification = Justification.model_validate(call.justification or {})
    except ValidationError:
        justification = Justification()
    arguments = json.loads(call.proposed_arguments)
    facts = build_facts(
        registry.get(call.tool),
        call.tool,
        arguments,
        agent=call.agent,
        server=call.server,
        justification=justification,
        on_behalf_of=call.on_behalf_of,
    )
    return classify(policy, facts, overrides.get(call.tool))


def _tally(report: ReplayReport, call: ToolCall, verdict: Verdict, examples: int) -> None:
    report.replayed += 1
    before = Action(call.action)
    if verdict.action == before:
        report.unchanged += 1
        if before == Action.HOLD and verdict.queue != call.queue:
            report.rerouted += 1
        return
    group = report.changes.setdefault((before, verdict.action), ChangeGroup(before, verdict.action))
    outcome = outcome_of(call).value if before == Action.HOLD else call.status
    group.count += 1
    group.outcomes[outcome] += 1
    if len(group.examples) < examples:
        group.examples.append(
            ReplayedCall(
                id=call.id,
                tool=call.tool,
                agent=call.agent,
                summary=call.summary,
                created_at=call.created_at,
                before=before,
                after=verdict.action,
                outcome=outcome,
                rules_before=tuple((call.verdict or {}).get("matched_rules") or ()),
                rules_after=verdict.matched_rules,
                reason_after=verdict.reason,
            )
        )


def _window(query: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        query = query.where(col(ToolCall.created_at) >= since)
    if until is not None:
        query = query.where(col(ToolCall.created_at) < until)
    return query


def _count(store: Store, since: datetime | None, until: datetime | None) -> int:
    with store.read() as session:
        return int(session.exec(_window(select(func.count()).select_from(ToolCall), since, until)).one())


def _calls(store: Store, since: datetime | None, until: datetime | None, batch: int) -> Iterator[ToolCall]:
    """Calls in pages keyed by id, each page in its own short read (no long transaction, flat memory)."""
    last = ""
    while True:
        query = (
            _window(select(ToolCall), since, until)
            .where(col(ToolCall.id) > last)
            .options(defer(ToolCall.result), defer(ToolCall.error))  # type: ignore[arg-type]
            .order_by(col(ToolCall.id))
            .limit(batch)
        )
        with store.read() as session:
            rows = list(session.exec(query).all())
        if not rows:
            return
        yield from rows
        last = rows[-1].id
