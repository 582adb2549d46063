"""A reporting period: calls created from ``start`` (inclusive) to ``end`` (exclusive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period needs timezone-aware datetimes")
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")

    @classmethod
    def last(cls, days: int, *, now: datetime) -> Period:
        """The ``days`` days up to ``now``."""
        return cls(now - timedelta(days=days), now)

    def holds(self, column: Any) -> sa.ColumnElement[bool]:
        """SQL: ``column`` (a timestamp) falls within the period, start included, end excluded."""
        return sa.and_(column >= self.start, column < self.end)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400
