"""`countersign migrate` and `serve`'s schema gate: upgrades are a deliberate step, one migrator at a time."""

from __future__ import annotations

import subprocess

import pytest
import sqlalchemy as sa
from alembic import command

from server.store.db import StoreNotReady, alembic_config, migrate
from server.store.engine import make_engine
from server.store.schema import current_revision, head_revision, ready_to_serve
from tests.mcp.support import COUNTERSIGN, free_port, process_env

OLDER = "0003_upstream"


def _set_up_at(database_url: str, revision: str) -> None:
    """A database as an older version of Countersign left it."""
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), revision)
    finally:
        engine.dispose()


def _revisions(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]
    finally:
        engine.dispose()


def _countersign(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COUNTERSIGN, *args],
        env=process_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_serve_refuses_an_older_schema_in_one_line_that_says_what_to_run(database_url: str) -> None:
    _set_up_at(database_url, OLDER)

    done = _countersign(database_url, "serve", "--port", str(free_port()))

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line == (
        f"error: the database schema is at revision {OLDER}, this version needs {head_revision()}: "
        "run `countersign migrate` first (or start with `countersign serve --migrate`)"
    )
    assert _revisions(database_url) == [OLDER]  # nothing was changed


@pytest.mark.parametrize(
    "args",
    [["user", "list"], ["agent", "add", "bot"], ["tool", "list"], ["token", "revoke", "--user", "ana"]],
    ids=" ".join,
)
def test_a_cli_command_refuses_an_older_schema_instead_of_upgrading_it_on_the_side(
    database_url: str, args: list[str]
) -> None:
    _set_up_at(database_url, OLDER)

    done = _countersign(database_url, *args)

    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "run `countersign migrate` first" in line
    assert _revisions(database_url) == [OLDER]  # upgrading stays a deliberate step of the release


def test_migrate_upgrades_an_older_schema_and_check_says_whether_one_is_due(database_url: str) -> None:
    _set_up_at(database_url, OLDER)

    due = _countersign(database_url, "migrate", "--check")
    done = _countersign(database_url, "migrate")

    assert due.returncode == 1 and "run `countersign migrate`" in due.stdout
    assert done.returncode == 0 and done.stdout.strip() == f"schema upgraded from {OLDER} to {head_revision()}"
    assert _revisions(database_url) == [head_revision()]


def test_an_empty_database_is_set_up_and_an_older_schema_is_upgraded_only_when_asked(database_url: str) -> None:
    fresh = make_engine(database_url)
    try:
        ready_to_serve(fresh, upgrade_allowed=False)  # a first start: an empty database is set up
        assert current_revision(fresh) == head_revision()
    finally:
        fresh.dispose()


def test_serve_migrate_upgrades_an_older_schema(database_url: str) -> None:
    _set_up_at(database_url, OLDER)
    engine = make_engine(database_url)
    try:
        with pytest.raises(StoreNotReady):
            ready_to_serve(engine, upgrade_allowed=False)
        ready_to_serve(engine, upgrade_allowed=True)  # what `serve --migrate` does
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_two_instances_racing_migrate_on_a_fresh_database_apply_each_revision_once(database_url: str) -> None:
    env = process_env(database_url)
    racers = [
        subprocess.Popen([COUNTERSIGN, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(racer.communicate(timeout=120), racer.returncode) for racer in racers]

    for (_, err), code in results:
        assert code == 0, err
    said = sorted(out.strip() for (out, _), _ in results)
    head = head_revision()
    # One applied everything; the other waited on the lock, then found nothing to do.
    assert said == sorted([f"schema already current ({head})", f"schema upgraded from nothing to {head}"])
    assert _revisions(database_url) == [head]


def test_serve_refuses_a_schema_from_a_newer_version_without_touching_it(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        ready_to_serve(engine, upgrade_allowed=False)
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_future'"))
        with pytest.raises(StoreNotReady, match="0099_future, which this version does not know"):
            ready_to_serve(engine, upgrade_allowed=True)
        assert current_revision(engine) == "0099_future"
    finally:
        engine.dispose()


def test_the_session_claims_snapshot_column_comes_and_goes_with_its_migration(database_url: str) -> None:
    def columns() -> set[str]:
        engine = make_engine(database_url)
        try:
            with engine.connect() as conn:
                return {c["name"] for c in sa.inspect(conn).get_columns("web_session")}
        finally:
            engine.dispose()

    _set_up_at(database_url, "0004_tasks13")
    assert "sso_claims" not in columns()
    _set_up_at(database_url, "0005_ssonext")
    assert "sso_claims" in columns() and "sso_checked_at" in columns()
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0004_tasks13")
    finally:
        engine.dispose()
    assert "sso_claims" not in columns() and "sso_checked_at" in columns()
    assert _revisions(database_url) == ["0004_tasks13"]
    _set_up_at(database_url, "head")
    assert "sso_claims" in columns()


def test_an_upgrade_logs_the_revisions_it_runs_and_not_alembics_dialect_chatter(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(database_url)
    try:
        with caplog.at_level("INFO", logger="alembic"):
            migrate(engine)
            migrate(engine)  # a start on a current schema: nothing to say
    finally:
        engine.dispose()

    said = [record.getMessage() for record in caplog.records if record.name.startswith("alembic")]
    assert said[0].startswith("Running upgrade  -> 0001")
    assert len(said) == len([line for line in said if line.startswith("Running upgrade")])
