"""Fixtures for the business tools: a seeded demo back office on each test database backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time

import pytest

from tools.backoffice import SEED_TODAY, BackOffice, make_engine, seed

# Effects are stamped at 09:00 on the seed's "today", so date-relative signals never drift.
NOW = datetime.combine(SEED_TODAY, time(9, 0), tzinfo=UTC)


@pytest.fixture
def empty_office(database_url: str) -> Iterator[BackOffice]:
    engine = make_engine(database_url)
    try:
        yield BackOffice.create(engine, clock=lambda: NOW)
    finally:
        engine.dispose()  # before the PostgreSQL schema is dropped


@pytest.fixture
def office(empty_office: BackOffice) -> BackOffice:
    assert seed(empty_office)
    return empty_office
