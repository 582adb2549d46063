"""Builders for the upstream tests: real npm MCP servers (installed by `make node-deps`), a policy for them."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from server.config import Settings
from server.runtime import Runtime, build_runtime
from server.upstream.config import StdioUpstream, Upstream, UpstreamsConfig
from tests.conftest import REPO
from tests.mcp.support import NODE, demo_registry, make_settings

FILESYSTEM = REPO / "node_modules" / "@modelcontextprotocol" / "server-filesystem" / "dist" / "index.js"
# tests/upstream/chatty_server.py: logs, reports progress, changes its tool list, declares a header.
CHATTY = Path(__file__).with_name("chatty_server.py")
EVERYTHING = REPO / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"

FS_POLICY = """\
version: 1
tools:
  fs__read_text_file: {action: allow, risk: low, kind: read}
  fs__list_directory: {action: allow, risk: low, kind: read}
  fs__write_file:
    action: hold
    risk: medium
    kind: act
    queue: general
    preview: {tool: fs__read_text_file, arguments: '{"path": args.path}'}
  fs__edit_file: {action: hold, risk: medium, kind: act}
  fs__move_file: {action: hold, risk: medium, kind: act}
"""


def filesystem(root: Path) -> StdioUpstream:
    return StdioUpstream(command=(NODE, str(FILESYSTEM), str(root)), connect_timeout=30, call_timeout=20)


def policies_with(tmp_path: Path, extra: str) -> Path:
    """The project's default policy plus ``extra`` as a second file."""
    directory = tmp_path / "policies"
    directory.mkdir()
    shutil.copy(REPO / "policies" / "default.yaml", directory / "default.yaml")
    (directory / "upstream.yaml").write_text(extra)
    return directory


def upstream_runtime(
    database_url: str, tmp_path: Path, upstreams: dict[str, Upstream], policy: str, **settings: Any
) -> Runtime:
    config: Settings = make_settings(database_url, policies=policies_with(tmp_path, policy), **settings)
    runtime = build_runtime(config, registry=demo_registry(), upstreams=UpstreamsConfig(None, upstreams))
    assert runtime.hub is not None
    runtime.hub.wait_settled(30)
    return runtime


def ready_when_it_reads(runtime: Runtime, path: Path) -> None:
    """server-filesystem applies its allowed directories just after the handshake: wait (bounded) until it reads."""
    assert runtime.hub is not None
    for _ in range(500):
        if not runtime.hub.call("fs__read_text_file", {"path": str(path)}).is_error:
            return
    raise AssertionError("server-filesystem never read its own folder")


@contextmanager
def chatty_runtime(database_url: str, tmp_path: Path, policy: str) -> Iterator[Runtime]:
    """A runtime guarding the chatty test server over stdio as upstream ``chat``, connected, under ``policy``."""
    upstream = StdioUpstream(command=(sys.executable, str(CHATTY), "stdio"), call_timeout=10)
    runtime = upstream_runtime(database_url, tmp_path, {"chat": upstream}, policy)
    try:
        assert runtime.hub is not None and runtime.hub.wait_up("chat", 30)
        yield runtime
    finally:
        runtime.close()
