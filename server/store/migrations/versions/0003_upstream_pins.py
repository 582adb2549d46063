"""upstream tool pins

Revision ID: 0003_upstream
Revises: 0002
Create Date: 2026-12-04 13:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.store.types

revision: str = "0003_upstream"
down_revision: str | Sequence[str] | None = "0003_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "upstream_pin",
        sa.Column("tool", sa.String(length=200), nullable=False),
        sa.Column("upstream", sa.String(length=100), nullable=False),
        sa.Column("upstream_tool", sa.String(length=500), nullable=False),
        sa.Column("pinned_hash", sa.String(length=64), nullable=False),
        sa.Column("pinned_definition", sa.JSON(), nullable=True),
        sa.Column("pinned_at", server.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pending_hash", sa.String(length=64), nullable=True),
        sa.Column("pending_definition", sa.JSON(), nullable=True),
        sa.Column("changed_at", server.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tool"),
    )
    with op.batch_alter_table("upstream_pin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upstream_pin_upstream"), ["upstream"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("upstream_pin", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upstream_pin_upstream"))
    op.drop_table("upstream_pin")
