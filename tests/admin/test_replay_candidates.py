"""The attack: use the policy replay to read the server's files (or exhaust its memory) through a candidate path."""

from __future__ import annotations

import os
import textwrap
import tracemalloc
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from server.cli import app
from server.policy import PolicyError
from server.replay_candidates import MAX_FILE_BYTES, MAX_FILES, CandidateError, load_candidate, load_uploaded
from server.runtime import Runtime
from tests.admin.web import Visitor
from tests.admin.world import POLICY, write_policy

SECRET_FILE_TEXT = "aws_secret_access_key: wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY\n"


@pytest.fixture
def root(runtime: Runtime) -> Path:
    """The replay root the running pages use (default: policy-candidates/ next to the live policies)."""
    root = runtime.settings.replay_root
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "credentials.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(SECRET_FILE_TEXT, encoding="utf-8")
    return path


def _replay(visitor: Visitor, policies: str) -> tuple[int, str]:
    page = visitor.get(f"/admin/policy/replay?days=30&policies={quote(policies, safe='')}")
    return page.status_code, page.text


def test_a_candidate_inside_the_root_replays(admin: Visitor, root: Path) -> None:
    write_policy(root / "looser", POLICY.replace("email: {action: hold", "email: {action: allow"))
    code, text = _replay(admin, "looser")
    assert code == 200 and 'id="replay-result"' in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("/etc", "is not"),
        ("../../../../../../etc", "is not"),
        ("a" * 900, "too long"),
        ("looser\x00.yaml", "control character"),
        ("no-such-candidate", "no candidate directory"),
    ],
    ids=["absolute-outside", "dot-dot", "900-chars", "nul-byte", "missing"],
)
def test_a_path_outside_the_root_or_malformed_is_a_422_with_a_message(
    admin: Visitor, root: Path, given: str, says: str
) -> None:
    code, text = _replay(admin, given)
    assert code == 422 and says in text and 'id="replay-result"' not in text


def test_a_symlinked_policy_file_is_refused_and_its_target_never_shown(
    admin: Visitor, root: Path, secret: Path
) -> None:
    candidate = write_policy(root / "sneaky")
    (candidate / "zz-extra.yaml").symlink_to(secret)
    code, text = _replay(admin, "sneaky")
    assert code == 422 and "symbolic link" in text
    assert "wJalrXUtnFEMI" not in text and "aws_secret_access_key" not in text


def test_a_symlinked_candidate_directory_leading_out_of_the_root_is_refused(
    admin: Visitor, root: Path, secret: Path
) -> None:
    (root / "elsewhere").symlink_to(secret.parent, target_is_directory=True)
    code, text = _replay(admin, "elsewhere")
    assert code == 422 and "is not" in text and "aws_secret_access_key" not in text


def test_a_256_mib_sparse_file_is_refused_without_reading_it(admin: Visitor, root: Path) -> None:
    candidate = write_policy(root / "huge")
    with (candidate / "zz-huge.yaml").open("wb") as handle:
        handle.truncate(256 * 1024 * 1024)
    tracemalloc.start()
    try:
        code, text = _replay(admin, "huge")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 422 and "268435456 bytes" in text
    assert peak < 20 * 1024 * 1024, f"peak {peak} bytes"


def test_too_many_policy_files_are_refused(tmp_path: Path) -> None:
    root = tmp_path
    candidate = write_policy(root / "many")
    for i in range(MAX_FILES):
        (candidate / f"extra-{i:03d}.yaml").write_text("version: 1\n", encoding="utf-8")
    with pytest.raises(CandidateError, match="policy files; at most"):
        load_candidate(root, "many")


def test_a_fifo_named_like_a_policy_file_is_refused_without_blocking(tmp_path: Path) -> None:
    root = tmp_path
    candidate = write_policy(root / "piped")
    os.mkfifo(candidate / "zz-pipe.yaml")
    with pytest.raises(CandidateError, match="not a regular file"):
        load_candidate(root, "piped")


def test_a_broken_candidate_names_its_files_relative_to_the_root(tmp_path: Path) -> None:
    root = tmp_path
    candidate = write_policy(root / "broken")
    (candidate / "zz-bad.yaml").write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_candidate(root, "broken")
    assert [p.file for p in caught.value.problems] == [str(Path("broken") / "zz-bad.yaml")]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_replay_of_a_directory_outside_the_root_is_one_line_and_exit_2(
    store: object, database_url: str, tmp_path: Path, secret: Path
) -> None:
    root = tmp_path / "candidates"
    root.mkdir()
    result = CliRunner().invoke(
        app,
        ["policy", "replay", "--policies", str(secret.parent), "--database-url", database_url],
        env={"COUNTERSIGN_POLICY_REPLAY_ROOT": str(root)},
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "inside" in result.stderr
    assert "aws_secret_access_key" not in result.output


def _upload(visitor: Visitor, files: list[tuple[str, bytes]]) -> tuple[int, str]:
    page = visitor.post(
        "/admin/policy/replay",
        {"days": "30"},
        files=[("files", (name, raw, "application/yaml")) for name, raw in files],
    )
    return page.status_code, page.text


def test_uploaded_candidate_files_replay(admin: Visitor) -> None:
    looser = POLICY.replace("email: {action: hold", "email: {action: allow")
    code, text = _upload(admin, [("looser.yaml", textwrap.dedent(looser).encode())])
    assert code == 200 and 'id="replay-result"' in text and "looser.yaml" in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("name", "raw", "says"),
    [
        ("notes.txt", b"version: 1\n", "is not a policy file"),
        (".hidden.yaml", b"version: 1\n", "is not a policy file"),
        ("big.yaml", b"#" * (MAX_FILE_BYTES + 1), "larger than"),
        ("broken.yaml", b"rules: [\n", "uploaded/broken.yaml"),
    ],
    ids=["not-yaml", "hidden", "over-the-cap", "broken"],
)
def test_an_unacceptable_upload_is_a_422_with_a_message(admin: Visitor, name: str, raw: bytes, says: str) -> None:
    code, text = _upload(admin, [(name, raw)])
    assert code == 422 and says in text and 'id="replay-result"' not in text


def test_an_uploaded_name_with_directories_keeps_only_its_base_name(tmp_path: Path) -> None:
    policy = load_uploaded([("../../../../tmp/evil/policy.yaml", textwrap.dedent(POLICY).encode())])
    assert [Path(f).name for f in policy.files] == ["policy.yaml"]
    assert not (tmp_path.parent / "evil").exists()


def test_uploading_without_the_csrf_token_changes_nothing(admin: Visitor) -> None:
    page = admin.client.post(
        "/admin/policy/replay", data={"days": "30"}, files=[("files", ("p.yaml", b"version: 1\n", "application/yaml"))]
    )
    assert page.status_code == 403
