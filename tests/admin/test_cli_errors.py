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


# --- The operator's own mistakes, as they make them: each is one line naming what to fix. -------------------

# A command line the parser refuses: one line naming the option and the command's --help, exit 2.
USAGE_MISTAKES = {
    "bad choice": (["tool", "set-risk", "issue_refund", "extreme", "--action", "hold", "--reason", "r"], "'extreme'"),
    "missing option": (["tool", "set-risk", "issue_refund", "high", "--action", "hold"], "--reason"),
    "unknown command": (["frobnicate"], "frobnicate"),
    "unknown option": (["tool", "list", "--frob"], "--frob"),
    "port above range": (["serve", "--port", "70000"], "--port"),
    "negative port": (["demo", "--port", "-1"], "--port"),
    "port not a number": (["serve", "--port", "http"], "--port"),
    "confidence above 1": (["policy", "test", "issue_refund", "--confidence", "2"], "--confidence"),
}


@pytest.mark.parametrize(("args", "named"), USAGE_MISTAKES.values(), ids=USAGE_MISTAKES.keys())
def test_a_command_line_that_does_not_parse_is_one_line_naming_the_option(
    args: list[str], named: str, tmp_path: Path
) -> None:
    result = run_as_newcomer(args, f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    line = one_error_line(result)
    assert named in line and "--help" in line and "Value error" not in line
    assert result.returncode == 2
    assert not (tmp_path / "x.db").exists()


# Settings whose wrong value used to pass unnoticed, or to read as a bug ("unexpected ..."), or as a stack.
SETTING_MISTAKES = {
    "hosts not a JSON list": ("COUNTERSIGN_ALLOWED_HOSTS", "countersign.example.com"),
    "proxies not a JSON list": ("COUNTERSIGN_TRUSTED_PROXIES", "10.0.0.1"),
    "unknown log level": ("COUNTERSIGN_LOG_LEVEL", "LOUD"),
    "base URL without a scheme": ("COUNTERSIGN_BASE_URL", "countersign.example.com:8765"),
    "Slack API not a URL": ("COUNTERSIGN_SLACK_BASE_URL", "slack"),
    "Slack prefix not http": ("COUNTERSIGN_SLACK_RESPONSE_URL_PREFIX", "ftp://hooks.slack.com/"),
    "negative session idle time": ("COUNTERSIGN_SESSION_IDLE_MINUTES", "-5"),
    "zero session lifetime": ("COUNTERSIGN_SESSION_ABSOLUTE_HOURS", "0"),
    "metrics on every interface by accident": ("COUNTERSIGN_METRICS_HOST", ""),
    "SSO mapping without SSO": ("COUNTERSIGN_OIDC_MAPPING", "/etc/countersign/sso.yaml"),
    "SSO secret without SSO": ("COUNTERSIGN_OIDC_CLIENT_SECRET", "s3cret"),
}


@pytest.mark.parametrize(("setting", "value"), SETTING_MISTAKES.values(), ids=SETTING_MISTAKES.keys())
@pytest.mark.parametrize("args", [["tool", "list"], ["serve", "--port", "0"]], ids=" ".join)
def test_a_wrong_setting_is_one_line_naming_it(args: list[str], setting: str, value: str, tmp_path: Path) -> None:
    result = run_as_newcomer(args, f"sqlite:///{tmp_path / 'x.db'}", tmp_path, **{setting: value})
    line = one_error_line(result)
    assert setting in line and "unexpected" not in line


def test_a_log_level_in_lower_case_is_accepted(tmp_path: Path) -> None:
    result = run_as_newcomer(["audit", "anchor"], "sqlite://", tmp_path, COUNTERSIGN_LOG_LEVEL="warn")
    assert "COUNTERSIGN_LOG_LEVEL" not in result.stderr


SSO = {"COUNTERSIGN_OIDC_ISSUER": "https://idp.example.com", "COUNTERSIGN_OIDC_CLIENT_ID": "countersign"}
MAPPINGS = {"missing": None, "not YAML": "rules: [\n", "a directory": ""}


@pytest.mark.parametrize("content", MAPPINGS.values(), ids=MAPPINGS.keys())
def test_serve_with_a_single_sign_on_mapping_that_does_not_load_is_one_line_and_never_starts(
    content: str | None, tmp_path: Path
) -> None:
    mapping = tmp_path / "sso.yaml"
    if content == "":
        mapping.mkdir()
    elif content is not None:
        mapping.write_text(content)
    database = tmp_path / "never.db"
    result = run_as_newcomer(
        ["serve", "--port", "0"], f"sqlite:///{database}", tmp_path, **SSO, COUNTERSIGN_OIDC_MAPPING=str(mapping)
    )
    line = one_error_line(result)
    assert "COUNTERSIGN_OIDC_MAPPING" in line and str(mapping) in line
    assert not database.exists()


def test_serve_with_the_metrics_port_in_use_is_one_line_naming_the_setting(tmp_path: Path) -> None:
    database = tmp_path / "never.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_as_newcomer(
            ["serve", "--port", "0"], f"sqlite:///{database}", tmp_path, COUNTERSIGN_METRICS_PORT=str(port)
        )
    line = one_error_line(result)
    assert f"127.0.0.1:{port}" in line and "COUNTERSIGN_METRICS_PORT" in line
    assert not database.exists()


