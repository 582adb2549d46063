"""Signals: the facts that make a proposed act unusual, shared by reviewer previews and exception scoring.

A preview shows each signal's message as a warning; ``score_exception`` combines their weights, so
the reviewer and the score always point at the same facts.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from tools.contract import ToolInputError
from tools.money import places


@dataclass(frozen=True)
class Signal:
    """One reason to look twice. ``weight`` (0..1) is how strongly it alone calls for a careful review."""

    code: str
    weight: float
    message: str


def refused(error: ToolInputError) -> Signal:
    """The call as proposed would be refused by the tool's own validation."""
    return Signal("would_be_refused", 0.5, f"Would be refused: {error.message}")


def combine(signals: Iterable[Signal]) -> float:
    """Noisy-OR of the weights: each signal independently raises the score, which never exceeds 1."""
    keep = 1.0
    for signal in signals:
        keep *= 1.0 - min(1.0, max(0.0, signal.weight))
    return round(1.0 - keep, 3)


def level(score: float) -> str:
    return "high" if score >= 0.6 else "medium" if score >= 0.3 else "low"


def z_score(value: float, history: list[float]) -> float | None:
    """How many standard deviations ``value`` lies above the history's mean; None with under 3 points."""
    if len(history) < 3:
        return None
    spread = statistics.pstdev(history)
    mean = statistics.fmean(history)
    if spread == 0:
        return math.inf if value > mean else 0.0
    return (value - mean) / spread


def unusual_amount(code: str, value: float, history: list[float], what: str, currency: str = "") -> Signal | None:
    """A signal when ``value`` stands well above ``history`` (z >= 2), weighted by how far.

    ``currency`` is the history's currency, shown after its mean; empty when the history mixes currencies.
    """
    z = z_score(value, history)
    if z is None or z < 2:
        return None
    weight = 0.45 if math.isinf(z) else min(0.45, 0.1 + 0.05 * z)
    shown = "far" if math.isinf(z) else f"{z:.1f} standard deviations"
    average = statistics.fmean(history)
    mean = f"{average:,.{places(currency)}f} {currency}" if currency else f"{average:,.2f}"
    return Signal(code, weight, f"{what} is {shown} above the usual (mean {mean})")
