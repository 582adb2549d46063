"""The demo back office: its tables, the store tools receive, and deterministic demo data.

    office = BackOffice.create(make_engine("sqlite:///backoffice.db"))   # or BackOffice.from_url(url)
    seed(office)                                                          # fills it once; no-op afterwards

Stable ids of the hand-written edge cases live in :mod:`tools.backoffice.ids`.
"""

from __future__ import annotations

from tools.backoffice import ids
from tools.backoffice.engine import make_engine, normalize_url
from tools.backoffice.seed import DEFAULT_SEED, SEED_TODAY, seed
from tools.backoffice.store import BackOffice

__all__ = ["DEFAULT_SEED", "SEED_TODAY", "BackOffice", "ids", "make_engine", "normalize_url", "seed"]
