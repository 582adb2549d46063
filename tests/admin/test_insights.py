"""Insights on a seeded history give the numbers the test computes from its own ledger."""

from __future__ import annotations

import math
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import col, select

from server.gateway import Gateway
from server.insights import Period, RoiSettings, Thresholds, exception_report, find_candidates, roi_report
from server.insights.activity import BLOCKED, INVALID, tool_activity
from server.insights.outcomes import outcome_expr, outcome_of
from server.insights.roi import load_roi_settings, save_roi_settings
from server.lifecycle.records import INVALID_ARGUMENTS, NewCall
from server.store.db import Store
from server.store.models import AuditEvent, ToolCall
from tests.admin.history import SLA, Ledger, seed
from tests.admin.world import Clock


@pytest.fixture
def ledger(gateway: Gateway, clock: Clock) -> Ledger:
    return seed(gateway, clock)


def _period(ledger: Ledger) -> Period:
    assert ledger.end is not None
    return Period(ledger.start, ledger.end)


def _nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def test_held_calls_are_counted_by_tool_queue_category_and_rule(store: Store, ledger: Ledger, clock: Clock) -> None:
    with store.read() as session:
        report = exception_report(session, _period(ledger), now=clock.now)
    for dimension in ("tool", "queue", "category"):
        expected = Counter(getattr(h, dimension) for h in ledger.held)
        assert {key: counts.held for key, counts in report.by[dimension]} == expected
    assert {key: counts.held for key, counts in report.by["rule"]} == {"big-refund": 3, "(none)": 37}
    assert report.totals.held == len(ledger.held) == 40


def test_outcome_rates_match_the_ledger(store: Store, ledger: Ledger, clock: Clock) -> None:
    with store.read() as session:
        report = exception_report(session, _period(ledger), now=clock.now)
    outcomes = Counter(h.outcome for h in ledger.held)
    decided = outcomes["approved"] + outcomes["edited"] + outcomes["rejected"]
    totals = report.totals
    assert (totals.approved, totals.edited, totals.rejected, totals.expired, totals.pending) == (
        outcomes["approved"],
        outcomes["edited"],
        outcomes["rejected"],
        outcomes["expired"],
        outcomes["pending"],
    )
    assert totals.approval_rate == pytest.approx((outcomes["approved"] + outcomes["edited"]) / decided)
    assert totals.rejection_rate == pytest.approx(outcomes["rejected"] / decided)
    assert totals.edit_rate == pytest.approx(outcomes["edited"] / decided)
    emails = dict(report.by["tool"])["email"]
    assert (emails.approved, emails.edited, emails.rejected, emails.pending) == (4, 4, 3, 1)


def test_median_and_p90_time_to_decision_match_the_ledger(store: Store, ledger: Ledger, clock: Clock) -> None:
    waits = [h.wait_seconds for h in ledger.held if h.wait_seconds is not None]
    ordered = sorted(waits)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    with store.read() as session:
        timing = exception_report(session, _period(ledger), now=clock.now).timing
    assert timing.decided == len(waits)
    assert timing.median_seconds == pytest.approx(median)
    assert timing.p90_seconds == pytest.approx(_nearest_rank(waits, 0.9))


def test_sla_breaches_count_late_decisions_and_overdue_open_calls(store: Store, ledger: Ledger, clock: Clock) -> None:
    def sla_for(h: object) -> int:
        return SLA[h.queue]  # type: ignore[attr-defined]

    breaches = sum(1 for h in ledger.held if (h.settled or clock.now) > h.created + timedelta(seconds=sla_for(h)))
    with store.read() as session:
        report = exception_report(session, _period(ledger), now=clock.now)
    assert report.sla_tracked == 40
    assert report.sla_breaches == breaches
    assert 0 < breaches < 40


def test_reviewer_workload_and_rejection_reasons(store: Store, ledger: Ledger, clock: Clock) -> None:
    with store.read() as session:
        report = exception_report(session, _period(ledger), now=clock.now)
    load = {r.reviewer: (r.approvals, r.edits, r.rejections) for r in report.workload}
    expected = {}
    for reviewer in {d[0] for d in ledger.decisions}:
        mine = [d for d in ledger.decisions if d[0] == reviewer]
        expected[reviewer] = (
            sum(1 for d in mine if d[1] == "approve"),
            sum(1 for d in mine if d[2]),
            sum(1 for d in mine if d[1] == "reject"),
        )
    assert load == expected
    reasons = [(r.reason.strip().lower(), r.count) for r in report.rejection_reasons]
    assert reasons[0] == ("wrong tone", 2)
    assert sorted(reasons[1:]) == [("promises a refund", 1), ("too much", 1)]


