"""Writing straight through the DBAPI, for the one writer on the hot path (the allowed-call journal).

SQLAlchemy Core spends on the order of 100 µs building, caching and processing each statement; the
journal runs four statements per batch for every allowed call the gateway serves. Here the SQL is
fixed text and values still go through each column type's own bind processor, so what lands in
the database is exactly what the ORM would have written, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect


def placeholders(sql: str, dialect: Dialect) -> str:
    """``?`` placeholders in the DBAPI's own style (sqlite3: ``?``; psycopg: ``%s``)."""
    return sql if dialect.paramstyle == "qmark" else sql.replace("?", "%s")


class RawTable:
    """A table's INSERT of whole rows, with the column types' conversions worked out once."""

    def __init__(self, table: sa.Table, dialect: Dialect) -> None:
        columns = list(table.columns)
        self.names = tuple(column.name for column in columns)
        self._convert: tuple[Callable[[Any], Any] | None, ...] = tuple(
            column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns
        )
        marks = ", ".join("?" for _ in columns)
        # Names come from our own table definitions, never from input.
        sql = f"INSERT INTO {table.name} ({', '.join(self.names)}) VALUES ({marks})"  # noqa: S608
        self.insert_sql = placeholders(sql, dialect)

    def row(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """One row's parameters; a column missing from ``values`` is written as NULL."""
        return tuple(
            value if convert is None or value is None else convert(value)
            for value, convert in zip((values.get(name) for name in self.names), self._convert, strict=True)
        )


class RawTransaction:
    """A DBAPI cursor inside a write transaction (see ``Store.raw_write``). Not thread-safe."""

    def __init__(self, cursor: Any, dialect: Dialect, tables: dict[str, RawTable]) -> None:
        self.cursor = cursor
        self.dialect = dialect
        self._tables = tables  # shared by the store's transactions: worked out once per process

    @property
    def is_postgresql(self) -> bool:
        return self.dialect.name == "postgresql"

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.cursor.execute(placeholders(sql, self.dialect), tuple(params))

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self.cursor.fetchone()
        return tuple(row) if row is not None else None

    def insert(self, table: sa.Table, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert whole rows (dicts by column name) with one ``executemany``."""
        raw = self._tables.get(table.name)
        if raw is None:
            raw = self._tables[table.name] = RawTable(table, self.dialect)
        params = [raw.row(values) for values in rows]
        if params:
            self.cursor.executemany(raw.insert_sql, params)
