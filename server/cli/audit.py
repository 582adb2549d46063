"""`countersign audit ...`: verify the hash chain, export the trail (streaming, any size)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TextIO

import typer

from server import audit_anchor
from server.audit_anchor import AnchorError
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
    anchor: Annotated[
        str | None,
        typer.Option(
            "--anchor", help="An anchor from `audit anchor` (a file, or its JSON): the chain must still contain it."
        ),
    ] = None,
) -> None:
    """Check every event's hash and link; exit 1 naming the first broken event (or the anchor that fails)."""
    checked: tuple[audit_anchor.Anchor, bytes] | None = None
    if file is not None:
        if anchor is not None:
            _refuse("--anchor checks the database's chain; it cannot be combined with --file")
        with file.open(encoding="utf-8") as handle:
            try:
                report = audit.verify_rows(_json_lines(handle))
            except UnicodeDecodeError as exc:
                _refuse(f"{file}: not a text file of JSON lines ({exc.reason} at byte {exc.start})", code=1)
    else:
        # Parsed and keyed before the database is read: a bad anchor is the operator's first thing to fix.
        if anchor is not None:
            checked = (_read_anchor(anchor), _signing_key(Settings()))
        store = _open(database_url)
        try:
            with store.read() as session:
                report = audit.verify(session)
                if report.ok and checked is not None:
                    try:
                        audit_anchor.check(session, *checked)
                    except AnchorError as exc:
                        typer.echo(f"audit chain fails its anchor: {exc}", err=True)
                        raise typer.Exit(1) from exc
        finally:
            store.close()
    suffix = f"; contains the anchored event {checked[0].seq}" if report.ok and checked is not None else ""
    typer.echo(describe_chain(report) + suffix, err=not report.ok)
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def anchor(
    database_url: DatabaseUrl = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="Also POST the anchor (JSON) to this URL, e.g. another system's.")
    ] = None,
) -> None:
    """Print the signed chain head (one JSON line) to store outside this database; see `audit verify --anchor`."""
    if webhook is not None:
        _webhook_url(webhook)  # before anything is signed or printed
    settings = Settings()
    key = _signing_key(settings)
    store = _open(database_url)
    try:
        with store.read() as session:
            signed = audit_anchor.anchor_head(session, key, store.now())
    except AnchorError as exc:
        _refuse(str(exc), code=1)
    finally:
        store.close()
    typer.echo(signed.as_json())
    if audit_anchor.is_development_key(settings):
        typer.echo("warning: signed with the development secret; set COUNTERSIGN_SECRET_KEY for real use", err=True)
    if webhook is not None:
        _post(webhook, signed.as_json())


def _signing_key(settings: Settings) -> bytes:
    try:
        return audit_anchor.signing_key(settings)
    except AnchorError as exc:
        _refuse(str(exc))


def _post(url: str, body: str) -> None:
    import httpx2

    try:
        response = httpx2.post(url, content=body, headers={"content-type": "application/json"}, timeout=10)
    except httpx2.HTTPError as exc:
        _refuse(f"the anchor was not delivered to the webhook: {exc}", code=1)
    if response.status_code >= 300:
        _refuse(f"the webhook answered {response.status_code}; the anchor above was not accepted", code=1)
    typer.echo(f"sent to {url}", err=True)


def _webhook_url(url: str) -> None:
    if not url.startswith(("https://", "http://")):
        _refuse(f"--webhook takes an http(s) URL, not {url[:80]!r}")


def _read_anchor(given: str) -> audit_anchor.Anchor:
    text = given
    if not given.lstrip().startswith("{"):
        path = Path(given)
        try:
            if path.stat().st_size > audit_anchor.MAX_ANCHOR_CHARS:
                _refuse(f"{given}: too large for an anchor")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            _refuse(f"--anchor is neither anchor JSON nor a readable file: {exc}")
    try:
        return audit_anchor.parse(text)
    except AnchorError as exc:
        _refuse(str(exc))


def _refuse(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _json_lines(handle: TextIO) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(handle, start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:  # not an export: name the line, as for a broken event
                _refuse(f"{handle.name}:{number}: not a JSON line of an audit export ({exc.msg})", code=1)


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
