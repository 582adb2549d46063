"""notification outbox and deliveries

Revision ID: 0003_notify
Revises: 0002
Create Date: 2026-12-04 13:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.store.types

revision: str = "0003_notify"
down_revision: str | Sequence[str] | None = "0003_upstream"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notify_event",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("created_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("routed_at", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("notify_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_event_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_event_routed_at"), ["routed_at"], unique=False)

    op.create_table(
        "notify_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("created_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["notify_event.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id", "channel", "target", name="uq_notify_delivery_once"),
    )
    with op.batch_alter_table("notify_delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_delivery_event_id"), ["event_id"], unique=False)
        batch_op.create_index("ix_notify_delivery_status_next", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.create_unique_constraint("uq_app_user_email", ["email"])


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint("uq_app_user_email", type_="unique")
        batch_op.drop_column("email")
    with op.batch_alter_table("notify_delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_delivery_status_next")
        batch_op.drop_index(batch_op.f("ix_notify_delivery_event_id"))
    op.drop_table("notify_delivery")
    with op.batch_alter_table("notify_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_event_routed_at"))
        batch_op.drop_index(batch_op.f("ix_notify_event_call_id"))
    op.drop_table("notify_event")
