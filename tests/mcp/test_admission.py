"""Admission (server/mcp/admission.py): at most N calls work at once, in order, never stuck behind a slow one."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from server.mcp.admission import Admission
from server.runtime import Runtime
from tests.mcp.support import mcp_server
from tools.backoffice import ids

FOREVER = 3600.0  # a patience no test reaches: only a call's end frees its slot


class Line:
    """Tasks that take a turn and hold it until told to leave; records who got in, in order."""

    def __init__(self, admission: Admission) -> None:
        self.admission = admission
        self.entered: list[str] = []
        self._leave: dict[str, anyio.Event] = {}
        self._in: dict[str, anyio.Event] = {}

    async def visit(self, name: str) -> None:
        self._leave[name], self._in[name] = anyio.Event(), anyio.Event()
        async with self.admission.slot():
            self.entered.append(name)
            self._in[name].set()
            await self._leave[name].wait()

    def start(self, group: anyio.abc.TaskGroup, *names: str) -> None:
        for name in names:
            group.start_soon(self.visit, name)

    async def until_in(self, name: str) -> None:
        with anyio.fail_after(5):
            while name not in self._in:
                await anyio.sleep(0)
            await self._in[name].wait()

    def leave(self, name: str) -> None:
        self._leave[name].set()


async def _settle() -> None:
    """Let every ready task run until it blocks (a bounded number of loop turns)."""
    for _ in range(50):
        await anyio.sleep(0)


async def test_no_more_than_the_slots_work_at_once_and_the_others_get_in_in_order_of_arrival() -> None:
    line = Line(Admission(2, patience=FOREVER))
    async with anyio.create_task_group() as group:
        line.start(group, "a", "b", "c", "d", "e")
        await line.until_in("b")
        await _settle()
        assert line.entered == ["a", "b"] and line.admission.running == 2
        line.leave("b")
        await line.until_in("c")
        await _settle()
        assert line.entered == ["a", "b", "c"]
        line.leave("a")
        line.leave("c")
        await line.until_in("e")
        assert line.entered == ["a", "b", "c", "d", "e"]
        line.leave("d")
        line.leave("e")
    assert line.admission.running == 0


async def test_a_call_running_longer_than_the_patience_no_longer_holds_the_others_up() -> None:
    line = Line(Admission(1, patience=0.05))
    async with anyio.create_task_group() as group:
        line.start(group, "slow")
        await line.until_in("slow")
        line.start(group, "next")
        await line.until_in("next")  # in while the slow call still runs
        assert line.entered == ["slow", "next"] and line.admission.running == 2
        line.leave("slow")
        line.leave("next")


async def test_a_waiter_cancelled_in_line_leaves_it_and_the_next_gets_in() -> None:
    line = Line(Admission(1, patience=FOREVER))
    async with anyio.create_task_group() as group:
        line.start(group, "a")
        await line.until_in("a")
        async with anyio.create_task_group() as doomed:
            line.start(doomed, "b")
            await _settle()
            line.start(group, "c")
            await _settle()
            doomed.cancel_scope.cancel()
        assert line.admission.running == 1
        line.leave("a")
        await line.until_in("c")
        assert line.entered == ["a", "c"]
        line.leave("c")
    assert line.admission.running == 0


async def test_a_waiter_cancelled_just_as_its_turn_came_does_not_keep_the_next_out() -> None:
    admission = Admission(1, patience=FOREVER)
    line = Line(admission)
    leave_first = anyio.Event()
    async with anyio.create_task_group() as group:
        async with anyio.create_task_group() as doomed:

            async def first() -> None:
                async with admission.slot():
                    line.entered.append("first")
                    await leave_first.wait()
                doomed.cancel_scope.cancel()  # b was just given the turn and has not run yet

            group.start_soon(first)
            await _settle()
            line.start(doomed, "b")
            await _settle()
            line.start(group, "c")
            await _settle()
            leave_first.set()
        await line.until_in("c")  # whether b took its turn before the cancel reached it or not
        line.leave("c")
    assert admission.running == 0


async def test_a_call_that_fails_inside_its_slot_gives_the_slot_back_to_the_next_in_line() -> None:
    admission = Admission(1, patience=FOREVER)
    with pytest.raises(RuntimeError, match="tool crashed"):
        async with admission.slot():
            raise RuntimeError("tool crashed")
    assert admission.running == 0
    with anyio.fail_after(5):
        async with admission.slot():
            assert admission.running == 1


def test_an_admission_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        Admission(0)


async def test_many_simultaneous_calls_through_two_slots_are_each_answered_with_their_own_result(
    runtime: Runtime,
) -> None:
    customers = [ids.REFUND_CUSTOMER_ID, "C-1002", "C-1003", "C-1004"] * 4
    results: list[dict[str, object]] = [{}] * len(customers)
    async with Client(mcp_server(runtime)) as client:

        async def call(i: int) -> None:
            result = await client.call_tool("get_customer", {"customer_id": customers[i]})
            assert not result.is_error, result
            results[i] = dict(result.structured_content or {})

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for i in range(len(customers)):
                    group.start_soon(call, i)

    assert [r["customer"]["id"] for r in results] == customers  # type: ignore[index]
