"""The attack: rewrite the audit trail so the chain still verifies; a signed anchor kept elsewhere catches it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from server.audit_anchor import AnchorError, sign, signing_key
from server.cli import app
from server.config import Settings
from server.store import audit
from server.store.audit import GENESIS_HASH, event_hash
from server.store.db import Store
from server.store.models import AuditEvent
from tests.admin.chain import bulk_chain

KEY = "k" * 40
runner = CliRunner()
EVENTS = 30


def _cli(*args: str, key: str = KEY) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COUNTERSIGN_SECRET_KEY": key, "COUNTERSIGN_ENVIRONMENT": "test"})
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def anchored(store: Store, database_url: str) -> dict[str, Any]:
    """A 30-event chain and the anchor an operator stored elsewhere."""
    bulk_chain(store.engine, EVENTS)
    code, out, err = _cli("audit", "anchor", "--database-url", database_url)
    assert code == 0, err
    anchor: dict[str, Any] = json.loads(out)
    assert anchor["seq"] == EVENTS
    return anchor


def _verify(database_url: str, anchor: dict[str, Any] | str) -> tuple[int, str]:
    given = anchor if isinstance(anchor, str) else json.dumps(anchor)
    code, out, err = _cli("audit", "verify", "--database-url", database_url, "--anchor", given)
    return code, out + err


def _chain_alone_verifies(database_url: str) -> bool:
    return _cli("audit", "verify", "--database-url", database_url)[0] == 0


def _rows(store: Store) -> list[dict[str, Any]]:
    """The trail as exported: the hashed fields (``at`` as text) and each event's hash."""
    with store.read() as session:
        return list(audit.export_rows(session))


def _rewrite(store: Store, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> None:
    """Replace the whole trail with an edited one and recompute every hash: a chain that verifies."""
    rows = edit(_rows(store))
    prev = GENESIS_HASH
    for seq, row in enumerate(rows, start=1):
        row.update(seq=seq, prev_hash=prev)
        prev = row["hash"] = event_hash(row)
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    with store.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_event"))
        if rows:
            conn.execute(sa.insert(table), [{**row, "at": datetime.fromisoformat(row["at"])} for row in rows])
        conn.execute(sa.text("UPDATE audit_head SET seq = :seq, hash = :hash"), {"seq": len(rows), "hash": prev})


def test_an_untouched_chain_contains_its_anchor(anchored: dict[str, Any], database_url: str, tmp_path: Path) -> None:
    store = Store.open(database_url)
    try:
        bulk_chain(store.engine, 5)  # events appended after the anchor do not disturb it
    finally:
        store.close()
    saved = tmp_path / "anchor.json"
    saved.write_text(json.dumps(anchored), encoding="utf-8")
    code, output = _verify(database_url, str(saved))
    assert code == 0 and f"anchored event {EVENTS}" in output, output


def test_truncated_and_recomputed_chain_verifies_alone_but_fails_its_anchor(
    anchored: dict[str, Any], store: Store, database_url: str
) -> None:
    # Every approval by rita removed, the chain recomputed and topped up to its old length: valid, and a lie.
    _rewrite(store, lambda rows: [row for row in rows if row["actor"] != "rita"])
    bulk_chain(store.engine, EVENTS - len(_rows(store)))
    assert len(_rows(store)) == EVENTS
    assert _chain_alone_verifies(database_url)
    code, output = _verify(database_url, anchored)
    assert code == 1 and f"event {EVENTS} no longer has the anchored hash" in output, output


def test_head_moved_back_verifies_alone_but_fails_its_anchor(
    anchored: dict[str, Any], store: Store, database_url: str
) -> None:
    _rewrite(store, lambda rows: rows[:20])
    assert _chain_alone_verifies(database_url)
    code, output = _verify(database_url, anchored)
    assert code == 1 and f"no longer contains anchored event {EVENTS}" in output, output


def test_one_event_rewritten_and_the_rest_recomputed_fails_its_anchor(
    anchored: dict[str, Any], store: Store, database_url: str
) -> None:
    def approve_as_someone_else(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rows[11]["actor"] = "mallory"
        return rows

    _rewrite(store, approve_as_someone_else)
    assert _chain_alone_verifies(database_url)
    code, output = _verify(database_url, anchored)
    assert code == 1 and "recomputed" in output, output


def test_a_forged_anchor_for_the_rewritten_head_is_rejected(
    anchored: dict[str, Any], store: Store, database_url: str
) -> None:
    _rewrite(store, lambda rows: rows[:20])
    head = _rows(store)[-1]
    forged = {**anchored, "seq": 20, "hash": head["hash"]}  # the signature still the old head's
    code, output = _verify(database_url, forged)
    assert code == 1 and "signature is wrong" in output, output
    guessed_key = {**forged, "signature": sign(20, head["hash"], anchored["time"], b"changeme")}
    code, output = _verify(database_url, guessed_key)
    assert code == 1 and "signature is wrong" in output, output


def test_an_anchor_checked_with_another_secret_key_is_rejected(anchored: dict[str, Any], database_url: str) -> None:
    code, out, err = _cli(
        "audit", "verify", "--database-url", database_url, "--anchor", json.dumps(anchored), key="o" * 40
    )
    assert code == 1 and "signature is wrong" in err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("given", "says"),
    [("{not json", "not JSON"), ('{"seq": 1}', "not an audit anchor"), ("/no/such/anchor.json", "readable file")],
)
def test_an_unreadable_anchor_is_one_clear_error(store: Store, database_url: str, given: str, says: str) -> None:
    code, output = _verify(database_url, given)
    assert code == 2 and says in output and output.count("\n") == 1, output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_tampered_chain_is_not_anchored(store: Store, database_url: str) -> None:
    bulk_chain(store.engine, 5)
    with store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3"))
    code, out, err = _cli("audit", "anchor", "--database-url", database_url)
    assert code == 1 and out == "" and "does not verify" in err


class _Receiver(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:
        self.received.append(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/anchors"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_anchor_is_also_posted_to_a_webhook(store: Store, database_url: str, webhook: str) -> None:
    bulk_chain(store.engine, 3)
    code, out, err = _cli("audit", "anchor", "--database-url", database_url, "--webhook", webhook)
    assert code == 0, err
    assert [json.loads(body) for body in _Receiver.received] == [json.loads(out)]


@pytest.mark.parametrize("secret", ["", "changeme", "development-only-secret"])
def test_the_signing_key_is_refused_when_unset_or_a_placeholder_outside_development(secret: str) -> None:
    # Settings already refuses these; the signer refuses them too, whatever built its settings.
    settings = Settings.model_construct(environment="production", secret_key=secret)
    with pytest.raises(AnchorError, match="COUNTERSIGN_SECRET_KEY"):
        signing_key(settings)
