"""single sign-on: each session keeps the claims the mapping reads, so a mapping edit applies at the next request

Revision ID: 0005_ssonext
Revises: 0004_tasks13
Create Date: 2026-12-04 20:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ssonext"
down_revision: str | Sequence[str] | None = "0004_tasks13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_claims", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_column("sso_claims")
