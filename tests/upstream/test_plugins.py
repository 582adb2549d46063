"""Third-party Python tools join the catalogue through a setting naming their registry."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.plugins import PluginError, tool_registry
from server.runtime import build_runtime
from tests.conftest import REPO
from tests.mcp.support import make_settings, run_as_newcomer

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
        tool_registry("json:__name__")
    with pytest.raises(PluginError, match="module:attribute"):
        tool_registry("acme_helpdesk_tools")
    with pytest.raises(PluginError, match="No module named"):
        tool_registry("no_such_module_here:registry")


_NO_DATABASE = "sqlite:////nonexistent-countersign-dir/unused.db"  # these commands read files only


def test_policy_test_knows_a_tool_of_your_own_as_serve_does(plugin_path: Path) -> None:
    result = run_as_newcomer(
        ["policy", "test", "lookup_ticket", "--args", "{}"],
        _NO_DATABASE,
        plugin_path,
        COUNTERSIGN_TOOLS="acme_helpdesk_tools:registry",
        PYTHONPATH=str(plugin_path),
    )
    # Its schema is checked as the gateway would: the tool was found, not taken for an unknown one.
    assert result.returncode == 2 and "lookup_ticket refuses these arguments" in result.stderr, result.stderr
    assert "not a registered tool" not in result.stderr


def test_policy_check_does_not_call_your_own_or_an_upstreams_tools_unknown(plugin_path: Path) -> None:
    policies = plugin_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    (policies / "ours.yaml").write_text(
        "version: 1\ntools:\n"
        "  lookup_ticket: {action: allow, risk: low, kind: read}\n"
        "  fs__read_text_file: {action: allow, risk: low, kind: read}\n"
        "  gone__tool: {action: allow, risk: low, kind: read}\n",
        encoding="utf-8",
    )
    config = plugin_path / "countersign.yaml"
    config.write_text("upstreams:\n  fs:\n    command: [node, server.js]\n", encoding="utf-8")
    result = run_as_newcomer(
        ["policy", "check", str(policies)],
        _NO_DATABASE,
        plugin_path,
        COUNTERSIGN_TOOLS="acme_helpdesk_tools:registry",
        COUNTERSIGN_CONFIG=str(config),
        PYTHONPATH=str(plugin_path),
    )
    assert result.returncode == 0, result.stderr
    unknown = [line for line in result.stdout.splitlines() if "not a registered tool" in line]
    assert unknown == ["warning: the policy lists 'gone__tool', which is not a registered tool"]
