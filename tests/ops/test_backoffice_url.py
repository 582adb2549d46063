"""COUNTERSIGN_BACKOFFICE_URL: the built-in tools' back office in a database of its own.

Unset, the back office's ``bo_`` tables live in the gateway's database (the demo). Set, the tools read
and write only that database, the gateway's holds none of them, and closing the runtime closes it.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from server.lifecycle.records import NewCall
from tests.mcp.support import make_runtime, make_settings, one_error_line, run_as_newcomer
from tools.backoffice import ids


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_the_tools_use_the_back_office_database_and_the_gateways_holds_no_back_office_table(
    database_url: str, tmp_path: Path
) -> None:
    office_url = f"sqlite:///{tmp_path / 'backoffice.db'}"
    runtime = make_runtime(make_settings(database_url, backoffice_url=office_url, journal_writer="thread"))
    try:
        customer = {"customer_id": ids.REFUND_CUSTOMER_ID}
        submission = runtime.gateway.submit(NewCall(tool="get_customer", arguments=customer, agent="agent-a"))
        assert submission.ran is not None and not submission.ran["is_error"]
        assert submission.ran["result"]["customer"]["id"] == ids.REFUND_CUSTOMER_ID
        assert not [table for table in sa.inspect(runtime.store.engine).get_table_names() if table.startswith("bo_")]
        assert runtime.office.engine.pool.checkedin() >= 1
    finally:
        runtime.close()
    assert runtime.office.engine.pool.checkedin() == 0  # closed with the runtime
    assert "bo_customer" in _tables(office_url)


def test_without_a_backoffice_url_the_back_office_shares_the_gateways_database(database_url: str) -> None:
    runtime = make_runtime(make_settings(database_url, journal_writer="thread"))
    try:
        assert runtime.office.engine is runtime.store.engine
        assert "bo_customer" in sa.inspect(runtime.store.engine).get_table_names()
    finally:
        runtime.close()


def test_an_unusable_backoffice_url_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'countersign.db'}"
    for office_url in ("not a database url", "sqlite:////nonexistent-countersign-dir/bo.db"):
        result = run_as_newcomer(["demo", "--port", "0"], database_url, tmp_path, COUNTERSIGN_BACKOFFICE_URL=office_url)
        line = one_error_line(result)
        assert "back office database (COUNTERSIGN_BACKOFFICE_URL) cannot be used" in line, line
    assert not (tmp_path / "countersign.db").exists()  # refused before the gateway's database was touched
