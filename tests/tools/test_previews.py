"""Every act tool: a preview that reads only, a one-line description, and a real effect when run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.tools.examples import EFFECT_TABLE, VALID_ACTS
from tests.tools.support import REGISTRY, call, changed_tables, preview
from tools.backoffice import BackOffice

ACT_TOOLS = sorted(VALID_ACTS)


def test_every_act_tool_has_an_example() -> None:
    assert set(ACT_TOOLS) == {spec.name for spec in REGISTRY if spec.category == "act"}


@pytest.mark.parametrize("tool", ACT_TOOLS)
def test_preview_shows_before_or_after_and_writes_nothing(office: BackOffice, tool: str) -> None:
    shown = preview(office, tool, VALID_ACTS[tool])
    assert shown.summary and (shown.before is not None or shown.after is not None)
    assert not any(w.startswith("Would be refused") for w in shown.warnings), shown.warnings
    json.dumps(shown.as_dict())


@pytest.mark.parametrize("tool", ACT_TOOLS)
@pytest.mark.parametrize("arguments", [{}, {"amount": "x", "customer_id": 5, "changes": [], "customer_ids": "C-1"}])
def test_preview_of_nonsense_arguments_explains_instead_of_failing(
    office: BackOffice, tool: str, arguments: dict[str, Any]
) -> None:
    shown = preview(office, tool, arguments)
    assert shown.summary
    json.dumps(shown.as_dict(), default=str)


@pytest.mark.parametrize("tool", ACT_TOOLS)
def test_valid_act_leaves_an_observable_effect(office: BackOffice, tool: str) -> None:
    before = office.dump()
    result = call(office, tool, VALID_ACTS[tool])
    json.dumps(result)
    assert EFFECT_TABLE[tool] in changed_tables(before, office.dump())


@pytest.mark.parametrize("tool", ACT_TOOLS)
def test_describe_is_one_line_naming_the_subject(tool: str) -> None:
    spec = REGISTRY[tool]
    line = spec.summarize(VALID_ACTS[tool])
    assert "\n" not in line and line != f"{tool}({', '.join(sorted(VALID_ACTS[tool]))})"
    if spec.subject is not None:
        assert str(VALID_ACTS[tool][spec.subject.arg]) in line
    # Odd arguments fall back to a generic line rather than raising.
    assert REGISTRY[tool].summarize({"amount": "lots"})


def test_refund_description_reads_like_a_sentence() -> None:
    assert (
        REGISTRY["issue_refund"].summarize(VALID_ACTS["issue_refund"])
        == "Refund 240.00 EUR to customer C-1001 (order O-1001)"
    )
