"""@modelcontextprotocol/server-filesystem over stdio, guarded: reads run, writes wait for a person."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from mcp import Client

from server.lifecycle.actors import Person
from server.lifecycle.errors import InvalidDecision
from server.runtime import Runtime
from tests.mcp.support import ADMIN, HeldCalls, mcp_server
from tests.upstream.support import FS_POLICY, filesystem, ready_when_it_reads, upstream_runtime

NO_WAIT = {"countersign/inline_wait": 0}
SECOND = Person("ben", "admin")  # an edited call needs someone other than its editor


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "shared"
    root.mkdir()
    (root / "notes.txt").write_text("hello from the shared folder\n")
    return root.resolve()


@pytest.fixture
def runtime(database_url: str, tmp_path: Path, folder: Path) -> Iterator[Runtime]:
    runtime = upstream_runtime(database_url, tmp_path, {"fs": filesystem(folder)}, FS_POLICY)
    ready_when_it_reads(runtime, folder / "notes.txt")
    yield runtime
    runtime.close()


async def test_upstream_tools_are_listed_beside_the_built_in_ones_under_their_upstream_name(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}

    assert {"fs__read_text_file", "fs__write_file", "fs__move_file", "issue_refund", "await_decision"} <= names
    assert all(len(name) <= 64 for name in names)


async def test_reading_and_listing_run_at_once_and_return_the_upstreams_result(runtime: Runtime, folder: Path) -> None:
    async with Client(mcp_server(runtime)) as client:
        read = await client.call_tool("fs__read_text_file", {"path": str(folder / "notes.txt")})
        listing = await client.call_tool("fs__list_directory", {"path": str(folder)})

    assert read.is_error is False
    assert read.content[0].text == "hello from the shared folder\n"  # type: ignore[union-attr]
    assert (read.meta or {})["countersign/call"]["verdict"]["action"] == "allow"
    assert "notes.txt" in listing.content[0].text  # type: ignore[union-attr]


async def test_a_write_is_held_and_the_file_appears_only_after_approval_with_exactly_the_edited_content(
    runtime: Runtime, folder: Path
) -> None:
    target = folder / "reply.txt"
    held = HeldCalls(runtime)
    async with Client(mcp_server(runtime)) as client:
        first = await client.call_tool(
            "fs__write_file", {"path": str(target), "content": "draft from the agent"}, meta=NO_WAIT
        )
        with anyio.fail_after(10):
            call_id = await held.next()
        assert first.structured_content is not None
        assert first.structured_content["status"] == "pending_approval"
        assert not target.exists()

        edited = {"path": str(target), "content": "approved wording"}
        edit = await anyio.to_thread.run_sync(
            lambda: runtime.gateway.approve(call_id, ADMIN, arguments=edited, reason="checked")
        )
        assert edit.call.status == "held" and not target.exists()  # the editor alone never completes it
        outcome = await anyio.to_thread.run_sync(lambda: runtime.gateway.approve(call_id, SECOND, reason="agreed"))
        assert outcome.call.status == "succeeded"
        assert target.read_text() == "approved wording"

        result = await client.call_tool("await_decision", {"call_id": call_id})

    assert result.is_error is False
    assert "Successfully wrote" in result.content[0].text  # type: ignore[union-attr]
    assert (result.meta or {})["countersign/call"]["diff"]
    again = runtime.gateway.approve
    with pytest.raises(Exception):  # noqa: B017 - decided calls cannot be decided again (Conflict)
        await anyio.to_thread.run_sync(lambda: again(call_id, ADMIN))
    assert target.read_text() == "approved wording"  # written once


async def test_a_rejected_write_never_happens(runtime: Runtime, folder: Path) -> None:
    target = folder / "never.txt"
    held = HeldCalls(runtime)
    async with Client(mcp_server(runtime)) as client:
        await client.call_tool("fs__write_file", {"path": str(target), "content": "x"}, meta=NO_WAIT)
        with anyio.fail_after(10):
            call_id = await held.next()
        await anyio.to_thread.run_sync(lambda: runtime.gateway.reject(call_id, ADMIN, reason="not wanted"))
        result = await client.call_tool("await_decision", {"call_id": call_id})

    assert result.is_error is True
    assert result.structured_content is not None and result.structured_content["status"] == "rejected"
    assert not target.exists()


async def test_moving_a_file_is_held_and_the_file_stays_put_until_approved(runtime: Runtime, folder: Path) -> None:
    held = HeldCalls(runtime)
    source, destination = folder / "notes.txt", folder / "moved.txt"
    async with Client(mcp_server(runtime)) as client:
        await client.call_tool("fs__move_file", {"source": str(source), "destination": str(destination)}, meta=NO_WAIT)
        with anyio.fail_after(10):
            call_id = await held.next()
        assert source.exists() and not destination.exists()
        await anyio.to_thread.run_sync(lambda: runtime.gateway.approve(call_id, ADMIN))

    assert destination.exists() and not source.exists()


async def test_an_edit_outside_the_upstreams_schema_is_refused_before_it_is_held(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        result = await client.call_tool("fs__write_file", {"path": 3}, meta=NO_WAIT)

    assert result.is_error is True
    assert result.structured_content is not None and result.structured_content["status"] == "invalid_arguments"


async def test_editing_a_held_write_into_invalid_arguments_is_refused(runtime: Runtime, folder: Path) -> None:
    held = HeldCalls(runtime)
    async with Client(mcp_server(runtime)) as client:
        await client.call_tool("fs__write_file", {"path": str(folder / "a.txt"), "content": "x"}, meta=NO_WAIT)
        with anyio.fail_after(10):
            call_id = await held.next()

    with pytest.raises(InvalidDecision):
        runtime.gateway.approve(call_id, ADMIN, arguments={"path": str(folder / "a.txt")})
    assert not (folder / "a.txt").exists()
