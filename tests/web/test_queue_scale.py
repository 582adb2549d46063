"""A busy queue: ordered, counted and paged by the database, so the most urgent work is always on page one.

The mistake: with more than 1,000 held calls the page showed 1,000 arbitrary (in practice the oldest,
lowest-priority) calls and said "1000". On SQLite and PostgreSQL. Speed is measured by
`python -m bench queue`, not here.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import col, select

from server.lifecycle.actors import Person
from server.lifecycle.records import NewCall, idempotency_key_for, new_row
from server.lifecycle.states import CallStatus
from server.policy import queue_priority
from server.policy.types import Justification
from server.runtime import Runtime
from server.store.models import ToolCall
from server.store.ranking import queue_rank
from tests.web.support import hold_refund, refund, sign_in
from web.pages import queries

ALICE = Person("alice", "reviewer", frozenset({"finance", "finance-senior"}))


def _row_ids(html: str) -> list[str]:
    return re.findall(r'data-call-id="([0-9a-f]+)"', html)


def hold_many(
    runtime: Runtime, count: int, *, priority: float = 1.0, sla_in: timedelta = timedelta(hours=8)
) -> list[str]:
    """Insert ``count`` held 60 EUR refunds at once (one statement), each a real verdict's row; their ids."""
    arguments = refund(60.0)
    verdict = runtime.gateway.classify("issue_refund", arguments, agent="support-agent", justification=Justification())
    new = NewCall(tool="issue_refund", arguments=arguments, agent="support-agent", summary="Refund 60.00 EUR")
    template = new_row(new, verdict, CallStatus.HELD, runtime.store)
    now = runtime.store.now()
    rows: list[dict[str, Any]] = []
    for n in range(count):
        call_id = uuid.uuid4().hex
        created = now - timedelta(minutes=count - n)
        rows.append(
            {
                **template,
                "id": call_id,
                "idempotency_key": idempotency_key_for(call_id),
                "priority": priority + n / 1000,  # distinct, so the order is checkable
                "created_at": created,
                "updated_at": created,
                "sla_due_at": now + sla_in,
            }
        )
    with runtime.store.write() as session:
        session.execute(sa.insert(ToolCall.__table__), rows)  # type: ignore[attr-defined]
    return [row["id"] for row in rows]


def test_with_more_than_a_thousand_held_the_most_urgent_are_on_page_one_and_the_count_is_true(
    client: TestClient, runtime: Runtime
) -> None:
    hold_many(runtime, 1050)  # held first, lowest priority: what a limit without an order returned
    urgent = {hold_refund(runtime, amount=900.0 + n).id for n in range(5)}  # distinct: identical calls are one

    sign_in(client, "alice")
    page = client.get("/queue").text

    assert "<title>(1055) Review queue" in page and "1055 calls waiting" in page
    rows = _row_ids(page)
    assert len(rows) == queries.PER_PAGE and set(rows[:5]) == urgent
    assert "page 1 of 22" in page and 'href="/queue?page=2"' in page


def test_pages_show_every_held_call_once_in_rank_order(client: TestClient, runtime: Runtime) -> None:
    ids = hold_many(runtime, 120)  # later ids have higher priority
    sign_in(client, "alice")

    shown = [_row_ids(client.get(f"/queue?page={n}").text) for n in (1, 2, 3)]

    assert [len(rows) for rows in shown] == [50, 50, 20]
    assert [call_id for rows in shown for call_id in rows] == list(reversed(ids))
    past_the_end = client.get("/queue?page=99").text
    assert _row_ids(past_the_end) == shown[2] and "page 3 of 3" in past_the_end and 'rel="next"' not in past_the_end


def test_filters_count_and_page_in_the_database(client: TestClient, runtime: Runtime) -> None:
    hold_many(runtime, 60)
    sign_in(client, "alice")

    filtered = client.get("/queue?tool=issue_refund&page=2")
    nothing = client.get("/queue/rows?tool=pay_invoice")

    assert "60 calls waiting, 60 match" in filtered.text and len(_row_ids(filtered.text)) == 10
    assert 'rel="prev" href="/queue?tool=issue_refund"' in filtered.text
    assert nothing.headers["x-queue-count"] == "60" and nothing.headers["x-queue-matching"] == "0"


def test_previous_and_next_follow_the_queue_order(runtime: Runtime) -> None:
    low, middle, high = hold_many(runtime, 3)

    assert queries.held_neighbours(runtime.store, ALICE, middle) == (high, low)
    assert queries.held_neighbours(runtime.store, ALICE, high) == (None, middle)
    assert queries.held_neighbours(runtime.store, ALICE, "not-queued") == (None, high)


@pytest.mark.parametrize("hours", [30.0, 2.0, 0.25, -0.5, -3.0, -20.0])
def test_the_database_ranks_a_call_as_queue_priority_does(runtime: Runtime, hours: float) -> None:
    (call_id,) = hold_many(runtime, 1, priority=37.5, sla_in=timedelta(hours=hours))
    now = runtime.store.now()
    with runtime.store.read() as session:
        ranked, due = session.exec(select(queue_rank(now), ToolCall.sla_due_at).where(ToolCall.id == call_id)).one()
    assert isinstance(due, datetime)
    assert ranked == pytest.approx(queue_priority(37.5, due, now), abs=0.006)  # Python rounds to cents


def test_sqlite_serves_the_queue_and_the_call_list_from_their_indexes(runtime: Runtime) -> None:
    if runtime.store.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's plans depend on table statistics; see bench/README.md")
    now = runtime.store.now()
    rank = queue_rank(now)
    page = select(ToolCall.id, rank).where(queries._held_now(now)).order_by(rank.desc()).limit(50)
    newest = select(ToolCall).order_by(col(ToolCall.created_at).desc(), col(ToolCall.id).desc()).limit(200)
    with runtime.store.read() as session:
        plans = [
            " ".join(str(row[-1]) for row in session.execute(sa.text(f"EXPLAIN QUERY PLAN {_sql(session, q)}")))
            for q in (page, newest)
        ]
    assert "COVERING INDEX ix_tool_call_held" in plans[0]
    assert "INDEX ix_tool_call_created_id" in plans[1] and "TEMP B-TREE" not in plans[1]


def _sql(session: Any, query: Any) -> str:
    return str(query.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
