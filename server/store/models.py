"""The gateway's tables. The demo back office keeps its own tables in tools/.

Arguments are stored as canonical JSON text (not a JSON column) so the stored bytes are exactly
the bytes that were hashed and approved.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import defer
from sqlmodel import Field, SQLModel

from server.lifecycle.states import CallStatus
from server.policy.types import Action, Risk
from server.store.types import EnumText, UTCDateTime, utcnow

# The partial index's condition, written the same way in queries so both databases can use it.
HELD_ONLY = "status = 'held'"
HELD_INDEX_COLUMNS = (
    "status",
    "priority",
    "sla_due_at",
    "created_at",
    "id",
    "expires_at",
    "updated_at",
    "queue",
    "owner",
    "tool",
    "risk",
    "category",
    "agent",
)


def _json() -> Any:
    return Field(default=None, sa_type=sa.JSON, nullable=True)


class ToolCall(SQLModel, table=True):
    """One call an agent made through the gateway, whatever the policy said about it."""

    __tablename__ = "tool_call"
    __table_args__ = (
        sa.Index("ix_tool_call_status_priority", "status", "priority"),
        sa.Index("ix_tool_call_agent_status", "agent", "status"),
        sa.Index("ix_tool_call_tool_created", "tool", "created_at"),
        sa.Index("ix_tool_call_action_created", "action", "created_at"),  # insights scan by period
        sa.Index("ix_tool_call_created_id", "created_at", "id"),  # GET /api/calls: newest first
        # The review queue, read from this index alone: held calls only (a few percent of the table, and
        # never touched by allowed calls), with every column the queue ranks, filters, counts and pages by.
        sa.Index(
            "ix_tool_call_held",
            *HELD_INDEX_COLUMNS,
            sqlite_where=sa.text(HELD_ONLY),
            postgresql_where=sa.text(HELD_ONLY),
        ),
        # Retry-safe submission (server/lifecycle/duplicates.py): at most one held call per submission key,
        # so identical calls racing in attach to one held call whatever the interleaving.
        sa.Index(
            "uq_tool_call_held_submission",
            "submission_key",
            unique=True,
            sqlite_where=sa.text(HELD_ONLY),
            postgresql_where=sa.text(HELD_ONLY),
        ),
        sa.Index("ix_tool_call_submission_decided", "submission_key", "decided_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tool: str = Field(max_length=200)
    server: str = Field(default="countersign", max_length=200)
    agent: str = Field(max_length=200)
    on_behalf_of: str | None = Field(default=None, max_length=200)
    # The person an admin bound the agent's token to (`agent add --for`): never an approver of this call.
    bound_person: str | None = Field(default=None, max_length=200)
    summary: str = Field(default="", max_length=500)
    # What the agent proposed, and what will run (equal unless a reviewer edited it).
    proposed_arguments: str = Field(sa_type=sa.Text)
    arguments: str = Field(sa_type=sa.Text)
    args_hash: str = Field(max_length=64)
    justification: dict[str, Any] | None = _json()
    confidence: float | None = None
    evidence_count: int = 0
    # The verdict, kept whole, plus the fields queues filter and sort on.
    verdict: dict[str, Any] | None = _json()
    # Stored as VARCHAR; the enum is enforced on write and restored on read (server/store/types.py).
    action: Action = Field(sa_type=EnumText(Action, 10))
    risk: Risk = Field(sa_type=EnumText(Risk, 10))
    queue: str = Field(default="default", max_length=100, index=True)
    owner: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    required_approvals: int = 1
    approvals: int = 0
    exposure_amount: float | None = None
    exposure_currency: str | None = Field(default=None, max_length=3)
    customer: str | None = Field(default=None, max_length=200, index=True)
    customer_impact: str = Field(default="none", max_length=10)
    priority: float = 0.0
    policy_version: str = Field(default="", max_length=64)
    status: CallStatus = Field(sa_type=EnumText(CallStatus, 20), index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sla_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Execute-once bookkeeping: who holds the claim, until when, how many attempts were made.
    idempotency_key: str = Field(max_length=80)
    claim_token: str | None = Field(default=None, max_length=40)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    result: dict[str, Any] | None = _json()
    is_error: bool = False
    error: str | None = Field(default=None, sa_type=sa.Text)
    # sha256 of (agent, server, tool, canonical proposed arguments) for calls people decide; None otherwise.
    submission_key: str | None = Field(default=None, max_length=64)


def listing_only() -> list[Any]:
    """Load options for lists of calls: the bulky columns (arguments, verdict, result...) stay unread,
    and reading one raises instead of quietly querying again for every row."""
    bulky = ("proposed_arguments", "arguments", "justification", "verdict", "result", "error")
    return [defer(getattr(ToolCall, name), raiseload=True) for name in bulky]


class Decision(SQLModel, table=True):
    """One person's approval or rejection of a held call."""

    __tablename__ = "decision"
    # One approval per person per version of the arguments (an edit starts a new quorum).
    __table_args__ = (sa.UniqueConstraint("call_id", "actor", "kind", "args_hash", name="uq_decision_once"),)

    id: int | None = Field(default=None, primary_key=True)
    call_id: str = Field(foreign_key="tool_call.id", index=True, max_length=40)
    actor: str = Field(max_length=200)
    kind: str = Field(max_length=10)  # approve | reject
    reason: str | None = Field(default=None, sa_type=sa.Text)
    override_reason: str | None = Field(default=None, sa_type=sa.Text)
    edited_arguments: str | None = Field(default=None, sa_type=sa.Text)
    diff: list[dict[str, Any]] | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    args_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ToolRiskOverride(SQLModel, table=True):
    """An admin's override of a tool's risk level and action; history lives in the audit log."""

    __tablename__ = "tool_risk_override"

    tool: str = Field(primary_key=True, max_length=200)
    risk: str = Field(max_length=10)
    action: str = Field(max_length=10)
    reason: str = Field(sa_type=sa.Text)
    actor: str = Field(max_length=200)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Setting(SQLModel, table=True):
    """Runtime switches shared by every instance (e.g. the act-tool kill switch)."""

    __tablename__ = "setting"

    key: str = Field(primary_key=True, max_length=100)
    value: dict[str, Any] | None = _json()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class User(SQLModel, table=True):
    """A person: reviewer or admin."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    role: str = Field(max_length=20)  # reviewer | admin | auditor
    password_hash: str | None = Field(default=None, max_length=500)
    # Queues this person reviews; admins see every queue.
    queues: list[str] | None = Field(default=None, sa_type=sa.JSON, nullable=True)
    disabled: bool = False
    # Their e-mail address; a Slack user whose verified e-mail matches decides as this person.
    email: str | None = Field(default=None, max_length=254, unique=True)
    # "daily": their queues' held calls come in one e-mail a day instead of one per event (server/notify/digest.py).
    email_digest: str | None = Field(default=None, max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A printed one-time password (first admin, reset-password): the next sign-in must change it.
    must_change_password: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})
    # "<issuer> <sub>" of the identity-provider account this person signs in with (None: local only).
    sso_subject: str | None = Field(default=None, max_length=500, unique=True)
    # Disabled because the SSO mapping gave them no role (a later sign-in with a role enables them again);
    # an admin's `user disable` clears this, so only `user enable` undoes it.
    disabled_by_sso: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class ApiToken(SQLModel, table=True):
    """A bearer token for an agent or a person; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    principal_kind: str = Field(max_length=10)  # agent | person
    principal: str = Field(max_length=200, index=True)
    # For an agent token: the person it works for (`agent add --for`), who may never approve its calls.
    person: str | None = Field(default=None, max_length=200)
    label: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked: bool = False


