"""The newcomer's mistake: a wrong database URL or a database never set up, met by the real console script.

Every command group answers with exactly one line on stderr and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.mcp.support import one_error_line, run_as_newcomer

# One or more commands of every group; each one opens the store (or the settings) before doing anything.
COMMANDS = [
    ["audit", "verify"],
    ["audit", "export", "--format", "csv"],
    ["policy", "replay"],
    ["tool", "list"],
    ["tool", "set-risk", "issue_refund", "high", "--action", "hold", "--reason", "trial"],
    ["tool", "kill-switch", "on", "--reason", "trial"],
    ["user", "add", "ana", "--role", "reviewer", "--password-stdin"],
    ["agent", "add", "bot"],
    ["agent", "revoke", "bot"],
    ["token", "create", "--user", "ana"],
    ["serve", "--port", "0"],
    ["stdio"],
]
# Commands that only read: they must not set a database up, so an empty one is refused.
READERS = [["audit", "verify"], ["audit", "export"], ["audit", "anchor"], ["policy", "replay"]]

BAD_URLS = {
    "unreachable-postgres": "postgresql://postgres@127.0.0.1:1/countersign",
    "missing-sqlite-directory": "sqlite:////nonexistent-countersign-dir/x.db",
}
# Refused before any connection, the same way by every command: one command is enough.
MALFORMED_URLS = {"unparseable": "not a database url", "unknown-dialect": "mongodb://127.0.0.1/countersign"}


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
def test_a_bad_database_url_is_one_line_and_a_non_zero_exit(args: list[str], url: str, tmp_path: Path) -> None:
    line = one_error_line(run_as_newcomer(args, url, tmp_path))
    assert "database" in line


@pytest.mark.parametrize("url", MALFORMED_URLS.values(), ids=MALFORMED_URLS.keys())
def test_a_malformed_database_url_is_one_line_saying_so(url: str, tmp_path: Path) -> None:
    assert "database URL" in one_error_line(run_as_newcomer(["audit", "verify"], url, tmp_path))


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_a_database_never_set_up_is_one_line_naming_the_fix(args: list[str], database_url: str, tmp_path: Path) -> None:
    line = one_error_line(run_as_newcomer(args, database_url, tmp_path))
    assert "no Countersign schema" in line and "countersign serve" in line


@pytest.mark.parametrize(
    "args", [["audit", "verify"], ["tool", "list"], ["policy", "test", "issue_refund"]], ids=" ".join
)
def test_an_invalid_setting_is_one_line_naming_the_setting(args: list[str], tmp_path: Path) -> None:
    result = run_as_newcomer(args, f"sqlite:///{tmp_path / 'x.db'}", tmp_path, COUNTERSIGN_INLINE_WAIT_SECONDS="soon")
    assert "COUNTERSIGN_INLINE_WAIT_SECONDS" in one_error_line(result)


@pytest.mark.parametrize("secret", ["", "changeme"])
@pytest.mark.parametrize("args", [["audit", "verify"], ["audit", "anchor"]], ids=" ".join)
def test_an_unset_or_placeholder_secret_outside_development_is_one_line(
    args: list[str], secret: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    result = run_as_newcomer(args, url, tmp_path, COUNTERSIGN_ENVIRONMENT="production", COUNTERSIGN_SECRET_KEY=secret)
    assert "COUNTERSIGN_SECRET_KEY" in one_error_line(result)


def test_serve_on_an_address_in_use_is_one_line_and_never_opens_the_database(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    with socket.socket() as taken:  # another server's socket: a second server must not start beside it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_error_line(run_as_newcomer(["serve", "--port", str(port)], f"sqlite:///{database}", tmp_path))
    assert f"cannot listen on 127.0.0.1:{port}" in line and "in use" in line
    assert not database.exists()  # it stopped before the database: no sweep, no reclaim of the live server's calls
