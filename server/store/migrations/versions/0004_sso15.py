"""single sign-on: forced password change, the identity-provider subject, re-checked SSO sessions

Revision ID: 0004_sso15
Revises: 0003_notify
Create Date: 2026-12-04 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import server.store.types

revision: str = "0004_sso15"
down_revision: str | Sequence[str] | None = "0003_notify"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("sso_subject", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("disabled_by_sso", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_unique_constraint("uq_app_user_sso_subject", ["sso_subject"])
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_checked_at", server.store.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_column("sso_checked_at")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint("uq_app_user_sso_subject", type_="unique")
        batch_op.drop_column("disabled_by_sso")
        batch_op.drop_column("sso_subject")
        batch_op.drop_column("must_change_password")
