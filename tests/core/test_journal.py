"""The allowed-call journal: rows land exactly as the call ran, failures refuse calls and lose nothing.

Every test runs with both writers (a thread of this process, and the shared writer process) on both
databases.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from server.config import Settings
from server.lifecycle.journal import write_batch
from server.lifecycle.journal_process import shared_writer
from server.lifecycle.records import NewCall, new_row
from server.lifecycle.states import CallStatus
from server.policy.types import Evidence, Justification
from server.runtime import Runtime, build_runtime, seed_demo
from server.store import audit
from server.store.db import StoreUnavailable
from server.store.models import AuditEvent, ToolCall
from tests.conftest import REPO
from tools.backoffice import ids

SURE = Justification(reason="customer ticket", evidence=(Evidence(source="ticket:T-1"),), confidence=0.95)
WAIT = 30.0  # seconds; a failed write is retried after one


@pytest.fixture(params=["thread", "process"])
def runtime(request: pytest.FixtureRequest, database_url: str) -> Iterator[Runtime]:
    settings = Settings(database_url=database_url, policies=REPO / "policies", journal_writer=request.param)
    runtime = build_runtime(settings)
    seed_demo(runtime)
    yield runtime
    runtime.close()


def _search(query: str = "acme") -> NewCall:
    return NewCall(tool="search_customers", arguments={"query": query}, agent="reader")


def _small_refund() -> NewCall:
    """A refund the default policy allows at once (small, with evidence): an acting tool."""
    arguments = {
        "customer_id": ids.REFUND_CUSTOMER_ID,
        "order_id": ids.REFUND_ORDER_ID,
        "amount": 20.0,
        "currency": "EUR",
        "reason": "damaged on arrival",
    }
    return NewCall(tool="issue_refund", arguments=arguments, agent="support-bot", justification=SURE)


def _stored(runtime: Runtime, call_id: str) -> ToolCall | None:
    with runtime.store.read() as session:
        return session.get(ToolCall, call_id)


def _events_for(runtime: Runtime, call_id: str) -> list[AuditEvent]:
    with runtime.store.read() as session:
        return list(session.exec(sa.select(AuditEvent).where(AuditEvent.call_id == call_id)).scalars())


def _rename_calls_table(runtime: Runtime, old: str, new: str) -> None:
    with runtime.store.engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")


def test_an_acting_call_is_stored_exactly_as_it_ran(runtime: Runtime) -> None:
    submission = runtime.gateway.submit(_small_refund())
    assert submission.ran is not None and submission.ran["status"] == CallStatus.ALLOWED

    stored = _stored(runtime, submission.ran["id"])
    assert stored is not None
    assert stored.model_dump() == {**submission.ran}  # every column, datetimes and JSON included
    assert stored.result is not None and stored.result["refund_id"]
    # Committed before it ran (executing), and its outcome after: never journaled.
    events = _events_for(runtime, stored.id)
    assert [(e.event_type, e.before_status, e.after_status) for e in events] == [
        ("allowed", None, "executing"),
        ("allowed_ran", "executing", "allowed"),
    ]
    assert {e.args_hash for e in events} == {stored.args_hash}


def test_a_reading_call_keeps_its_outcome_but_not_its_output(runtime: Runtime) -> None:
    submission = runtime.gateway.submit(_search())
    assert submission.ran is not None and submission.ran["result"]["customers"]
    assert runtime.gateway.journal.flush()

    stored = _stored(runtime, submission.ran["id"])
    assert stored is not None and stored.status == CallStatus.ALLOWED
    assert stored.result is None and stored.is_error is False and stored.finished_at is not None


def test_a_failing_write_refuses_allowed_calls_until_it_recovers_and_loses_nothing(runtime: Runtime) -> None:
    journal = runtime.gateway.journal
    _rename_calls_table(runtime, "tool_call", "tool_call_away")
    try:
        first = runtime.gateway.submit(_search("first"))  # ran before anyone could know the write would fail
        assert not journal.flush()
        assert not journal.healthy
        with pytest.raises(StoreUnavailable):
            runtime.gateway.submit(_search("refused"))
    finally:
        _rename_calls_table(runtime, "tool_call_away", "tool_call")

    assert journal.wait_until_written(timeout=WAIT)
    assert first.ran is not None and _stored(runtime, first.ran["id"]) is not None
    assert runtime.gateway.submit(_search("after")).ran is not None
    assert runtime.gateway.journal.flush()
    with runtime.store.read() as session:
        searches = session.exec(sa.select(ToolCall).where(ToolCall.tool == "search_customers")).scalars().all()
        report = audit.verify(session)
    assert sorted(call.arguments for call in searches) == ['{"query":"after"}', '{"query":"first"}']
    assert report.ok


def test_a_batch_committed_without_an_answer_is_not_written_twice(runtime: Runtime) -> None:
    gateway = runtime.gateway
    verdict = gateway.classify("search_customers", {"query": "x"}, agent="reader")
    batch = [new_row(_search("x"), verdict, CallStatus.ALLOWED, runtime.store)]

    write_batch(runtime.store, batch)
    write_batch(runtime.store, batch)  # the retry of a write whose answer was lost

    assert len(_events_for(runtime, batch[0]["id"])) == 1
    with runtime.store.read() as session:
        assert audit.verify(session).ok


def test_a_dead_writer_process_is_replaced_and_no_record_is_lost(database_url: str) -> None:
    settings = Settings(database_url=database_url, policies=REPO / "policies", journal_writer="process")
    runtime = build_runtime(settings)
    try:
        before = runtime.gateway.submit(_search("before"))
        assert runtime.gateway.journal.flush()
        pid = shared_writer().pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)

        after = runtime.gateway.submit(_search("after"))
        assert runtime.gateway.journal.flush()  # the spare took the batch over: no failed write, no refusal
        assert runtime.gateway.journal.healthy
        assert shared_writer().pid not in (None, pid)
        assert before.ran is not None and after.ran is not None
        assert _stored(runtime, before.ran["id"]) is not None and _stored(runtime, after.ran["id"]) is not None
    finally:
        runtime.close()


def test_the_writer_process_is_ready_before_the_first_call(database_url: str) -> None:
    settings = Settings(database_url=database_url, policies=REPO / "policies", journal_writer="process")
    runtime = build_runtime(settings)
    try:
        assert shared_writer().pid is not None  # started with the server, not on the first write
    finally:
        runtime.close()


def test_the_writer_process_outlives_a_stop_signal_so_the_server_can_write_its_last_batches(database_url: str) -> None:
    settings = Settings(database_url=database_url, policies=REPO / "policies", journal_writer="process")
    runtime = build_runtime(settings)
    try:
        runtime.gateway.submit(_search("before"))
        assert runtime.gateway.journal.flush()
        pid = shared_writer().pid
        assert pid is not None
        os.kill(pid, signal.SIGTERM)  # what a service manager sends every process of the service
        os.kill(pid, signal.SIGINT)  # what Ctrl+C sends the terminal's process group

        last = runtime.gateway.submit(_search("last"))
        assert runtime.gateway.journal.flush()
        assert shared_writer().pid == pid
        assert last.ran is not None and _stored(runtime, last.ran["id"]) is not None
    finally:
        runtime.close()
