"""policies/README.md documents every variable and every key of the format (Datasette's test_docs idea)."""

from __future__ import annotations

import pytest

from server.policy.expressions import VARIABLES
from server.policy.model import Defaults, PolicyFile, QueueSpec, RuleSpec, ToolEntry
from tests.conftest import REPO

README = (REPO / "policies" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("variable", VARIABLES)
def test_every_condition_variable_is_documented(variable: str) -> None:
    assert f"| `{variable}" in README


@pytest.mark.parametrize(
    "key",
    sorted({f for model in (PolicyFile, Defaults, QueueSpec, ToolEntry, RuleSpec) for f in model.model_fields}),
)
def test_every_policy_key_is_documented(key: str) -> None:
    assert f"{key}:" in README
