"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 04:45:54.866185
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.store.types

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("principal_kind", sa.String(length=10), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_principal"), ["principal"], unique=False)

    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=500), nullable=True),
        sa.Column("queues", sa.JSON(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_type", sa.String(length=50), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=True),
        sa.Column("tool", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("before_status", sa.String(length=20), nullable=True),
        sa.Column("after_status", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("args_hash", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_event_type"), ["event_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_event_tool"), ["tool"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The chain starts from a known genesis hash (see server/store/audit.py).
    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash")),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )
    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "tool_call",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("server", sa.String(length=200), nullable=False),
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("on_behalf_of", sa.String(length=200), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("proposed_arguments", sa.Text(), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("args_hash", sa.String(length=64), nullable=False),
        sa.Column("justification", sa.JSON(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("evidence_count", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("risk", sa.String(length=10), nullable=False),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("required_approvals", sa.Integer(), nullable=False),
        sa.Column("approvals", sa.Integer(), nullable=False),
        sa.Column("exposure_amount", sa.Float(), nullable=True),
        sa.Column("exposure_currency", sa.String(length=3), nullable=True),
        sa.Column("customer", sa.String(length=200), nullable=True),
        sa.Column("customer_impact", sa.String(length=10), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sla_due_at", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("claim_token", sa.String(length=40), nullable=True),
        sa.Column("lease_until", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("is_error", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tool_call", schema=None) as batch_op:
        batch_op.create_index("ix_tool_call_agent_status", ["agent", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_tool_call_customer"), ["customer"], unique=False)
        batch_op.create_index(batch_op.f("ix_tool_call_queue"), ["queue"], unique=False)
        batch_op.create_index(batch_op.f("ix_tool_call_status"), ["status"], unique=False)
        batch_op.create_index("ix_tool_call_status_priority", ["status", "priority"], unique=False)
        batch_op.create_index("ix_tool_call_tool_created", ["tool", "created_at"], unique=False)
        batch_op.create_index("ix_tool_call_action_created", ["action", "created_at"], unique=False)

    op.create_table(
        "tool_risk_override",
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("risk", sa.String(length=10), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("updated_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tool"),
    )
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("edited_arguments", sa.Text(), nullable=True),
        sa.Column("diff", sa.JSON(), nullable=True),
        sa.Column("args_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["tool_call.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("call_id", "actor", "kind", "args_hash", name="uq_decision_once"),
    )
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_call_id"), ["call_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_call_id"))

    op.drop_table("decision")
    op.drop_table("tool_risk_override")
    with op.batch_alter_table("tool_call", schema=None) as batch_op:
        batch_op.drop_index("ix_tool_call_action_created")
        batch_op.drop_index("ix_tool_call_tool_created")
        batch_op.drop_index("ix_tool_call_status_priority")
        batch_op.drop_index(batch_op.f("ix_tool_call_status"))
        batch_op.drop_index(batch_op.f("ix_tool_call_queue"))
        batch_op.drop_index(batch_op.f("ix_tool_call_customer"))
        batch_op.drop_index("ix_tool_call_agent_status")

    op.drop_table("tool_call")
    op.drop_table("setting")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_tool"))
        batch_op.drop_index(batch_op.f("ix_audit_event_event_type"))
        batch_op.drop_index(batch_op.f("ix_audit_event_call_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_at"))
        batch_op.drop_index(batch_op.f("ix_audit_event_actor"))

    op.drop_table("audit_event")
    op.drop_table("app_user")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_principal"))

    op.drop_table("api_token")
