"""Priority: more money, impact, risk and doubt, less evidence and less time come first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.policy import base_priority, queue_priority
from server.policy.types import Evidence, Exposure, Impact, Justification, Risk

SURE = Justification(confidence=1.0, evidence=(Evidence(source="crm"),))
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _base(
    amount: float | None = None,
    impact: Impact = Impact.NONE,
    risk: Risk = Risk.LOW,
    justification: Justification = SURE,
) -> float:
    exposure = Exposure(amount=amount, currency="EUR") if amount is not None else None
    return base_priority(exposure=exposure, impact=impact, risk=risk, justification=justification)


def test_a_certain_evidenced_call_without_money_impact_or_risk_scores_zero() -> None:
    assert _base() == 0.0


@given(st.floats(0, 1e9), st.floats(0, 1e9))
def test_more_money_never_lowers_priority(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert _base(low) <= _base(high)


def test_money_counts_on_a_log_scale_and_is_capped() -> None:
    assert _base(9.0) == pytest.approx(10.0)
    assert _base(999.0) == pytest.approx(30.0)
    assert _base(10**12) == _base(10**7) == 60.0


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ({"impact": Impact.NONE}, {"impact": Impact.LOW}),
        ({"impact": Impact.LOW}, {"impact": Impact.MEDIUM}),
        ({"impact": Impact.MEDIUM}, {"impact": Impact.HIGH}),
        ({"risk": Risk.LOW}, {"risk": Risk.MEDIUM}),
        ({"risk": Risk.MEDIUM}, {"risk": Risk.HIGH}),
        ({"risk": Risk.HIGH}, {"risk": Risk.CRITICAL}),
        ({}, {"justification": Justification(confidence=0.5, evidence=SURE.evidence)}),
        ({}, {"justification": Justification(confidence=1.0)}),  # no evidence
    ],
)
def test_impact_risk_doubt_and_missing_evidence_raise_priority(
    lower: dict[str, object], higher: dict[str, object]
) -> None:
    assert _base(**lower) < _base(**higher)  # type: ignore[arg-type]


@given(st.floats(0, 1), st.floats(0, 1))
def test_lower_confidence_never_lowers_priority(a: float, b: float) -> None:
    low, high = sorted((a, b))
    more_doubt = _base(justification=Justification(confidence=low, evidence=SURE.evidence))
    less_doubt = _base(justification=Justification(confidence=high, evidence=SURE.evidence))
    assert more_doubt >= less_doubt


def test_missing_confidence_counts_as_no_confidence() -> None:
    assert _base(justification=Justification(evidence=SURE.evidence)) == _base(
        justification=Justification(confidence=0.0, evidence=SURE.evidence)
    )


@given(st.integers(-72 * 60, 72 * 60), st.integers(-72 * 60, 72 * 60))
def test_less_time_left_never_lowers_queue_priority(a: int, b: int) -> None:
    sooner, later = sorted((a, b))
    assert queue_priority(20.0, NOW + timedelta(minutes=sooner), NOW) >= queue_priority(
        20.0, NOW + timedelta(minutes=later), NOW
    )


def test_overdue_work_outranks_fresh_work_with_a_much_higher_base() -> None:
    overdue = queue_priority(10.0, NOW - timedelta(hours=3), NOW)
    fresh = queue_priority(80.0, NOW + timedelta(hours=4), NOW)
    assert overdue > fresh


def test_queue_priority_adds_nothing_below_the_base_and_is_capped() -> None:
    assert queue_priority(50.0, NOW + timedelta(days=365), NOW) >= 50.0
    assert queue_priority(50.0, NOW - timedelta(days=30), NOW) == 250.0


def test_naive_datetimes_are_read_as_utc() -> None:
    naive_due = (NOW + timedelta(hours=1)).replace(tzinfo=None)
    assert queue_priority(5.0, naive_due, NOW) == queue_priority(5.0, NOW + timedelta(hours=1), NOW) == 25.0
