"""countersign.yaml: valid files load, every mistake is one clear line naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.upstream.config import ConfigError, HttpUpstream, StdioUpstream, load_config
from server.upstream.names import MAX_LENGTH, listed_name


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "countersign.yaml"
    path.write_text(text)
    return path


def test_stdio_and_http_upstreams_load_with_secrets_taken_from_the_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "upstreams:\n"
        "  files:\n"
        "    command: [node, server.js, /srv]\n"
        "    env: {HOME_DIR: '${HOME_DIR}'}\n"
        "  billing:\n"
        "    url: http://127.0.0.1:9/mcp\n"
        "    headers: {Authorization: 'Bearer ${BILLING_TOKEN}'}\n"
        "    call_timeout: 2m\n"
        "    required: true\n",
    )
    config = load_config(path, {"BILLING_TOKEN": "s3cret", "HOME_DIR": "/home/x"})

    files, billing = config.upstreams["files"], config.upstreams["billing"]
    assert isinstance(files, StdioUpstream) and files.command == ("node", "server.js", "/srv")
    assert files.env == {"HOME_DIR": "/home/x"}
    assert isinstance(billing, HttpUpstream) and billing.headers == {"Authorization": "Bearer s3cret"}
    assert billing.call_timeout == 120 and billing.required


def test_an_unknown_key_is_reported_with_its_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "upstreams:\n  files:\n    command: [node]\n    comand_args: [x]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert str(caught.value) == f"{path}:4: upstreams.files.comand_args: unknown key"


def test_malformed_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "upstreams:\n  files: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"^{path}:3: "):
        load_config(path, {})


def test_a_missing_environment_variable_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "upstreams:\n  billing:\n    url: http://x/mcp\n    headers: {A: '${NOT_SET}'}\n")
    with pytest.raises(ConfigError, match=r":2: upstreams.billing: environment variable NOT_SET is not set"):
        load_config(path, {})


def test_an_upstream_name_with_the_separator_in_it_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "upstreams:\n  my__files:\n    command: [node]\n")
    with pytest.raises(ConfigError, match=r":2: upstreams.my__files: "):
        load_config(path, {})


def test_an_absent_default_file_means_no_upstreams_but_a_named_missing_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COUNTERSIGN_CONFIG", raising=False)
    assert load_config().upstreams == {}
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_listed_names_fit_every_clients_tool_name_rules_and_never_collide() -> None:
    assert listed_name("fs", "write_file") == "fs__write_file"
    long_a, long_b = listed_name("fs", "x" * 80 + "a"), listed_name("fs", "x" * 80 + "b")
    assert len(long_a) == MAX_LENGTH and len(long_b) == MAX_LENGTH and long_a != long_b
    odd = listed_name("crm", "contacts.search/v2")
    assert odd.startswith("crm__contacts_search_v2_") and len(odd) <= MAX_LENGTH
