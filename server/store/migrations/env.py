"""Alembic environment: always driven programmatically by server.store.db.migrate()."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import server.store.models  # noqa: F401 - registers the tables on SQLModel.metadata


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """The demo back office keeps its own ``bo_`` tables in the same database; they are not ours to migrate."""
    return not (type_ == "table" and name is not None and name.startswith("bo_"))


connection = context.config.attributes["connection"]
context.configure(
    include_name=include_name,
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=True,  # SQLite needs table rebuilds for ALTERs
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
