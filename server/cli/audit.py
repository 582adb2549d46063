"""`countersign audit ...`: verify the hash chain, export the trail (streaming, any size)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from server.audit_query import describe_chain
from server.config import Settings
from server.store import audit
from server.store.db import Store

app = typer.Typer(no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Database URL (default: COUNTERSIGN_DATABASE_URL).")
]


class Format(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


def _open(database_url: str | None) -> Store:
    # Reading only: never migrate the database being checked.
    return Store.open_existing(database_url or Settings().database_url)


@app.command()
def verify(
    database_url: DatabaseUrl = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an exported JSON Lines file instead of the database.")
    ] = None,
) -> None:
    """Check every event's hash and link; exit 1 naming the first broken event."""
    if file is not None:
        with file.open(encoding="utf-8") as handle:
            report = audit.verify_rows(_json_lines(handle))
    else:
        store = _open(database_url)
        try:
            with store.read() as session:
                report = audit.verify(session)
        finally:
            store.close()
    typer.echo(describe_chain(report), err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)


def _json_lines(handle: TextIO) -> Iterator[dict[str, Any]]:
    for line in handle:
        if line.strip():
            yield json.loads(line)


@app.command()
def export(
    fmt: Annotated[Format, typer.Option("--format", help="jsonl (verifiable offline) or csv.")] = Format.JSONL,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Write every event in order, streaming: memory stays flat for any size of trail."""
    store = _open(database_url)
    try:
        with store.read() as session:
            chunks = audit.export_jsonl(session) if fmt == Format.JSONL else audit.export_csv(session)
            if output is None:
                _write(chunks, sys.stdout)
            else:
                # newline="": the CSV writer already ends rows with CRLF; do not translate them.
                with output.open("w", encoding="utf-8", newline="") as handle:
                    _write(chunks, handle)
    finally:
        store.close()
    if output is not None:
        typer.echo(f"wrote {output}", err=True)


def _write(chunks: Iterator[str], handle: TextIO) -> None:
    for chunk in chunks:
        handle.write(chunk)
    handle.flush()
