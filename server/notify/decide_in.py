"""Where a held call may be decided: the packet page always; Slack only where the policy says so.

``decide_in: [page, slack]`` is set per queue and per rule. A rule that matched the call (one of the
verdict's ``matched_rules``) and sets ``decide_in`` replaces its queue's; when several such rules
matched, only the places every one of them lists remain (the strictest). The page is always allowed:
it is where every call can be decided.

Even where Slack is allowed, a call is decided on its page when approving it needs more than a
click: an override reason (critical risk, preview warnings, hidden characters, no preview), or an
edit. Those messages carry only "Open in Countersign".
"""

from __future__ import annotations

from collections.abc import Sequence

from server.notify.plain import shown
from server.policy.compiled import Policy

PAGE, SLACK = "page", "slack"


def decide_in(policy: Policy | None, *, queue: str, matched_rules: Sequence[str] = ()) -> frozenset[str]:
    """The places a held call of ``queue``, classified with ``matched_rules``, may be decided."""
    if policy is None:
        return frozenset({PAGE})
    spec = policy.queues.get(queue)
    places = frozenset(spec.decide_in) if spec is not None else frozenset({PAGE})
    wanted = set(matched_rules)
    rule_places = [
        frozenset(rule.spec.decide_in)
        for rule in policy.rules
        if rule.spec.id in wanted and rule.spec.decide_in is not None
    ]
    if rule_places:
        places = frozenset.intersection(*rule_places)
    return places | {PAGE}


def slack_may_decide(
    policy: Policy | None,
    *,
    queue: str,
    risk: str,
    summary: str,
    status: str,
    matched_rules: Sequence[str] = (),
    page_only_grounds: Sequence[str] = (),
    channel: str | None = None,
) -> bool:
    """Whether a held call of ``queue`` may be decided in Slack (in its message in ``channel``, if given).

    Only the channel of the queue the call is in gets the buttons: after an escalation moved the
    call on, the first queue's channel keeps its message up to date, but no longer decides it. A
    click (no channel: Slack names channels by id) is judged by the call's queue and the person.

    ``page_only_grounds`` are the reasons approving needs the page (the review service's override
    grounds); any one of them keeps the buttons away. Critical calls and summaries with hidden
    characters are page-only even when the grounds could not be computed.
    """
    if status != "held" or page_only_grounds:
        return False
    if channel is not None:
        spec = policy.queues.get(queue) if policy is not None else None
        if spec is None or spec.notify is None or spec.notify.slack_channel != channel:
            return False
    if SLACK not in decide_in(policy, queue=queue, matched_rules=matched_rules):
        return False
    return risk != "critical" and shown(summary, limit=10_000) == summary
