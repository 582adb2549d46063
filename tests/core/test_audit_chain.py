"""The audit chain detects a changed byte, a deleted row and swapped rows."""

from __future__ import annotations

import json

import sqlalchemy as sa

from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.store import audit
from server.store.db import Store
from tests.core.conftest import hold


def _history(store: Store) -> None:
    for i in range(3):
        call = hold(store, arguments={"amount": float(i + 1)})
        decisions.approve(store, call.id, Person(f"r{i}", "reviewer"), reason="ok")


def _verify(store: Store) -> audit.ChainReport:
    with store.read() as session:
        return audit.verify(session)


def test_untouched_chain_verifies(store: Store) -> None:
    _history(store)
    report = _verify(store)
    assert report.ok and report.events == 6


def test_changed_byte_is_detected_at_its_event(store: Store) -> None:
    _history(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET reason = 'oK' WHERE seq = 4"))
    report = _verify(store)
    assert not report.ok and report.broken_seq == 4


def test_deleted_row_is_detected(store: Store) -> None:
    _history(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE seq = 3"))
    report = _verify(store)
    assert not report.ok and report.broken_seq == 3


def test_deleted_last_row_is_detected(store: Store) -> None:
    _history(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event WHERE seq = 6"))
    assert not _verify(store).ok


def test_swapped_rows_are_detected(store: Store) -> None:
    _history(store)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET seq = -2 WHERE seq = 2"))
        conn.execute(sa.text("UPDATE audit_event SET seq = 2 WHERE seq = 5"))
        conn.execute(sa.text("UPDATE audit_event SET seq = 5 WHERE seq = -2"))
    report = _verify(store)
    assert not report.ok and report.broken_seq == 2


def test_exported_jsonl_verifies_offline_and_detects_edits(store: Store) -> None:
    _history(store)
    with store.read() as session:
        lines = list(audit.export_jsonl(session, batch=2))
    rows = [json.loads(line) for line in lines]
    assert audit.verify_rows(iter(rows)).ok
    rows[1]["actor"] = "mallory"
    assert audit.verify_rows(iter(rows)).broken_seq == 2


def test_batched_events_chain_exactly_like_single_ones(store: Store) -> None:
    _history(store)
    when = store.now()
    with store.raw_write() as tx:
        audit.append_many(
            tx,
            [
                {"at": when, "event_type": "allowed", "actor": f"a{i}", "actor_kind": "agent", "data": {"i": i}}
                for i in range(3)
            ],
        )
    with store.write() as session:
        audit.append(session, at=when, event_type="note", actor="root", actor_kind="person")
    report = _verify(store)
    assert report.ok and report.events == 10
