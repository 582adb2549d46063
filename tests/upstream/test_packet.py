"""The reviewer's packet for a held upstream call: the tool's own description, an edit form from the
upstream's schema, and the policy's preview tool's answer as "now" (its failure shown, never blocking)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.lifecycle.records import NewCall
from server.people import People
from server.runtime import Runtime, build_runtime
from server.upstream.config import UpstreamsConfig
from tests.upstream.support import FS_POLICY, filesystem, policies_with, ready_when_it_reads
from tests.web.support import FAST_HASHER, make_settings, password, sign_in
from web.app import create_app


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "shared"
    root.mkdir()
    (root / "notes.txt").write_text("the text that is there now")
    return root.resolve()


@pytest.fixture
def runtime(database_url: str, tmp_path: Path, folder: Path) -> Iterator[Runtime]:
    settings = make_settings(database_url, policies=policies_with(tmp_path, FS_POLICY))
    runtime = build_runtime(settings, upstreams=UpstreamsConfig(None, {"fs": filesystem(folder)}))
    assert runtime.hub is not None and runtime.hub.wait_up("fs", 60)
    ready_when_it_reads(runtime, folder / "notes.txt")
    runtime.people = People(runtime.store, hasher=FAST_HASHER)
    runtime.people.create_user("ada", "admin", password=password("ada"))
    yield runtime
    runtime.close()


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime.settings, runtime), base_url="http://testserver") as client:
        yield client


def hold_write(runtime: Runtime, path: Path) -> str:
    new = NewCall(tool="fs__write_file", arguments={"path": str(path), "content": "new words"}, agent="agent-a")
    submission = runtime.gateway.submit(new)
    assert submission.call.status == "held"
    return submission.call.id


def test_the_packet_shows_the_tools_description_an_edit_form_and_the_current_file_as_now(
    runtime: Runtime, client: TestClient, folder: Path
) -> None:
    call_id = hold_write(runtime, folder / "notes.txt")
    sign_in(client, "ada")
    page = client.get(f"/calls/{call_id}")

    assert page.status_code == 200
    assert "Create a new file or completely overwrite an existing file" in page.text  # the upstream's own words
    assert "the text that is there now" in page.text  # the preview tool's answer
    form = client.get(f"/calls/{call_id}/edit")
    assert form.status_code == 200
    assert re.search(r'name="[^"]*content[^"]*"', form.text)  # an edit field from the upstream's schema


def test_a_failing_preview_is_shown_and_the_call_can_still_be_approved(
    runtime: Runtime, client: TestClient, folder: Path
) -> None:
    call_id = hold_write(runtime, folder / "brand-new.txt")  # nothing to read yet: the preview fails
    sign_in(client, "ada")
    page = client.get(f"/calls/{call_id}")

    assert page.status_code == 200
    assert "could not preview this call" in page.text
    from tests.mcp.support import ADMIN

    assert runtime.gateway.approve(call_id, ADMIN).call.status == "succeeded"
    assert (folder / "brand-new.txt").read_text() == "new words"
