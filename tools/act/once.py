"""Execute once: an idempotent tool's effect row carries the gateway's key under a unique constraint.

The first call with a key acts and stores its result beside the key; any later call with the same
key (a retry after a crash, a duplicate delivery) returns that stored result without acting again.
Reusing a key for *different* arguments is refused, as payment APIs do: it is a bug, not a retry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tools.backoffice.store import BackOffice
from tools.contract import ToolInputError

Result = dict[str, Any]


def fingerprint(tool: str, arguments: dict[str, Any]) -> str:
    """A hash of the normalised arguments (940 and 940.0 are the same request)."""
    canonical = json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_columns(key: str, request_hash: str, result: Result) -> dict[str, Any]:
    """The bookkeeping columns an effect row stores beside its own data."""
    return {"idempotency_key": key, "request_hash": request_hash, "result": json.dumps(result, sort_keys=True)}


def _replay(conn: Connection, table: sa.Table, key: str, request_hash: str) -> Result | None:
    row = conn.execute(sa.select(table.c.request_hash, table.c.result).where(table.c.idempotency_key == key)).first()
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise ToolInputError(
            "idempotency_key: already used for a different request; nothing was done", field="idempotency_key"
        )
    result: Result = json.loads(row.result)
    return result


def run_once(
    office: BackOffice,
    table: sa.Table,
    key: str,
    request_hash: str,
    act: Callable[[Connection], Result],
    *,
    lock: Callable[[Connection], object],
) -> Result:
    """Run ``act`` in one write transaction unless ``key`` already acted; return the first result.

    ``lock`` takes the row lock the act serialises on (the order, the invoice...) *before* the replay
    check, so a concurrent duplicate waits for the first call to commit and then finds its result,
    instead of being refused by a check the first call's effect made fail. ``act`` must insert its
    effect row into ``table`` with :func:`key_columns`.
    """
    if not key:
        raise ToolInputError("idempotency_key: required", field="idempotency_key")
    try:
        with office.write() as conn:
            lock(conn)
            prior = _replay(conn, table, key, request_hash)
            return prior if prior is not None else act(conn)
    except IntegrityError:
        # A concurrent call with the same key committed first; ours rolled back. Return theirs.
        with office.read() as conn:
            prior = _replay(conn, table, key, request_hash)
        if prior is None:
            raise
        return prior
