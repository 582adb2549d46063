"""`countersign migrate`: bring the database schema to this version's, one migrator at a time."""

from __future__ import annotations

from typing import Annotated

import typer

from server.config import Settings
from server.store.engine import make_engine
from server.store.schema import current_revision, head_revision, upgrade


def register(app: typer.Typer) -> None:
    app.command()(migrate)


def migrate(
    check: Annotated[
        bool, typer.Option("--check", help="Only say whether an upgrade is due (exit 1 when it is); change nothing.")
    ] = False,
) -> None:
    """Upgrade the database schema (COUNTERSIGN_DATABASE_URL) to this version's; safe to run from many instances."""
    engine = make_engine(Settings().database_url)
    try:
        head = head_revision()
        if check:
            current = current_revision(engine)
            if current != head:
                typer.echo(f"schema at {current or 'nothing'}; this version needs {head}: run `countersign migrate`")
                raise typer.Exit(1)
            typer.echo(f"schema is current ({head})")
            return
        before, after = upgrade(engine)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"schema already current ({after})")
    else:
        typer.echo(f"schema upgraded from {before or 'nothing'} to {after}")
