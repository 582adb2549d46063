"""Helpers for tool tests: call a tool the way the gateway does, and prove a refusal changed nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tools import default_registry
from tools.backoffice import BackOffice
from tools.contract import Preview, ToolInputError

REGISTRY = default_registry()


def call(office: BackOffice, tool: str, arguments: dict[str, Any], key: str | None = None) -> Any:
    """Validate the arguments against the schema and run the tool, as the gateway's execute path does."""
    spec = REGISTRY[tool]
    if spec.idempotent and key is None:
        key = f"test-{tool}"
    return spec.call(office, arguments, idempotency_key=key)


def refused(office: BackOffice, tool: str, arguments: dict[str, Any], field: str, key: str | None = None) -> str:
    """Assert the call is refused naming ``field`` and that no bo_ table changed; return the message."""
    before = office.dump()
    with pytest.raises(ToolInputError) as caught:
        call(office, tool, arguments, key)
    assert caught.value.field == field, caught.value.message
    assert caught.value.message.startswith(f"{field}:")
    assert office.dump() == before
    return caught.value.message


def changed_tables(before: dict[str, list[dict[str, Any]]], after: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {name for name in before if before[name] != after[name]}


def preview(office: BackOffice, tool: str, arguments: dict[str, Any]) -> Preview:
    """The tool's reviewer preview, asserting it wrote nothing."""
    spec = REGISTRY[tool]
    assert spec.preview is not None
    before = office.dump()
    shown = spec.preview(office, arguments)
    assert office.dump() == before
    return shown
