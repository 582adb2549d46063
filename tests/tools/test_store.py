"""The back office store: its own tables, read-only reads, exact money, both backends."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from tools.backoffice import BackOffice, ids, make_engine, normalize_url
from tools.backoffice import tables as t
from tools.backoffice.store import utcnow


def test_postgresql_urls_get_the_psycopg_driver() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"


def test_back_office_tables_are_prefixed_and_kept_apart_from_the_gateway() -> None:
    assert all(name.startswith("bo_") for name in t.metadata.tables)
    assert not set(t.metadata.tables) & set(SQLModel.metadata.tables)


def test_create_is_safe_to_repeat_and_starts_empty(empty_office: BackOffice) -> None:
    again = BackOffice.create(empty_office.engine)
    assert again.is_empty()
    assert set(again.dump()) == set(t.metadata.tables)


def test_reads_cannot_write(office: BackOffice) -> None:
    with pytest.raises(DBAPIError), office.read() as conn:
        conn.execute(t.notes.delete())
    assert office.dump()["bo_note"]
    # The read-only mode does not leak into the next use of the pooled connection.
    with office.write() as conn:
        conn.execute(t.notes.delete().where(t.notes.c.id == ids.DELETABLE_NOTE_ID))
    assert ids.DELETABLE_NOTE_ID not in {n["id"] for n in office.dump()["bo_note"]}


def test_large_amounts_keep_every_cent(empty_office: BackOffice) -> None:
    with empty_office.write() as conn:
        conn.execute(
            t.vendors.insert().values(
                id="V-1", name="Big", email="a@b.example", country="DE", iban="DE89370400440532013000",
                bic="DEUTDEFF", account_holder="Big", created_on=utcnow().date(),
            )
        )  # fmt: skip
        conn.execute(
            t.invoices.insert().values(
                id="INV-1", vendor_id="V-1", number="1", description="x", amount_cents=99_999_999_999_99,
                currency="EUR", issued_on=utcnow().date(), due_on=utcnow().date(), status="open",
            )
        )  # fmt: skip
    with empty_office.read() as conn:
        assert conn.execute(sa.select(t.invoices.c.amount_cents)).scalar_one() == 99_999_999_999_99


def test_in_memory_sqlite_keeps_its_data_between_connections() -> None:
    office = BackOffice.create(make_engine("sqlite://"))
    with office.write() as conn:
        conn.execute(t.meta.insert().values(key="k", value="v"))
    assert office.dump()["bo_meta"] == [{"key": "k", "value": "v"}]
