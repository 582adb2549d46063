"""agents bound to a person; the bound person recorded on each call

Revision ID: 0003_review
Revises: 0002
Create Date: 2026-12-04 13:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_review"
down_revision: str | Sequence[str] | None = "0003_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person", sa.String(length=200), nullable=True))
    with op.batch_alter_table("tool_call", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bound_person", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tool_call", schema=None) as batch_op:
        batch_op.drop_column("bound_person")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("person")
