"""`countersign audit verify|export`: tampering is found and named; exports stream and verify offline."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from server.cli import app
from server.gateway import Gateway
from server.store import audit
from server.store.db import Store
from tests.admin.chain import bulk_chain
from tests.admin.history import seed
from tests.admin.world import Clock

runner = CliRunner()


@pytest.fixture
def history(gateway: Gateway, clock: Clock) -> None:
    seed(gateway, clock)


def _verify(database_url: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--database-url", database_url])
    return result.exit_code, result.output


def test_intact_chain_verifies_with_exit_code_zero(store: Store, history: None, database_url: str) -> None:
    code, output = _verify(database_url)
    assert code == 0 and "intact" in output


def test_a_changed_byte_is_named_by_its_event(store: Store, history: None, database_url: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET actor = actor || '.' WHERE seq = 9"))
    code, output = _verify(database_url)
    assert code == 1 and "event 9" in output


def test_a_deleted_row_is_named(store: Store, history: None, database_url: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE seq = 12"))
    code, output = _verify(database_url)
    assert code == 1 and "event 12" in output


def test_swapped_rows_are_named(store: Store, history: None, database_url: str) -> None:
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET seq = -1 WHERE seq = 3"))
        conn.execute(sa.text("UPDATE audit_event SET seq = 3 WHERE seq = 4"))
        conn.execute(sa.text("UPDATE audit_event SET seq = 4 WHERE seq = -1"))
    code, output = _verify(database_url)
    assert code == 1 and "event 3" in output


def test_exported_file_verifies_and_an_edited_copy_does_not(
    store: Store, history: None, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "audit.jsonl"
    result = runner.invoke(
        app, ["audit", "export", "--format", "jsonl", "--output", str(out), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["audit", "verify", "--file", str(out)]).exit_code == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[4])
    row["actor"] = "mallory"
    lines[4] = json.dumps(row)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["audit", "verify", "--file", str(out)])
    assert result.exit_code == 1 and "event 5" in result.output


def test_csv_export_has_a_header_and_one_row_per_event(
    store: Store, history: None, database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "audit.csv"
    result = runner.invoke(
        app, ["audit", "export", "--format", "csv", "--output", str(out), "--database-url", database_url]
    )
    assert result.exit_code == 0
    with store.read() as session:
        events = audit.verify(session).events
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["seq", "at", "event_type"]
    assert [int(row[0]) for row in rows[1:]] == list(range(1, events + 1))


@pytest.mark.slow  # 100,000 events: a soak, run by `make test-slow`
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # 100,000 rows: SQLite only keeps the suite quick
def test_a_100000_event_export_streams_in_bounded_memory_and_verifies(database_url: str, tmp_path: Path) -> None:
    store = Store.open(database_url)
    try:
        bulk_chain(store.engine, 100_000)
        out = tmp_path / "audit.jsonl"
        tracemalloc.start()
        try:
            with store.read() as session, out.open("w", encoding="utf-8") as handle:
                for chunk in audit.export_jsonl(session):
                    handle.write(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        size = out.stat().st_size
        assert size > 40_000_000
        # One page of 1,000 events in memory at a time: a few MB against the 50+ MB file.
        assert peak < size / 5, f"peak {peak} bytes for a {size}-byte export"
        with out.open(encoding="utf-8") as handle:
            report = audit.verify_rows(json.loads(line) for line in handle)
        assert report.ok and report.events == 100_000
        code, output = _verify(database_url)
        assert code == 0 and "100000 events" in output
    finally:
        store.close()
