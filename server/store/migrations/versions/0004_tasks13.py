"""retry-safe submission, agent idempotency keys, per-agent inline wait

Revision ID: 0004_tasks13
Revises: 0004_notify14
Create Date: 2026-12-04 16:30:00.000000

A held call records its submission key (agent, server, tool, canonical arguments); a partial unique
index allows one held call per key, so racing retries attach to one call. Agents' own idempotency
keys get a table, and agents a profile holding their default inline wait.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.store.types

# Written out, not imported: a migration keeps the schema of its day.
HELD_ONLY = "status = 'held'"

revision: str = "0004_tasks13"
down_revision: str | Sequence[str] | None = "0004_notify14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tool_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("submission_key", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "uq_tool_call_held_submission",
            ["submission_key"],
            unique=True,
            sqlite_where=sa.text(HELD_ONLY),
            postgresql_where=sa.text(HELD_ONLY),
        )
        batch_op.create_index("ix_tool_call_submission_decided", ["submission_key", "decided_at"], unique=False)
    op.create_table(
        "agent_request_key",
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("submission_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent", "key"),
    )
    op.create_table(
        "agent_profile",
        sa.Column("agent", sa.String(length=200), nullable=False),
        sa.Column("inline_wait", sa.Float(), nullable=True),
        sa.Column("updated_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("agent"),
    )


def downgrade() -> None:
    op.drop_table("agent_profile")
    op.drop_table("agent_request_key")
    with op.batch_alter_table("tool_call", schema=None) as batch_op:
        batch_op.drop_index("ix_tool_call_submission_decided")
        batch_op.drop_index("uq_tool_call_held_submission")
        batch_op.drop_column("submission_key")
