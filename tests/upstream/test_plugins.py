"""Third-party Python tools join the catalogue through a setting naming their registry."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.plugins import PluginError, plugin_registries
from server.runtime import build_runtime
from tests.mcp.support import make_settings

PLUGIN = '''
from tools.contract import ToolRegistry

registry = ToolRegistry()


@registry.tool(category="read", risk="low", action="allow")
def lookup_ticket(office: object, ticket_id: str) -> dict[str, str]:
    """Look up a helpdesk ticket by id."""
    return {"ticket_id": ticket_id, "status": "open"}
'''


@pytest.fixture
def plugin_path(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "acme_helpdesk_tools.py").write_text(PLUGIN)
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    sys.modules.pop("acme_helpdesk_tools", None)


def test_a_registry_named_in_the_setting_adds_its_tools_beside_the_built_in_ones(
    plugin_path: Path, database_url: str
) -> None:
    runtime = build_runtime(make_settings(database_url, tools="acme_helpdesk_tools:registry"))
    try:
        assert "lookup_ticket" in runtime.registry and "issue_refund" in runtime.registry
        assert runtime.gateway.classify("lookup_ticket", {"ticket_id": "T-1"}, agent="a").action == "block"
    finally:
        runtime.close()


def test_a_name_that_is_not_a_registry_is_a_clear_error(plugin_path: Path) -> None:
    with pytest.raises(PluginError, match="not a tools.contract.ToolRegistry"):
        plugin_registries("json:__name__")
    with pytest.raises(PluginError, match="module:attribute"):
        plugin_registries("acme_helpdesk_tools")
    with pytest.raises(PluginError, match="No module named"):
        plugin_registries("no_such_module_here:registry")
