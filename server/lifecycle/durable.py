"""Allowed act calls: recorded before they run, their outcome after. An action never goes unrecorded.

    insert the row EXECUTING, with a claim and a lease (committed) --> run the tool --> ALLOWED + outcome

Reading and preparing calls may use the group-commit journal (journal.py): losing the record of a
lookup in a crash loses no effect. A call that changes the world is committed first, like a held
call after its approval, and settles the same way: the executor's claim, heartbeat and finish
(execution.py). A crash while it runs leaves it EXECUTING for recovery (a keyed tool is re-run with
the same key, any other becomes UNKNOWN_OUTCOME for a person).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from server.lifecycle.execution import Claim, Executor
from server.lifecycle.records import first_event
from server.lifecycle.states import CallStatus
from server.store import audit
from server.store.db import Store
from server.store.models import ToolCall

_TABLE: sa.Table = ToolCall.__table__  # type: ignore[attr-defined]


def run_recorded(store: Store, executor: Executor, row: Mapping[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """Commit ``row`` (a ``records.new_row`` of an allowed call) as EXECUTING, run it, commit its outcome.

    Returns the finished row's values. Raises StoreUnavailable before the tool ran (nothing was done),
    or AfterCommit when it ran but its outcome could not be recorded.
    """
    token = executor.leases.new_token()
    values = {
        **row,
        "status": CallStatus.EXECUTING.value,
        "claim_token": token,
        "lease_until": row["created_at"] + executor.lease,
        "attempts": 1,
    }
    key = values["idempotency_key"] if executor.is_idempotent(values["tool"]) else None
    executor.hold(values["id"], token)
    try:
        with store.raw_write() as tx:
            tx.insert(_TABLE, [values])
            reason = "; ".join((values["verdict"] or {}).get("reasons", []))
            audit.append_many(tx, [first_event(values, event_type="allowed", reason=reason)])
    except BaseException:
        executor.heartbeat.release(token)
        raise
    call = executor.run(Claim(values["id"], token, values["tool"], arguments, key, 1))
    return call.model_dump()