# A team's tools module (COUNTERSIGN_TOOLS) that breaks as it loads: named, with the file and line that raised.
BROKEN_PLUGINS = {
    "raises at import": ('raise RuntimeError("no CRM credentials")\n', "RuntimeError", ":1"),
    "syntax error": ("def broken(:\n", "SyntaxError", ":1"),
    "factory raises": ('def registry():\n    raise ValueError("factory broke")\n', "ValueError", ":2"),
    "tool name taken": (
        "from tools.contract import ToolRegistry\nregistry = ToolRegistry()\n"
        '@registry.tool(category="read", risk="low", action="allow")\n'
        'def get_customer(office: object) -> dict:\n    """Shadow the built-in."""\n    return {}\n',
        "'get_customer' registered twice",
        "",
    ),
}


@pytest.mark.parametrize(("source", "says", "line"), BROKEN_PLUGINS.values(), ids=BROKEN_PLUGINS.keys())
@pytest.mark.parametrize("args", [["stdio"], ["serve", "--port", "0"]], ids=" ".join)
def test_a_tools_module_that_breaks_as_it_loads_is_one_line_naming_it(
    args: list[str], source: str, says: str, line: str, tmp_path: Path
) -> None:
    (tmp_path / "acme_broken_tools.py").write_text(source)
    database = tmp_path / "never.db"
    result = run_as_newcomer(
        args,
        f"sqlite:///{database}",
        tmp_path,
        COUNTERSIGN_TOOLS="acme_broken_tools:registry",
        PYTHONPATH=str(tmp_path),
    )
    error = one_error_line(result)
    assert "acme_broken_tools:registry" in error and says in error and "unexpected" not in error
    assert f"acme_broken_tools.py{line}" in error if line else True
    assert not database.exists()


BROKEN_UPSTREAM_CONFIGS = {
    "command and url": ("upstreams:\n  api:\n    url: https://x.example/mcp\n    command: [srv]\n", ":3", "not both"),
    "neither command nor url": ("upstreams:\n  api:\n    required: true\n", ":2", "`command` (stdio) or `url`"),
    "command as a string": ("upstreams:\n  fs:\n    command: mcp-fs /srv\n", ":3", "a list: [program, arg...]"),
    "url not http": ("upstreams:\n  api:\n    url: ftp://x.example\n", ":3", "http:// or https:// URL"),
    "a list at the top": ("- upstreams\n", ":1", "a mapping with `upstreams:`"),
    "several problems": ("upstreams:\n  a: {command: [x], retries: 3}\n  b: {url: ftp://x}\n", ":3", "retries"),
}


@pytest.mark.parametrize(
    ("text", "where", "says"), BROKEN_UPSTREAM_CONFIGS.values(), ids=BROKEN_UPSTREAM_CONFIGS.keys()
)
def test_a_broken_upstream_configuration_is_one_line_naming_file_line_and_problem(
    text: str, where: str, says: str, tmp_path: Path
) -> None:
    config = tmp_path / "countersign.yaml"
    config.write_text(text)
    line = one_error_line(run_as_newcomer(["upstream", "list"], f"sqlite:///{tmp_path / 'x.db'}", tmp_path))
    assert f"countersign.yaml{where}" in line and says in line and "Value error" not in line


EXPORTS = {"not JSON": b'{"seq": 1\n', "not text": b"\x7fELF\xd0\xd0\x00"}


@pytest.mark.parametrize("content", EXPORTS.values(), ids=EXPORTS.keys())
def test_verifying_a_file_that_is_not_an_export_is_one_line_naming_it(content: bytes, tmp_path: Path) -> None:
    export = tmp_path / "trail.jsonl"
    export.write_bytes(content)
    line = one_error_line(run_as_newcomer(["audit", "verify", "--file", str(export)], "sqlite://", tmp_path))
    assert str(export) in line and "unexpected" not in line


def test_an_anchor_for_a_webhook_that_is_not_http_is_refused_before_anything_is_printed(tmp_path: Path) -> None:
    result = run_as_newcomer(["audit", "anchor", "--webhook", "ftp://x"], f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    assert "--webhook" in one_error_line(result) and result.stdout == ""


# Mistakes a command finds itself: the same one `error: ` line as every other.
COMMAND_MISTAKES = {
    "user add with no terminal": (["user", "add", "ana", "--role", "reviewer"], "--password-stdin"),
    "token revoke of nobody": (["token", "revoke", "--user", "nobody"], "'nobody'"),
    "kill switch maybe": (["tool", "kill-switch", "maybe", "--reason", "r"], "'maybe'"),
    "risk of an unknown tool": (
        ["tool", "set-risk", "nosuch", "high", "--action", "hold", "--reason", "r"],
        "'nosuch'",
    ),
    "replay since yesterday": (["policy", "replay", "--since", "yesterday"], "--since"),
    "args not JSON": (["policy", "test", "issue_refund", "--args", "{bad"], "--args"),
}


@pytest.mark.parametrize(("args", "named"), COMMAND_MISTAKES.values(), ids=COMMAND_MISTAKES.keys())
def test_a_mistake_a_command_finds_is_one_error_line(args: list[str], named: str, tmp_path: Path) -> None:
    assert named in one_error_line(run_as_newcomer(args, f"sqlite:///{tmp_path / 'x.db'}", tmp_path))
