"""The schema of one policy file, as pydantic models. Unknown keys are errors, never ignored.

See policies/README.md for the format with examples; this module is its executable form.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

from server.notify.events import EventType
from server.policy.expressions import MAX_EXPRESSION_LENGTH
from server.policy.types import Action, Impact, Risk

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_MAX_DURATION = 366 * 24 * 3600


def parse_duration(value: object) -> int:
    """Seconds from ``90`` (seconds), ``"45s"``, ``"30m"``, ``"4h"``, ``"2d"`` or ``"1h30m"``.

    Raises:
        ValueError: the value is not such a duration, or is not positive, or is over a year.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like 30m, 4h, 1d or 1h30m")
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value.strip())) and any(match.groups()):
        days, hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = ((days * 24 + hours) * 60 + minutes) * 60 + secs
    else:
        raise ValueError(f"{value!r} is not a duration; write a number of seconds or text like 30m, 4h, 1d or 1h30m")
    if not 0 < seconds <= _MAX_DURATION:
        raise ValueError("a duration must be more than zero and at most a year")
    return seconds


def _when_text(value: object) -> object:
    # `when: true` is natural YAML; CEL wants the text "true".
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


Duration = Annotated[int, BeforeValidator(parse_duration)]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=64)]
ToolName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$", max_length=128)]
RuleId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)]
Approvals = Annotated[int, Field(ge=1, le=5)]
Text = Annotated[str, StringConstraints(max_length=1000)]
Expression = Annotated[
    str, BeforeValidator(_when_text), StringConstraints(min_length=1, max_length=MAX_EXPRESSION_LENGTH)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Defaults(_Strict):
    """What a verdict gets when neither its rules, its tool nor its queue say otherwise."""

    queue: Name = "general"
    sla: Duration = 4 * 3600
    expires: Duration = 24 * 3600
    required_approvals: Approvals = 1
    # An act call identical to one of the same agent's calls approved within this window is held
    # (whatever the rules say) and flagged as a possible duplicate (server/lifecycle/duplicates.py).
    duplicate_window: Duration = 24 * 3600


EmailAddress = Annotated[str, StringConstraints(pattern=r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$", max_length=254)]
# http(s) only, no credentials in the URL (the signature authenticates us; the receiver's secret stays out of files).
WebhookUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s@/?#]+(/[^\s#]*)?$", max_length=500)]
SlackChannel = Annotated[str, StringConstraints(pattern=r"^[#A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)]


# A Countersign person, by user name (resolved to their e-mail address when a message is routed).
PersonName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$", max_length=200)]
DecideIn = tuple[Literal["page", "slack"], ...]


class EscalatePerson(_Strict):
    """``escalate_to: {person: NAME}``: a person is told (by e-mail) when the SLA passes; the call stays put."""

    person: PersonName


class NotifySpec(_Strict):
    """Who hears about a queue's calls, and which events (all of them when ``events`` is absent).

    ``email`` entries are addresses (``ops@example.com``) or Countersign user names (``ana``), resolved
    to the person's address when a message is routed.
    """

    email: tuple[EmailAddress | PersonName, ...] = ()
    slack_channel: SlackChannel | None = None
    webhooks: tuple[WebhookUrl, ...] = ()
    events: tuple[EventType, ...] | None = None
    # Where a call that passed its SLA is escalated: another queue (the call moves there, and its
    # recipients hear `call.escalated`), or `{person: NAME}` (that person is e-mailed).
    escalate_to: Name | EscalatePerson | None = None

    def wants(self, event_type: str) -> bool:
        return self.events is None or event_type in self.events

    @property
    def escalation_queue(self) -> str | None:
        return self.escalate_to if isinstance(self.escalate_to, str) else None

    @property
    def escalation_person(self) -> str | None:
        return self.escalate_to.person if isinstance(self.escalate_to, EscalatePerson) else None

    def people(self) -> tuple[str, ...]:
        """The user names this entry refers to (e-mail entries without an @, and an escalation person)."""
        named = tuple(entry for entry in self.email if "@" not in entry)
        return named + ((self.escalation_person,) if self.escalation_person else ())


class QueueSpec(_Strict):
    """A review queue: who owns it, its service levels, and who is told about its calls."""

    owner: Text | None = None
    description: Text = ""
    sla: Duration | None = None
    expires: Duration | None = None
    notify: NotifySpec | None = None
    # Where this queue's calls may be decided; Slack buttons appear only where `slack` is listed.
    decide_in: DecideIn = ("page",)


class _Routing(_Strict):
    """Where a held call goes and how it is handled; shared by tool entries and rules."""

    queue: Name | None = None
    required_approvals: Approvals | None = None
    # The exception category reviewers and insights group by (e.g. low-confidence); not the tool's category.
    category: Name | None = None
    sla: Duration | None = None
    expires: Duration | None = None
    reason: Text | None = None


class ExposureSpec(_Strict):
    """CEL expressions over ``args`` giving the money at stake, e.g. ``args.amount / 100``."""

    amount: Expression
    currency: Expression


class IdempotencySpec(_Strict):
    """Where the tool takes the idempotency key the gateway derives from the call id: an ``argument``
    name, or (streamable-HTTP upstreams) an HTTP ``header`` sent with the approved call. Exactly one."""

    argument: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    header: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> IdempotencySpec:
        if (self.argument is None) == (self.header is None):
            raise ValueError("idempotency names exactly one of `argument` or `header`")
        return self


class PreviewSpec(_Strict):
    """A read-only tool (listed name) whose result shows reviewers the current state; ``arguments`` is a
    CEL expression over ``args`` returning its arguments, e.g. ``{"path": args.path}``."""

    tool: ToolName
    arguments: Expression = "{}"


class ToolEntry(_Routing):
    """A tool the policy knows. Tools without an entry are blocked.

    ``kind``, ``exposure``, ``subject``, ``idempotency`` and ``preview`` declare for a tool from an
    upstream MCP server what tools in tools/ declare in code; they are ignored for those. (``kind`` is
    read/prepare/act; ``category`` is the exception category reviewers group by.)
    """

    action: Action
    risk: Risk
    customer_impact: Impact = Impact.NONE
    kind: Literal["read", "prepare", "act"] | None = None
    exposure: ExposureSpec | None = None
    subject: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    idempotency: IdempotencySpec | None = None
    preview: PreviewSpec | None = None


class RuleSpec(_Routing):
    """A rule: when its condition holds for a call to one of its tools, it votes for its action."""

    id: RuleId
    description: Text = ""
    # None means every tool in the policy.
    tools: Annotated[tuple[ToolName, ...], Field(min_length=1)] | None = None
    # A CEL expression that must return a bool; None means always.
    when: Expression | None = None
    action: Action
    risk: Risk | None = None
    customer_impact: Impact | None = None
    # Where calls this rule matches may be decided; replaces the queue's `decide_in` (several matching
    # rules: only the places every one of them lists). None: the queue decides.
    decide_in: DecideIn | None = None


class PolicyFile(_Strict):
    """One YAML file of the policy directory."""

    version: Literal[1]
    defaults: Defaults | None = None
    queues: dict[Name, QueueSpec] = Field(default_factory=dict)
    tools: dict[ToolName, ToolEntry] = Field(default_factory=dict)
    rules: tuple[RuleSpec, ...] = ()
