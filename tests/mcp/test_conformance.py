"""The official MCP conformance suite (@modelcontextprotocol/conformance, Node 22) against `countersign serve`.

Only the scenarios that apply to a tools-only gateway run; tests/mcp/CONFORMANCE.md lists every other
scenario and why it is skipped. Each scenario must report zero failed checks in its checks.json.
The suite cannot send auth headers, so ``conformance_auth.mjs`` is preloaded to add the agent token.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.people import People
from server.store.db import Store
from tests.conftest import REPO
from tests.mcp.support import NODE, ServeProcess

SUITE = REPO / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
PRELOAD = REPO / "tests" / "mcp" / "conformance_auth.mjs"

# (scenario, spec version). Both protocol eras the SDK serves on one endpoint are exercised.
SCENARIOS = [
    ("server-initialize", "2025-11-25"),
    ("ping", "2025-11-25"),
    ("tools-list", "2025-11-25"),
    ("tools-call-error", "2025-11-25"),
    ("logging-set-level", "2025-11-25"),
    ("dns-rebinding-protection", "2025-11-25"),
    ("server-session-lifecycle", "2025-11-25"),
    ("server-sse-multiple-streams", "2025-11-25"),
    ("tools-list", "2026-07-28"),
    ("dns-rebinding-protection", "2026-07-28"),
    ("http-header-validation", "2026-07-28"),
    ("server-sse-multiple-streams", "2026-07-28"),
    ("input-required-result-unsupported-methods", "2026-07-28"),
    ("input-required-result-ignore-extra-params", "2026-07-28"),
]

pytestmark = [
    pytest.mark.node,
    pytest.mark.skipif(not (Path(NODE).exists() and SUITE.exists()), reason="run `make node-deps` first"),
]


@pytest.fixture(scope="module")
def gateway_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """One `countersign serve` for every scenario (as the issue asks), and an agent token for the suite."""
    root = tmp_path_factory.mktemp("conformance")
    database_url = f"sqlite:///{root / 'countersign.db'}"
    store = Store.open(database_url)
    try:
        token = People(store).create_agent_token("conformance")
    finally:
        store.close()
    serve = ServeProcess(database_url, root / "serve.log").start()
    try:
        yield f"{serve.url}/mcp", token
    finally:
        serve.stop()


@pytest.mark.parametrize(("scenario", "spec_version"), SCENARIOS, ids=[f"{s}@{v}" for s, v in SCENARIOS])
def test_conformance_scenario_has_no_failed_checks(
    gateway_url: tuple[str, str], scenario: str, spec_version: str, tmp_path: Path
) -> None:
    url, token = gateway_url
    env = {**os.environ, "COUNTERSIGN_AGENT_TOKEN": token, "COUNTERSIGN_MCP_URL": url}
    done = subprocess.run(
        [
            NODE,
            "--import",
            str(PRELOAD),
            str(SUITE),
            "server",
            "--url",
            url,
            "--scenario",
            scenario,
            "--spec-version",
            spec_version,
            "-o",
            str(tmp_path),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results = list(tmp_path.glob("*/checks.json"))
    assert len(results) == 1, f"no checks.json (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    checks = json.loads(results[0].read_text())
    failed = [(c["id"], c.get("errorMessage")) for c in checks if c["status"] == "FAILURE"]
    assert checks, "the scenario ran no checks"
    assert failed == []
