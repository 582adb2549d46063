"""The `countersign.tools` entry point, for real: an installed distribution (a dist-info on sys.path, as
pip leaves it) declares a registry; its tools are listed to agents and guarded by the policy."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client

from server.runtime import Runtime, build_runtime
from tests.mcp.support import make_settings, mcp_server
from tests.upstream.support import policies_with

MODULE = '''
from typing import Any

from tools.contract import ToolRegistry

registry = ToolRegistry()


@registry.tool(category="read", risk="low", action="allow")
def acme_lookup_ticket(office: Any, ticket_id: str) -> dict[str, str]:
    """Look up a helpdesk ticket by id."""
    return {"ticket_id": ticket_id, "status": "open"}


@registry.tool(category="act", risk="medium", action="hold")
def acme_close_ticket(office: Any, ticket_id: str) -> dict[str, str]:
    """Close a helpdesk ticket."""
    return {"ticket_id": ticket_id, "status": "closed"}
'''
POLICY = """\
version: 1
tools:
  acme_lookup_ticket: {action: allow, risk: low}
  acme_close_ticket: {action: hold, risk: medium}
"""


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    """What `pip install acme-helpdesk` leaves in site-packages: the module and its dist-info."""
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "acme_helpdesk_ep.py").write_text(MODULE)
    info = site / "acme_helpdesk_ep-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-helpdesk-ep\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[countersign.tools]\nacme = acme_helpdesk_ep:registry\n")
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))
    sys.modules.pop("acme_helpdesk_ep", None)


@pytest.fixture
def runtime(installed: Path, database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = build_runtime(make_settings(database_url, policies=policies_with(tmp_path, POLICY)))
    yield runtime
    runtime.close()


async def test_an_installed_package_entry_point_adds_tools_that_agents_see_and_the_policy_guards(
    runtime: Runtime,
) -> None:
    assert "acme_lookup_ticket" in runtime.registry and "issue_refund" in runtime.registry
    async with Client(mcp_server(runtime)) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        read = await client.call_tool("acme_lookup_ticket", {"ticket_id": "T-9"})
        close = await client.call_tool("acme_close_ticket", {"ticket_id": "T-9"}, meta={"countersign/inline_wait": 0})

    assert {"acme_lookup_ticket", "acme_close_ticket"} <= listed
    assert read.is_error is False and read.structured_content == {"ticket_id": "T-9", "status": "open"}
    assert close.structured_content is not None and close.structured_content["status"] == "pending_approval"


def test_without_a_policy_entry_an_entry_point_tool_is_blocked(installed: Path, database_url: str) -> None:
    runtime = build_runtime(make_settings(database_url))
    try:
        assert "acme_lookup_ticket" in runtime.registry
        assert runtime.gateway.classify("acme_lookup_ticket", {"ticket_id": "T-1"}, agent="a").action == "block"
    finally:
        runtime.close()
