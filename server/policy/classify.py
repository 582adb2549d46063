"""classify(): from the facts of one call to a verdict. Pure: no I/O, no clock, no randomness.

Evaluation order (this is the one place it is written down):

1. No policy loaded (never a good one) -> ``block``, category ``no-policy``.
2. The tool has no entry under ``tools:`` -> ``block``, category ``unknown-tool``.
3. An override that names another tool -> ``block`` (a caller bug; fail closed).
4. Build the evaluation context once, with the variables the tool's rules read (of ``text``, the
   fields they read). Arguments that cannot be converted -> ``block``.
5. Evaluate, in policy order, every rule that applies to the tool (``tools:`` lists it, or is absent).
   Any rule that fails (missing key, wrong type, non-bool result...) -> ``block``, category
   ``policy-error``, naming the rule; nothing else is decided.
6. The contest: every matching rule votes for its action; an admin override, when given, votes too
   and always matches. The strictest vote wins: ``block`` > ``hold`` > ``allow``. So an override to
   ``block`` blocks everything, to ``hold`` holds even where an allow rule matches, and to ``allow``
   only loosens the tool's default, never a holding or blocking rule.
7. No votes (no rule matched, no override) -> the tool's default action (that verdict is worked out
   once per policy and tool; each call adds its exposure, customer and priority).
8. The winners are the matching rules whose action won (policy order). The verdict takes:
   - risk: the override's risk if any, else the tool's; raised to the highest risk a winner sets;
   - customer impact: the tool's, raised to the highest a winner sets;
   - queue and category: the first winner that sets one, else the tool entry, else
     ``defaults.queue`` (category: none); the owner is the queue's owner;
   - required approvals: the largest stated by the winners and the tool entry, else the defaults;
   - sla and expiry: the smallest stated by the winners, the tool entry and the chosen queue, else
     the defaults;
   - reasons: the override's, then each winner's (``rule <id>: <reason>``), or the tool default's;
     then the matching rules that were overruled, if any;
   - matched_rules: the winners' ids (for a policy error: the failing rule's id);
   - priority: see server/policy/priority.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

import cel

from server.policy.compiled import CompiledRule, Policy
from server.policy.expressions import CONDITION_ERRORS, EVALUATION_ERRORS, build_context, not_a_bool
from server.policy.model import Defaults, ToolEntry
from server.policy.priority import base_priority
from server.policy.types import Action, CallFacts, Impact, Risk, ToolOverride, Verdict

_RISK_ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL)
_IMPACT_ORDER = (Impact.NONE, Impact.LOW, Impact.MEDIUM, Impact.HIGH)

T = TypeVar("T")


def classify(policy: Policy | None, facts: CallFacts, override: ToolOverride | None = None) -> Verdict:
    """The verdict for one call under ``policy`` and the admin ``override`` of its tool, if any.

    Never raises for a bad policy or bad arguments: those block (see the module docstring).
    """
    if policy is None:
        return _blocked(None, facts, "no-policy", "no valid policy is loaded; every call is blocked until one is")
    tool = policy.tools.get(facts.tool)
    if tool is None:
        reason = f"tool {facts.tool!r} has no entry in the policy; unknown tools are blocked"
        return _blocked(policy, facts, "unknown-tool", reason)
    if override is not None and override.tool != facts.tool:
        reason = f"an override for {override.tool!r} was given for {facts.tool!r}"
        return _blocked(policy, facts, "policy-error", reason, tool=tool)
    try:
        context = build_context(facts, policy.reads_for(facts.tool))
    except EVALUATION_ERRORS as exc:
        reason = f"the arguments cannot be read by the policy: {exc}"
        return _blocked(policy, facts, "policy-error", reason, tool=tool)
    try:
        matched = _matching_rules(policy.rules_for(facts.tool), context)
    except _RuleFailed as failed:
        rule = failed.rule
        reason = f"rule {rule.id} ({rule.location}) could not be evaluated: {_describe(failed.error, rule, facts)}"
        return _blocked(policy, facts, "policy-error", reason, tool=tool, rule=rule.id)
    return _decide(policy, facts, tool, matched, override)


class _RuleFailed(Exception):
    def __init__(self, rule: CompiledRule, error: Exception) -> None:
        super().__init__(rule.id)
        self.rule = rule
        self.error = error


def _matching_rules(rules: Sequence[CompiledRule], context: cel.Context) -> list[CompiledRule]:
    """The rules whose condition holds, in order. The hot path (bench/bench_classify.py).

    Raises:
        _RuleFailed: the first rule whose condition failed or did not return a bool.
    """
    matched = []
    for rule in rules:
        if rule.condition is None:
            matched.append(rule)
            continue
        try:
            # Condition.matches, inlined: one Python call less per rule.
            result = rule.condition.program.execute(context)
            if result is not True and result is not False:
                raise not_a_bool(result)
        except CONDITION_ERRORS as exc:
            raise _RuleFailed(rule, exc) from exc
        if result:
            matched.append(rule)
    return matched


def _decide(
    policy: Policy, facts: CallFacts, tool: ToolEntry, matched: Sequence[CompiledRule], override: ToolOverride | None
) -> Verdict:
    if matched or override is not None:
        return _contest(policy, facts, tool, matched, override)
    # Nothing voted (most allowed calls): the tool's default, the same for every call to it but for the
    # call's exposure, customer and priority; worked out once per loaded policy.
    default = policy.default_verdicts.get(facts.tool)
    if default is None:
        default = policy.default_verdicts[facts.tool] = _contest(policy, facts, tool, matched, override)
    priority = base_priority(
        exposure=facts.exposure, impact=default.customer_impact, risk=default.risk, justification=facts.justification
    )
    return default.model_copy(update={"exposure": facts.exposure, "customer": facts.customer, "priority": priority})


def _contest(
    policy: Policy, facts: CallFacts, tool: ToolEntry, matched: Sequence[CompiledRule], override: ToolOverride | None
) -> Verdict:
    votes = [rule.action for rule in matched] + ([override.action] if override is not None else [])
    action = max(votes, key=lambda a: a.strictness) if votes else tool.action
    winners = [rule for rule in matched if rule.action == action]
    specs = [rule.spec for rule in winners]

    risk = _highest(_RISK_ORDER, [override.risk if override is not None else tool.risk, *(s.risk for s in specs)])
    impact = _highest(_IMPACT_ORDER, [tool.customer_impact, *(s.customer_impact for s in specs)])
    queue = _first([*(s.queue for s in specs), tool.queue]) or policy.defaults.queue
    queue_spec = policy.queues.get(queue)
    approvals = [n for n in (*(s.required_approvals for s in specs), tool.required_approvals) if n is not None]
    queue_sla = queue_spec.sla if queue_spec else None
    queue_expires = queue_spec.expires if queue_spec else None
    slas = [n for n in (*(s.sla for s in specs), tool.sla, queue_sla) if n is not None]
    expiries = [n for n in (*(s.expires for s in specs), tool.expires, queue_expires) if n is not None]

    reasons: list[str] = []
    if override is not None and override.action == action:
        by = f" by {override.actor}" if override.actor else ""
        reasons.append(f"admin override{by}: {action}" + (f" ({override.reason})" if override.reason else ""))
    reasons += [f"rule {s.id}: {s.reason or s.description or 'matched'}" for s in specs]
    if not votes:
        reasons.append(f"default for {facts.tool}: {action}" + (f" ({tool.reason})" if tool.reason else ""))
    overruled = [f"{rule.id} ({rule.action})" for rule in matched if rule.action != action]
    if override is not None and override.action != action:
        overruled.append(f"admin override ({override.action})")
    if overruled:
        reasons.append(f"overruled by the stricter {action}: {', '.join(overruled)}")

    return Verdict(
        action=action,
        risk=risk,
        queue=queue,
        owner=queue_spec.owner if queue_spec else None,
        required_approvals=max(approvals) if approvals else policy.defaults.required_approvals,
        exposure=facts.exposure,
        customer=facts.customer,
        customer_impact=impact,
        priority=base_priority(exposure=facts.exposure, impact=impact, risk=risk, justification=facts.justification),
        matched_rules=tuple(s.id for s in specs),
        override_decided=override is not None and override.action == action,
        category=_first([*(s.category for s in specs), tool.category]),
        reasons=tuple(reasons),
        sla_seconds=min(slas) if slas else policy.defaults.sla,
        expires_in_seconds=min(expiries) if expiries else policy.defaults.expires,
        policy_version=policy.version,
    )


def _blocked(
    policy: Policy | None,
    facts: CallFacts,
    category: str,
    reason: str,
    *,
    tool: ToolEntry | None = None,
    rule: str | None = None,
) -> Verdict:
    """Fail closed, saying why."""
    risk = tool.risk if tool is not None else Risk.CRITICAL
    impact = tool.customer_impact if tool is not None else Impact.NONE
    defaults = policy.defaults if policy is not None else Defaults()
    queue = policy.queues.get(defaults.queue) if policy is not None else None
    return Verdict(
        action=Action.BLOCK,
        risk=risk,
        queue=defaults.queue,
        owner=queue.owner if queue is not None else None,
        exposure=facts.exposure,
        customer=facts.customer,
        customer_impact=impact,
        priority=base_priority(exposure=facts.exposure, impact=impact, risk=risk, justification=facts.justification),
        matched_rules=(rule,) if rule else (),
        category=category,
        reasons=(reason,),
        sla_seconds=defaults.sla,
        expires_in_seconds=defaults.expires,
        policy_version=policy.version if policy is not None else "",
    )


def _highest(order: Sequence[T], values: Iterable[T | None]) -> T:
    return max((v for v in values if v is not None), key=order.index)


def _first(values: Iterable[str | None]) -> str | None:
    return next((v for v in values if v is not None), None)


def _describe(exc: BaseException, rule: CompiledRule, facts: CallFacts) -> str:
    """The first sentence of the library's message, plus the likely cause where we can tell."""
    if isinstance(exc, KeyError) and exc.args:
        return f"no key {exc.args[0]!r} (guard optional keys with has() or `in`)"
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0].split(". ")[0]
    if facts.exposure is None and rule.condition is not None and "exposure" in rule.condition.program.variables():
        text += " (this call has no readable exposure: `exposure` is null)"
    return text
