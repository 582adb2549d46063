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
from typing import Any

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
    checks = _run_scenario(gateway_url, scenario, spec_version, tmp_path)
    failed = [(c["id"], c.get("errorMessage")) for c in checks if c["status"] == "FAILURE"]
    assert checks, "the scenario ran no checks"
    assert failed == []


# The tasks extension's scenarios (2026-07-28) call the suite's fixture tools (slow_compute, failing_job,
# greet...) to make tasks; a gateway has none, so only the checks that need no fixture are asserted here.
# Task creation, tasks/get, cancel and TTL are covered by test_tasks_extension.py and test_tasks_ts.py;
# tests/mcp/CONFORMANCE.md lists every check left out and why.
TASK_CHECKS = {
    "tasks-capability-negotiation": [
        "tasks-extension-advertised",
        "sep-2663-tasks-methods-non-declaring",
        "sep-2663-server-rejects-undeclared-client",
        "wire-schema-valid",
    ],
    "tasks-dispatch-and-envelope": [
        "sep-2663-tasks-result-removed-method-not-found",
        "tasks-removed-tasks-list",
        "sep-2663-legacy-task-param-ignored",
        "tasks-immediate-result-shortcut",
        "tasks-result-type-complete-on-non-task-responses",
        "sep-2663-tasks-get-invalid-task-id-32602",
        "wire-schema-valid",
    ],
    "tasks-lifecycle": ["tasks-sync-tool-call", "wire-schema-valid"],
    "tasks-request-headers": ["tasks-headers-reject-mismatched-method", "wire-schema-valid"],
}


@pytest.mark.parametrize("scenario", sorted(TASK_CHECKS))
def test_tasks_extension_checks_that_need_no_fixture_tools_pass(
    gateway_url: tuple[str, str], scenario: str, tmp_path: Path
) -> None:
    checks = _run_scenario(gateway_url, scenario, "2026-07-28", tmp_path, force=True)
    status = {c["id"]: c["status"] for c in checks}
    assert {check: status.get(check) for check in TASK_CHECKS[scenario]} == dict.fromkeys(
        TASK_CHECKS[scenario], "SUCCESS"
    )


def _run_scenario(
    gateway_url: tuple[str, str], scenario: str, spec_version: str, out: Path, *, force: bool = False
) -> list[dict[str, Any]]:
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
            *(["--force"] if force else []),  # extension scenarios are not on the spec's timeline
            "-o",
            str(out),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results = list(out.glob("*/checks.json"))
    assert len(results) == 1, f"no checks.json (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    checks: list[dict[str, Any]] = json.loads(results[0].read_text())
    return checks
