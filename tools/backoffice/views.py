"""Rows as the JSON-ready data tools return: money as exact decimal strings, dates as ISO 8601.

``total_cents=94000`` becomes ``total="940.00"`` (beside its ``currency``); bookkeeping columns that
only the idempotency machinery reads are left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from tools.money import plain

Data = dict[str, Any]

_HIDDEN = frozenset({"idempotency_key", "request_hash", "result"})


def as_data(row: Mapping[Any, Any]) -> Data:
    """One row as plain data."""
    out: Data = {}
    for key, value in row.items():
        if key in _HIDDEN:
            continue
        if key.endswith("_cents") and isinstance(value, int):
            out[key.removesuffix("_cents")] = plain(value)
        elif isinstance(value, datetime | date):
            out[key] = value.isoformat()
        else:
            out[key] = value
    return out


def as_list(rows: Iterable[Mapping[Any, Any]]) -> list[Data]:
    return [as_data(row) for row in rows]
