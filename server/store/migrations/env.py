"""Alembic environment: always driven programmatically by server.store.db.migrate()."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import server.store.models  # noqa: F401 - registers the tables on SQLModel.metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite needs table rebuilds for ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
