"""How soon reviewers should look at a held call. Higher = review first.

The base priority is computed once, by classify(), and stored with the call::

    base = exposure + impact + risk + doubt + no_evidence

    exposure     10 * log10(1 + amount), at most 60     no money 0; 50 -> 17; 1,000 -> 30; 10,000 -> 40
                 (amounts are compared as written, whatever the currency: no exchange rates here)
    impact       customer impact: none 0, low 5, medium 15, high 25
    risk         low 0, medium 5, high 15, critical 25
    doubt        20 * (1 - confidence)                  missing confidence counts as 0, so 20
    no_evidence  10 when the agent cited no evidence

so the base runs from 0 to 140. Time is added when the queue is read, since it changes while the call
waits (:func:`queue_priority`)::

    urgency = 40 / (1 + hours_left)                     before the SLA: 40 at the deadline, 20 one hour
                                                        before, 8 four hours before
            = 40 + 20 * hours_overdue, at most 200      after it, so overdue work rises to the top
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from server.policy.types import Exposure, Impact, Justification, Risk

IMPACT_POINTS = {Impact.NONE: 0.0, Impact.LOW: 5.0, Impact.MEDIUM: 15.0, Impact.HIGH: 25.0}
RISK_POINTS = {Risk.LOW: 0.0, Risk.MEDIUM: 5.0, Risk.HIGH: 15.0, Risk.CRITICAL: 25.0}
MAX_EXPOSURE_POINTS = 60.0
DOUBT_POINTS = 20.0
NO_EVIDENCE_POINTS = 10.0
DEADLINE_POINTS = 40.0
OVERDUE_POINTS_PER_HOUR = 20.0
MAX_URGENCY = 200.0


def base_priority(*, exposure: Exposure | None, impact: Impact, risk: Risk, justification: Justification) -> float:
    """The time-independent part of a call's priority (see the module docstring)."""
    amount = max(exposure.amount, 0.0) if exposure is not None and math.isfinite(exposure.amount) else 0.0
    money = min(10.0 * math.log10(1.0 + amount), MAX_EXPOSURE_POINTS)
    confidence = justification.confidence if justification.confidence is not None else 0.0
    doubt = DOUBT_POINTS * (1.0 - confidence)
    missing = NO_EVIDENCE_POINTS if not justification.evidence else 0.0
    return round(money + IMPACT_POINTS[impact] + RISK_POINTS[risk] + doubt + missing, 2)


def queue_priority(base_priority: float, sla_due_at: datetime, now: datetime) -> float:
    """The priority to sort a queue by at ``now``: the base plus urgency as the SLA nears or passes.

    Naive datetimes are taken as UTC (SQLite returns them naive).
    """
    hours_left = (_aware(sla_due_at) - _aware(now)).total_seconds() / 3600.0
    if hours_left >= 0:
        urgency = DEADLINE_POINTS / (1.0 + hours_left)
    else:
        urgency = min(DEADLINE_POINTS + OVERDUE_POINTS_PER_HOUR * -hours_left, MAX_URGENCY)
    return round(base_priority + urgency, 2)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