class AuditEvent(SQLModel, table=True):
    """One transition, hash-chained to the event before it."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    event_type: str = Field(max_length=50, index=True)
    call_id: str | None = Field(default=None, max_length=40, index=True)
    tool: str | None = Field(default=None, max_length=200, index=True)
    actor: str = Field(max_length=200, index=True)
    actor_kind: str = Field(max_length=10)  # agent | person | system
    before_status: str | None = Field(default=None, max_length=20)
    after_status: str | None = Field(default=None, max_length=20)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    override_reason: str | None = Field(default=None, sa_type=sa.Text)
    category: str | None = Field(default=None, max_length=100)
    args_hash: str | None = Field(default=None, max_length=64)
    data: dict[str, Any] | None = _json()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's tip, one row. Locking it serialises appends so the chain never forks."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    hash: str = Field(max_length=64)


class WebSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "web_session"

    id: str = Field(primary_key=True, max_length=64)  # sha256 hex of the cookie token
    user_name: str = Field(max_length=200, index=True)
    # Per-session CSRF token, sent back in every form and X-CSRF-Token header.
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set for a single-sign-on session: when the identity provider last vouched for the person.
    sso_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set for a single-sign-on session: the claims the mapping reads (SsoMapping.snapshot), applied
    # again at each request so a mapping edit takes effect at once.
    sso_claims: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON, nullable=True)


class LoginAttempt(SQLModel, table=True):
    """One sign-in attempt, kept to throttle password guessing by name and by address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        sa.Index("ix_login_attempt_name_at", "name", "at"),
        sa.Index("ix_login_attempt_address_at", "address", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    address: str = Field(max_length=100)
    succeeded: bool = False
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NotifyEvent(SQLModel, table=True):
    """The outbox: one event worth telling, written in the same transaction as the state change it tells.

    ``id`` is the stable event id receivers use to drop duplicates. ``key`` makes once-per-call events
    (an SLA reminder, an escalation) unique across instances; for the others it is the id.
    ``routed_at`` is set once the worker has turned the event into deliveries (see server/notify/worker.py).
    """

    __tablename__ = "notify_event"

    id: str = Field(primary_key=True, max_length=40)
    key: str = Field(unique=True, max_length=100)
    event_type: str = Field(max_length=40)
    call_id: str | None = Field(default=None, max_length=40, index=True)
    queue: str = Field(default="", max_length=100)
    payload: dict[str, Any] | None = _json()
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    routed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class NotifyDelivery(SQLModel, table=True):
    """One event to one destination (a webhook URL, an e-mail address, a Slack channel).

    ``pending`` until sent; a claim pushes ``next_attempt_at`` one lease ahead, so a worker that dies
    mid-send leaves it due again (at least once). ``dead`` after the last allowed attempt failed.
    """

    __tablename__ = "notify_delivery"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "channel", "target", name="uq_notify_delivery_once"),
        sa.Index("ix_notify_delivery_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(foreign_key="notify_event.id", index=True, max_length=40)
    channel: str = Field(max_length=20)  # webhook | email | slack
    target: str = Field(max_length=500)
    status: str = Field(default="pending", max_length=10)  # pending | sent | dead
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    # What the destination calls the message (Slack: "channel:ts"), so later events update it in place.
    reference: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class UpstreamPin(SQLModel, table=True):
    """The accepted definition of one upstream tool (trust on first use), and a changed one awaiting an admin.

    ``pinned_hash`` is the only definition the tool may run under; a different one served since is
    kept in ``pending_*`` until ``countersign upstream accept`` makes it the pin. Shared by every instance.
    """

    __tablename__ = "upstream_pin"

    tool: str = Field(primary_key=True, max_length=200)  # the listed name, UPSTREAM__tool
    upstream: str = Field(max_length=100, index=True)
    upstream_tool: str = Field(max_length=500)
    pinned_hash: str = Field(max_length=64)
    pinned_definition: dict[str, Any] | None = _json()
    pinned_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    pending_hash: str | None = Field(default=None, max_length=64)
    pending_definition: dict[str, Any] | None = _json()
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AgentRequestKey(SQLModel, table=True):
    """An agent's own idempotency key (`_meta` ``countersign/idempotency_key``) and the call it named.

    Stripe's semantics: the same key with the same request gives the same call; the same key with a
    different request is refused. ``submission_key`` is the request's fingerprint (see duplicates.py).
    """

    __tablename__ = "agent_request_key"

    agent: str = Field(primary_key=True, max_length=200)
    key: str = Field(primary_key=True, max_length=200)
    call_id: str = Field(max_length=40)
    submission_key: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AgentProfile(SQLModel, table=True):
    """Per-agent settings an admin keeps: the default inline wait of its held calls (None: the server's)."""

    __tablename__ = "agent_profile"

    agent: str = Field(primary_key=True, max_length=200)
    inline_wait: float | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
