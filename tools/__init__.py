"""Business tools: plain typed functions plus metadata (see tools/contract.py), on a demo back office.

    from tools import default_registry
    from tools.backoffice import BackOffice, make_engine, seed

    office = BackOffice.create(make_engine(url))
    seed(office)
    registry = default_registry()
    registry["issue_refund"].call(office, {...}, idempotency_key=call_id)

Tools come in three categories: ``read`` (look up), ``prepare`` (gather, classify, draft, score; no
effect) and ``act`` (change the world; held for a person by default, each with a reviewer preview).
"""

from __future__ import annotations

from tools import act, prepare, read
from tools.contract import ToolRegistry


def default_registry() -> ToolRegistry:
    """The demo catalog: read, then prepare, then act tools. A new registry each call (the specs are shared)."""
    registry = ToolRegistry()
    registry.extend(read.registry)
    registry.extend(prepare.registry)
    registry.extend(act.registry)
    return registry


__all__ = ["default_registry"]
