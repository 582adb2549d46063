"""@modelcontextprotocol/server-everything: what an allowed call returns arrives exactly as a direct client gets it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from server.runtime import Runtime
from server.upstream.config import StdioUpstream
from tests.mcp.support import NODE, mcp_server
from tests.upstream.support import EVERYTHING, upstream_runtime

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("echo", {"message": "héllo"}),
    ("get-tiny-image", {}),  # image content
    ("get-resource-links", {"count": 2}),  # resource links
    ("get-resource-reference", {"resourceType": "Text", "resourceId": 1}),  # embedded resource
    ("get-structured-content", {"location": "Chicago"}),  # structuredContent
    ("get-annotated-message", {"messageType": "error", "includeImage": True}),  # annotations
    ("get-sum", {"a": 2, "b": 3}),
]
_CLOCK = re.compile(r"\d{1,2}:\d{2}:\d{2}( [AP]M)?")
POLICY = (
    "version: 1\ntools:\n"
    + "".join(f"  ev__{name}: {{action: allow, risk: low, kind: read}}\n" for name, _ in CALLS)
    + "  ev__trigger-long-running-operation: {action: allow, risk: low, kind: read}\n"
)


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    upstream = StdioUpstream(command=(NODE, str(EVERYTHING), "stdio"), connect_timeout=30, call_timeout=30)
    runtime = upstream_runtime(database_url, tmp_path, {"ev": upstream}, POLICY)
    yield runtime
    runtime.close()


def _direct() -> Client:
    return Client(StdioServerParameters(command=NODE, args=[str(EVERYTHING), "stdio"]), mode="legacy")


def _comparable(result: Any) -> dict[str, Any]:
    # The dynamic resource carries the time it was generated: the two calls may straddle a second.
    text = _CLOCK.sub("<time>", result.model_dump_json(by_alias=True, exclude_none=True))
    dumped: dict[str, Any] = json.loads(text)
    # Our note, and the server info the SDK stamps on every 2026-07-28 answer (ours, not the upstream's).
    ours = {"countersign/call", "io.modelcontextprotocol/serverInfo"}
    meta = {k: v for k, v in (dumped.pop("_meta", None) or {}).items() if k not in ours}
    if meta:
        dumped["_meta"] = meta
    return dumped


async def test_every_content_type_arrives_identical_to_what_a_direct_client_gets(runtime: Runtime) -> None:
    kinds: set[str] = set()
    async with _direct() as direct, Client(mcp_server(runtime)) as guarded:
        for name, arguments in CALLS:
            expected = await direct.call_tool(name, arguments)
            got = await guarded.call_tool(f"ev__{name}", arguments)
            assert _comparable(got) == _comparable(expected), name
            assert (got.meta or {})["countersign/call"]["verdict"]["action"] == "allow"
            kinds.update(item["type"] for item in _comparable(expected)["content"])

    assert {"text", "image", "resource_link", "resource"} <= kinds  # every content type was compared


async def test_the_progress_of_a_long_running_upstream_tool_reaches_the_agent(runtime: Runtime) -> None:
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with Client(mcp_server(runtime)) as client:
        with anyio.fail_after(30):
            result = await client.call_tool(
                "ev__trigger-long-running-operation", {"duration": 1, "steps": 3}, progress_callback=on_progress
            )

    assert result.is_error is False
    assert [p for p, _ in seen] == [1, 2, 3] and {t for _, t in seen} == {3}
