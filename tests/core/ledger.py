"""A fake business tool that keeps its own ledger of effects, to count executions across crashes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from server.lifecycle.execution import ToolOutcome, ToolRunner

metadata = sa.MetaData()
ledger = sa.Table(
    "test_ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("call_key", sa.String(100), nullable=False),
    sa.Column("tool", sa.String(50), nullable=False),
    sa.Column("amount", sa.Float, nullable=False),
)
# Idempotent effects are unique per key: the second attempt with the same key acts zero times.
sa.Index(
    "ux_test_ledger_idem",
    ledger.c.call_key,
    unique=True,
    postgresql_where=ledger.c.tool == "idem_pay",
    sqlite_where=ledger.c.tool == "idem_pay",
)

IDEMPOTENT = "idem_pay"
PLAIN = "plain_pay"


def create(engine: Engine) -> None:
    metadata.create_all(engine)


def runner(engine: Engine, *, before_effect: Any = None, after_effect: Any = None) -> ToolRunner:
    """Tools `idem_pay` (deduplicates on the key) and `plain_pay` (acts every time it runs)."""

    def run(tool: str, arguments: dict[str, Any], key: str | None) -> ToolOutcome:
        if before_effect:
            before_effect()
        with engine.begin() as conn:
            if tool == IDEMPOTENT:
                assert key, "the gateway must pass the idempotency key"
                exists = conn.execute(
                    sa.select(ledger.c.id).where(ledger.c.call_key == key, ledger.c.tool == tool)
                ).first()
                if exists is None:
                    conn.execute(ledger.insert().values(call_key=key, tool=tool, amount=arguments["amount"]))
            else:
                conn.execute(
                    ledger.insert().values(call_key=arguments.get("ref", "-"), tool=tool, amount=arguments["amount"])
                )
        if after_effect:
            after_effect()
        return ToolOutcome({"paid": arguments["amount"]})

    return run


def effects(engine: Engine, call_key: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(ledger)
    if call_key is not None:
        query = query.where(ledger.c.call_key == call_key)
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
