"""Which destinations an event goes to: the policy's ``queues: NAME: notify:`` entries, read when routed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server.notify.events import EventType
from server.policy.compiled import Policy
from server.policy.model import NotifySpec


@dataclass(frozen=True, order=True)
class Route:
    channel: str  # webhook | email | slack
    target: str


def routes(
    policy: Policy | None, queue: str, event_type: str, *, slack_messages: Iterable[tuple[str, str]] = ()
) -> list[Route]:
    """The destinations of one event of ``queue``; an escalation also reaches the escalation target.

    E-mail targets are addresses or user names (no ``@``); the worker resolves names to addresses.
    ``slack_messages``: (queue, channel) of each Slack message already posted about the call. A call
    that moved on (escalated to another queue) keeps those up to date too, where that queue still
    sends the channel this kind of event: otherwise its first channel would show it waiting forever.
    """
    if policy is None:
        return []
    found = _routes(policy, queue, event_type)
    for earlier_queue, channel in slack_messages:
        spec = _notify(policy, earlier_queue)
        if spec is not None and spec.slack_channel == channel and spec.wants(event_type):
            found.add(Route("slack", channel))
    return sorted(found)


def _routes(policy: Policy, queue: str, event_type: str) -> set[Route]:
    spec = _notify(policy, queue)
    specs = [spec] if spec is not None else []
    found: set[Route] = set()
    if event_type == EventType.ESCALATED and spec is not None:
        target = _notify(policy, spec.escalation_queue) if spec.escalation_queue else None
        if target is not None:
            specs.append(target)
        if spec.escalation_person:
            found.add(Route("email", spec.escalation_person))
    for each in specs:
        if not each.wants(event_type) and not (event_type == EventType.ESCALATED and each is not spec):
            continue
        found.update(Route("email", address) for address in each.email)
        found.update(Route("webhook", url) for url in each.webhooks)
        if each.slack_channel is not None:
            found.add(Route("slack", each.slack_channel))
    return found


@dataclass(frozen=True)
class Escalation:
    queue: str | None  # the call moves to this queue
    person: str | None  # this person is e-mailed

    @property
    def label(self) -> str:
        return f"queue {self.queue}" if self.queue else f"person {self.person}"


def escalation_target(policy: Policy | None, queue: str) -> Escalation | None:
    spec = _notify(policy, queue) if policy is not None else None
    if spec is None or spec.escalate_to is None:
        return None
    return Escalation(spec.escalation_queue, spec.escalation_person)


def _notify(policy: Policy, queue: str) -> NotifySpec | None:
    spec = policy.queues.get(queue)
    return spec.notify if spec is not None else None
