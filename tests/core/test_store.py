"""The store: migrations match the models, SQLite runs durable, closing leaves no connection open, settings
refuse placeholder secrets."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import ValidationError
from sqlmodel import SQLModel

from server.config import Settings
from server.store.db import Store, StoreUnavailable, migrate


def test_migrations_produce_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []


def test_migrate_twice_is_harmless(store: Store) -> None:
    migrate(store.engine)
    assert store.ping()


def test_sqlite_runs_with_wal_and_full_sync(tmp_path: object) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/x.db")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    store.close()


def _open(store: Store, dbapi_connection: Any) -> bool:
    try:
        dbapi_connection.cursor().close()
    except store.engine.dialect.loaded_dbapi.Error:  # psycopg and sqlite3 refuse a cursor on a closed connection
        return False
    return True


def test_a_connection_in_use_when_the_store_closes_is_closed_once_given_back(database_url: str) -> None:
    store = Store.open(database_url)
    with store.write() as session:  # as a lease heartbeat renewing while the process shuts down
        session.execute(sa.text("SELECT 1"))
        in_use = session.connection().connection.dbapi_connection
        store.close()
        assert _open(store, in_use)  # the transaction in flight still finishes
    assert not _open(store, in_use)


def test_a_closed_store_closes_what_a_late_caller_checks_out(database_url: str) -> None:
    store = Store.open(database_url)
    store.close()
    with store.read() as session:
        session.execute(sa.text("SELECT 1"))
        late = session.connection().connection.dbapi_connection
    assert not _open(store, late)


def test_dead_database_reports_unavailable() -> None:
    store = Store(sa_engine := sa.create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    assert not store.ping()
    with pytest.raises(StoreUnavailable), store.write() as session:
        session.execute(sa.text("SELECT 1"))
    sa_engine.dispose()


@pytest.mark.parametrize("secret", ["changeme", "development-only-secret", "short"])
def test_placeholder_secret_is_refused_in_production(secret: str) -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production", secret_key=secret)


def test_real_secret_is_accepted_in_production() -> None:
    assert Settings(environment="production", secret_key="x" * 40).environment == "production"


def test_settings_read_the_countersign_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUNTERSIGN_INLINE_WAIT_SECONDS", "12")
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", "sqlite:///elsewhere.db")
    settings = Settings()
    assert settings.inline_wait_seconds == 12
    assert settings.database_url == "sqlite:///elsewhere.db"