def test_sql_and_python_agree_on_every_outcome(store: Store, ledger: Ledger) -> None:
    with store.read() as session:
        rows = session.exec(select(ToolCall, outcome_expr()).where(col(ToolCall.action) == "hold")).all()
    assert len(rows) == 40
    assert all(outcome_of(call) == outcome for call, outcome in rows)


def test_routine_refunds_are_a_loosening_candidate_and_emails_need_tighter_instructions(
    store: Store, ledger: Ledger, clock: Clock
) -> None:
    with store.read() as session:
        report = exception_report(session, _period(ledger), now=clock.now)
    found = {(c.kind, c.name): c.suggestion for c in find_candidates(report, Thresholds())}
    # refund: 27 decided, 26 unchanged (96%); email: 11 decided, 7 rejected or edited.
    assert found == {("tool", "refund"): "loosen", ("tool", "email"): "tighten"}
    stricter = Thresholds(min_unchanged_rate=0.97)
    assert ("tool", "refund") not in {(c.kind, c.name) for c in find_candidates(report, stricter)}


def test_roi_counts_work_saved_and_review_time_with_the_configured_minutes(
    store: Store, ledger: Ledger, clock: Clock
) -> None:
    settings = RoiSettings(per_tool={"email": 6.0}, minutes_per_review=3.0)
    save_roi_settings(store, settings, actor="ada", reason="measured")
    defaults = {"lookup": 1.0, "refund": 10.0, "email": 5.0, "wipe": 0.0}
    with store.read() as session:
        loaded = load_roi_settings(session)
        roi = roi_report(session, _period(ledger), defaults=defaults, settings=loaded)
    ran = Counter({"lookup": ledger.allowed["lookup"]})
    for h in ledger.held:
        if h.outcome in {"approved", "edited"}:
            ran[h.tool] += 1
    minutes = ran["lookup"] * 1.0 + ran["refund"] * 10.0 + ran["email"] * 6.0
    assert loaded == settings
    assert roi.automatic_calls == 5 and roi.blocked_calls == 2
    assert roi.hours_saved == pytest.approx(minutes / 60)
    assert roi.decisions == len(ledger.decisions)
    assert roi.hours_reviewing == pytest.approx(len(ledger.decisions) * 3.0 / 60)


def test_saving_roi_minutes_is_audited(store: Store) -> None:
    save_roi_settings(store, RoiSettings(minutes_per_review=2.5), actor="ada", reason="timed it")
    with store.read() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.event_type == "roi_minutes_set")).one()
    assert event.actor == "ada" and event.data is not None and event.data["after"]["minutes_per_review"] == 2.5


def test_a_period_before_the_history_is_empty(store: Store, ledger: Ledger, clock: Clock) -> None:
    with store.read() as session:
        report = exception_report(session, Period(ledger.start - timedelta(days=2), ledger.start), now=clock.now)
    assert report.totals.held == 0 and report.timing.median_seconds is None and report.workload == []


def test_invalid_argument_calls_are_counted_apart_from_the_policys_refusals(
    store: Store, gateway: Gateway, ledger: Ledger, clock: Clock
) -> None:
    for amount in ("lots", "a few"):  # as the MCP surface records a call its schema refuses
        new = NewCall(tool="refund", arguments={"order_id": "O-9", "amount": amount, "currency": "EUR"}, agent="bot")
        assert gateway.record_invalid(new, "amount: not a number").category == INVALID_ARGUMENTS
    period = Period(ledger.start, clock.now + timedelta(seconds=1))
    with store.read() as session:
        roi = roi_report(session, period, defaults={}, settings=RoiSettings())
        activity = tool_activity(session, now=clock.now)
    assert (roi.blocked_calls, roi.invalid_calls) == (ledger.blocked, 2)
    assert activity["refund"].last_7_days[INVALID] == 2
    assert activity["wipe"].last_7_days[BLOCKED] == ledger.blocked
