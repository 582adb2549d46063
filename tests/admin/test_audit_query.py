"""Searching the audit trail: filters, newest-first pages, and each event joined with its call."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.audit_query import AuditFilter, event_types, search, tool_history
from server.gateway import Gateway
from server.policy.types import Action, Risk
from server.store.db import Store
from tests.admin.history import Ledger, seed
from tests.admin.world import Clock


@pytest.fixture
def ledger(gateway: Gateway, clock: Clock) -> Ledger:
    return seed(gateway, clock)


def test_events_of_one_call_carry_the_draft_the_edit_and_the_approver(store: Store, ledger: Ledger) -> None:
    edited = next(h for h in ledger.held if h.outcome == "edited")
    with store.read() as session:
        page = search(session, AuditFilter(call_id=edited.call_id))
    # The editor's approval is recorded; someone besides the editor completes it.
    assert [e.event.event_type for e in page.entries] == [
        "executed",
        "execution_started",
        "approved",
        "approval_recorded",
        "held",
    ]
    call = page.entries[0].call
    assert call is not None and call.edited
    assert call.proposed_arguments["body"] == "Hello" and call.arguments["body"] == "Hello, kindly"
    assert [(a.name, a.edited) for a in call.approvers] == [("sam", True), ("rita", False)]
    assert call.status == "succeeded" and call.category == "customer-email"


def test_rejected_call_shows_who_rejected_and_why(store: Store, ledger: Ledger) -> None:
    with store.read() as session:
        page = search(session, AuditFilter(event_types=("rejected",)))
    reasons = {(e.call.rejected_by, e.call.rejection_reason) for e in page.entries if e.call}
    assert ("rita", "Too much") in reasons and len(page.entries) == 4


def test_filters_by_tool_actor_and_date_range_combine(store: Store, ledger: Ledger) -> None:
    first_refund = ledger.held[0].created
    with store.read() as session:
        by_actor = search(session, AuditFilter(actor="rita", tool="refund"), limit=500)
        in_window = search(
            session, AuditFilter(tool="refund", since=first_refund, until=first_refund + timedelta(seconds=1))
        )
    assert {e.event.actor for e in by_actor.entries} == {"rita"}
    assert len(by_actor.entries) == 26  # 25 routine approvals and one rejection
    assert [e.event.event_type for e in in_window.entries] == ["held"]


def test_pages_walk_the_whole_log_newest_first_without_gaps(store: Store, ledger: Ledger) -> None:
    seqs: list[int] = []
    before = None
    with store.read() as session:
        while True:
            page = search(session, AuditFilter(), before_seq=before, limit=17)
            seqs += [e.event.seq for e in page.entries]
            if page.next_before_seq is None:
                break
            before = page.next_before_seq
    assert seqs == sorted(seqs, reverse=True)
    assert seqs == list(range(max(seqs), 0, -1))


def test_event_types_lists_what_is_in_the_log(store: Store, ledger: Ledger) -> None:
    with store.read() as session:
        types = event_types(session)
    assert {"held", "allowed", "blocked", "approved", "rejected", "expired", "executed"} <= set(types)


def test_tool_history_lists_override_changes_newest_first(store: Store, gateway: Gateway) -> None:
    gateway.overrides.set("refund", risk=Risk.HIGH, action=Action.BLOCK, reason="incident 42", actor="ada")
    gateway.overrides.set("refund", risk=Risk.MEDIUM, action=Action.HOLD, reason="incident over", actor="bob")
    with store.read() as session:
        history = tool_history(session, "refund")
    assert [(e.actor, e.reason) for e in history] == [("bob", "incident over"), ("ada", "incident 42")]
