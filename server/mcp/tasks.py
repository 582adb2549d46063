"""MCP Tasks for held calls, both generations, on the SDK's low-level server (which has no tasks runtime).

A task *is* a held call: its ``taskId`` is the call id, its state is the call's row, so tasks survive
restarts and work across instances. Nothing here is kept in memory. Swap this module for the SDK's
runtime when one lands; ``server.py`` only calls :func:`wanted` and :func:`offer`.

**2026-07-28, extension ``io.modelcontextprotocol/tasks`` (SEP-2663).** Advertised under
``capabilities.extensions``. When a ``tools/call`` declares the extension in its per-request client
capabilities and the call is held, the answer is a flat ``{"resultType": "task", taskId, status,
createdAt, lastUpdatedAt, ttlMs, pollIntervalMs}``; calls the policy allows or blocks answer at once as
before (the server decides). ``tasks/get`` returns the task with the final ``result`` inlined once it
is done; ``tasks/cancel`` acknowledges with an empty result (withdrawing the call if it is still held);
``tasks/update`` is acknowledged (held calls ask the agent nothing). ``tasks/result`` and ``tasks/list``
do not exist there (-32601). Undeclared requests get -32021 on ``tasks/*``.

**2025-11-25, experimental ``capabilities.tasks``.** Advertised in the ``initialize`` result, with
``execution.taskSupport: "optional"`` on the tools that act (the ones that can be held). A
``tools/call`` carrying ``params.task`` answers ``{"task": {...}}`` for every stored call of such a tool
(held: ``working``; already run, blocked: terminal). ``tasks/get`` gives the task, ``tasks/result``
blocks until it is done and returns the call's outcome (the same shapes as ``await_decision``, with
``_meta["io.modelcontextprotocol/related-task"]``), ``tasks/list`` the agent's own held calls,
``tasks/cancel`` withdraws a held call (refused once a person approved it). Tool errors (rejected,
expired, blocked, failed) are ``failed`` tasks whose ``tasks/result`` carries the error result.

Both: the withdrawal is audited as ``cancelled`` by the agent; another agent's task does not exist;
the time-to-live runs to the hold's expiry; ``pollInterval`` is 2 s.

Status notifications: on 2025-11-25 the session that created a task gets ``notifications/tasks/status``
when its call changes: changes this process commits, and on PostgreSQL those other instances commit,
which the change feed relays (server/store/notify_pg.py); otherwise clients see them by polling
``tasks/get``. On 2026-07-28 they would travel on ``subscriptions/listen``; none are sent (they are
optional): clients poll.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any, Literal, cast

import anyio.to_thread
import mcp_types as types
from mcp.server import Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ConfigDict, Field

from server.gateway import Gateway
from server.lifecycle import decisions
from server.lifecycle.errors import Conflict
from server.lifecycle.states import WAITING, CallStatus
from server.mcp.identity import ResolveAgent
from server.store.models import ToolCall

logger = logging.getLogger(__name__)

EXTENSION = "io.modelcontextprotocol/tasks"
CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities"
RELATED_TASK_META = "io.modelcontextprotocol/related-task"
# Internal: the handler marks a result that may become a task; the middleware turns it into one.
_MARK = "countersign/task"
POLL_INTERVAL_MS = 2000
# How long one wait inside tasks/result lasts before looking again (it blocks until the call is done).
_RESULT_WAIT_SECONDS = 30.0
_LIST_PAGE = 50
# The statuses of calls that went through a hold: what tasks/list shows.
_HELD_PATH = [s.value for s in CallStatus if s not in (CallStatus.ALLOWED, CallStatus.BLOCKED)]

Era = Literal["legacy", "modern"]
# Set by the middleware for the tools/call it wraps: which kind of task the client asked for, if any.
_wanted: ContextVar[Era | None] = ContextVar("countersign_task_wanted", default=None)

# The outcome of a stored call as the agent would get it (server.py's GuardedTools._result).
Outcome = Callable[[ToolCall], Awaitable[types.CallToolResult]]


class TaskIdParams(types.RequestParams):
    model_config = ConfigDict(populate_by_name=True, extra="allow")

    task_id: str = Field(alias="taskId")


class ListParams(types.RequestParams):
    model_config = ConfigDict(extra="allow")

    cursor: str | None = None


def wanted() -> bool:
    """Whether the tools/call being handled asked for a task (then a held call does not wait inline)."""
    return _wanted.get() is not None


def offer(result: types.CallToolResult, call: ToolCall | Mapping[str, Any]) -> types.CallToolResult:
    """Mark ``result`` (the answer for stored ``call``) as one the middleware may turn into a task."""
    if _wanted.get() is None:
        return result
    get = call.get if isinstance(call, Mapping) else lambda name: getattr(call, name)
    mark = {
        "call_id": get("id"),
        "status": str(get("status")),
        "created_at": _iso(get("created_at")),
        "updated_at": _iso(get("updated_at")),
        "ttl_ms": _ttl_ms(get("created_at"), get("expires_at")),
    }
    return result.model_copy(update={"meta": {**(result.meta or {}), _MARK: mark}})


class Tasks:
    """The middleware and the ``tasks/*`` handlers, bound to one gateway."""

    def __init__(self, gateway: Gateway, *, resolve_agent: ResolveAgent, outcome: Outcome) -> None:
        self.gateway = gateway
        self.resolve_agent = resolve_agent
        self.outcome = outcome
        # 2025-11-25 sessions to tell about their tasks' status changes: call id -> (session, its loop).
        self._watchers: dict[str, list[tuple[Any, asyncio.AbstractEventLoop]]] = {}
        self._lock = threading.Lock()

    def install(self, server: Server[Any]) -> None:
        server.extensions[EXTENSION] = {}
        server.middleware.append(self.middleware)
        server.add_request_handler("tasks/get", TaskIdParams, self.get)
        server.add_request_handler("tasks/result", TaskIdParams, self.result)
        server.add_request_handler("tasks/list", ListParams, self.list)
        server.add_request_handler("tasks/cancel", TaskIdParams, self.cancel)
        server.add_request_handler("tasks/update", TaskIdParams, self.update)
        self.gateway.bus.add_listener(self._changed)

    # --- the tools/call side ----------------------------------------------------------------------

    async def middleware(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "initialize":
            return _with_legacy_capability(await call_next(ctx))
        if ctx.method == "tools/list":
            return self._mark_task_tools(await call_next(ctx))
        if ctx.method != "tools/call":
            return await call_next(ctx)
        era = _era_of(ctx)
        if era is None:
            return await call_next(ctx)
        token = _wanted.set(era)
        try:
            result = await call_next(ctx)
        finally:
            _wanted.reset(token)
        answer = _as_task(result, era)
        if era == "legacy" and isinstance(answer, dict) and isinstance(answer.get("task"), dict):
            task = answer["task"]
            if task["status"] == "working":
                self._watch(task["taskId"], ctx.session)
        return answer

    # --- status notifications (2025-11-25) --------------------------------------------------------

    def _watch(self, call_id: str, session: Any) -> None:
        with self._lock:
            self._watchers.setdefault(call_id, []).append((session, asyncio.get_running_loop()))

    def _changed(self, call_id: str, status: str) -> None:
        """Bus listener (any thread): tell the sessions watching this call."""
        with self._lock:
            watchers = list(self._watchers.get(call_id, ()))
            if watchers and CallStatus(status).is_terminal:
                del self._watchers[call_id]
        for session, loop in watchers:
            if not loop.is_closed():
                asyncio.run_coroutine_threadsafe(self._notify(session, call_id), loop)

    async def _notify(self, session: Any, call_id: str) -> None:
        call = await anyio.to_thread.run_sync(self.gateway.get_call, call_id)
        if call is None:
            return
        params = types.TaskStatusNotificationParams.model_validate(_task(call, "legacy"))
        notification = types.TaskStatusNotification(method="notifications/tasks/status", params=params)
        try:
            await session.send_notification(cast(Any, notification))
        except Exception:  # a session that went away: the task is still there for tasks/get
            logger.debug("task status for %s could not be delivered", call_id, exc_info=True)

    def _mark_task_tools(self, result: HandlerResult) -> HandlerResult:
        """2025-11-25 clients ask for a task only for tools listed with ``execution.taskSupport``."""
        if not isinstance(result, dict) or not isinstance(result.get("tools"), list):
            return result
        for tool in result["tools"]:
            if isinstance(tool, dict) and isinstance(tool.get("name"), str) and self.gateway.agents.acts(tool["name"]):
                tool["execution"] = {**(tool.get("execution") or {}), "taskSupport": "optional"}
        return result

    # --- tasks/* -------------------------------------------------------------------------------

    async def get(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        era = self._require(ctx)
        call = await self._own(ctx, params.task_id)
        task = _task(call, era)
        if era == "modern" and task["status"] != "working":
            task["result"] = (await self.outcome(call)).model_dump(by_alias=True, exclude_none=True, mode="json")
        return task

    async def result(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        self._legacy_only(ctx)
        call = await self._own(ctx, params.task_id)
        while CallStatus(call.status) in WAITING:  # blocks until done; the client cancels if it stops waiting
            call = await self.gateway.wait(call.id, timeout=_RESULT_WAIT_SECONDS) or call
        outcome = await self.outcome(call)
        meta = {**(outcome.meta or {}), RELATED_TASK_META: {"taskId": call.id}}
        return outcome.model_copy(update={"meta": meta}).model_dump(by_alias=True, exclude_none=True, mode="json")

    async def list(self, ctx: ServerRequestContext[Any, Any], params: ListParams) -> dict[str, Any]:
        self._legacy_only(ctx)
        agent = self._agent(ctx)
        offset = _offset(params.cursor)
        calls = await anyio.to_thread.run_sync(
            lambda: self.gateway.list_calls(statuses=_HELD_PATH, agent=agent, limit=offset + _LIST_PAGE + 1)
        )
        page = calls[offset : offset + _LIST_PAGE]
        listed: dict[str, Any] = {"tasks": [_task(call, "legacy", listing=True) for call in page]}
        if len(calls) > offset + _LIST_PAGE:
            listed["nextCursor"] = base64.urlsafe_b64encode(str(offset + _LIST_PAGE).encode()).decode()
        return listed

    async def cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        era = self._require(ctx)
        agent = self._agent(ctx)
        try:
            call = await self._own(ctx, params.task_id)
            call = await anyio.to_thread.run_sync(self._withdraw, call, agent)
        except MCPError:
            if era == "modern":  # SEP-2663: acknowledged even when the task id names no task
                return {}
            raise
        except Conflict as exc:
            if era == "modern":  # acknowledged; the task's status shows the withdrawal did not happen
                return {}
            raise MCPError(
                code=types.INVALID_PARAMS,
                message=f"Cannot cancel task {params.task_id}: {_why_not(exc)}",
            ) from exc
        return {} if era == "modern" else _task(call, "legacy")

    async def update(self, ctx: ServerRequestContext[Any, Any], params: TaskIdParams) -> dict[str, Any]:
        if self._require(ctx) == "legacy":
            raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found", data="tasks/update")
        return {}  # held calls never ask the agent for input; nothing is outstanding

    def _withdraw(self, call: ToolCall, agent: str) -> ToolCall:
        if call.status != CallStatus.HELD:
            raise Conflict(f"call {call.id} is already {call.status}")
        withdrawn = decisions.cancel(
            self.gateway.store,
            call.id,
            actor=agent,
            actor_kind="agent",
            reason="withdrawn by the agent (tasks/cancel)",
        )
        self.gateway.bus.publish(call.id, CallStatus.CANCELLED)
        return withdrawn

    # --- who may see what -----------------------------------------------------------------------

    def _agent(self, ctx: ServerRequestContext[Any, Any]) -> str:
        agent = self.resolve_agent(ctx)
        if agent is None:
            raise MCPError(code=types.INVALID_REQUEST, message="This request carries no agent credentials.")
        return agent

    async def _own(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> ToolCall:
        """The agent's own call; another agent's call answers exactly like no call at all."""
        agent = self._agent(ctx)
        call = await anyio.to_thread.run_sync(self.gateway.get_call, task_id[:100])
        if call is None or call.agent != agent:
            raise MCPError(code=types.INVALID_PARAMS, message=f"No task {task_id[:100]!r} among this agent's tasks.")
        return call

    def _require(self, ctx: ServerRequestContext[Any, Any]) -> Era:
        """The era of a tasks/* request; a 2026 request that did not declare the extension is refused."""
        if ctx.protocol_version not in MODERN_PROTOCOL_VERSIONS:
            return "legacy"
        if not _declares_extension(ctx):
            raise MCPError(
                code=types.MISSING_REQUIRED_CLIENT_CAPABILITY,
                message=f"tasks/* needs the {EXTENSION} extension in the request's client capabilities",
                data={"requiredCapabilities": {"extensions": {EXTENSION: {}}}},
            )
        return "modern"

    def _legacy_only(self, ctx: ServerRequestContext[Any, Any]) -> None:
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:  # removed by SEP-2663: the result is on tasks/get
            raise MCPError(code=types.METHOD_NOT_FOUND, message="Method not found", data=ctx.method)


# --- shapes ---------------------------------------------------------------------------------------


def _era_of(ctx: ServerRequestContext[Any, Any]) -> Era | None:
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return "modern" if _declares_extension(ctx) else None
    params = ctx.params
    wants = isinstance(params, Mapping) and isinstance(params.get("task"), Mapping)
    return "legacy" if wants else None


def _declares_extension(ctx: ServerRequestContext[Any, Any]) -> bool:
    meta = ctx.meta if isinstance(ctx.meta, Mapping) else {}
    declared = meta.get(CLIENT_CAPABILITIES_META)
    if isinstance(declared, Mapping):
        extensions = declared.get("extensions")
        return isinstance(extensions, Mapping) and EXTENSION in extensions
    capabilities = ctx.session.client_capabilities
    extensions = getattr(capabilities, "extensions", None) if capabilities is not None else None
    return isinstance(extensions, Mapping) and EXTENSION in extensions


def _with_legacy_capability(result: HandlerResult) -> HandlerResult:
    if isinstance(result, dict) and isinstance(result.get("capabilities"), dict):
        result["capabilities"]["tasks"] = {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}
    return result


def _as_task(result: HandlerResult, era: Era) -> HandlerResult:
    """The wire result of a tools/call, turned into a task when the handler offered one."""
    if not isinstance(result, dict) or not isinstance(result.get("_meta"), dict) or _MARK not in result["_meta"]:
        return result
    meta = dict(result["_meta"])
    mark = meta.pop(_MARK)
    result["_meta"] = meta
    waiting = CallStatus(mark["status"]) in WAITING
    if era == "modern":
        if not waiting:  # the server decides: a call with its outcome already answers at once
            return result
        fields = _fields(mark["call_id"], "working", mark, era)
        stamp = {k: v for k, v in meta.items() if k.startswith("io.modelcontextprotocol/")}
        return {"resultType": "task", **fields, **({"_meta": stamp} if stamp else {})}
    status = "working" if waiting else ("failed" if result.get("isError") else "completed")
    return {"task": _fields(mark["call_id"], status, mark, era)}


def _task(call: ToolCall, era: Era, *, listing: bool = False) -> dict[str, Any]:
    """The task of ``call``; a listing's rows lack the bulky columns (error, result), so it says less."""
    mark = {
        "created_at": _iso(call.created_at),
        "updated_at": _iso(call.updated_at),
        "ttl_ms": _ttl_ms(call.created_at, call.expires_at),
    }
    return _fields(call.id, _status(call, era), mark, era, message=_message(call, listing=listing))


def _fields(
    task_id: str, status: str, mark: Mapping[str, Any], era: Era, *, message: str | None = None
) -> dict[str, Any]:
    ttl_key, poll_key = ("ttlMs", "pollIntervalMs") if era == "modern" else ("ttl", "pollInterval")
    fields: dict[str, Any] = {
        "taskId": task_id,
        "status": status,
        "createdAt": mark["created_at"],
        "lastUpdatedAt": mark["updated_at"] or mark["created_at"],
        ttl_key: mark["ttl_ms"],
        poll_key: POLL_INTERVAL_MS,
    }
    if message is not None:
        fields["statusMessage"] = message
    return fields


def _status(call: ToolCall, era: Era) -> str:
    status = CallStatus(call.status)
    if status in WAITING:
        return "working"
    if status == CallStatus.CANCELLED:
        return "cancelled"
    if era == "legacy" and (call.is_error or status not in (CallStatus.SUCCEEDED, CallStatus.ALLOWED)):
        return "failed"
    return "completed"


def _message(call: ToolCall, *, listing: bool = False) -> str:
    status = CallStatus(call.status)
    if status == CallStatus.HELD:
        return f"waiting for a person's approval in the {call.queue!r} queue"
    if status in WAITING:
        return "approved; running"
    if not listing and call.error:
        return f"{status.value}: {call.error}"[:500]
    return status.value


def _why_not(exc: Conflict) -> str:
    return f"{exc.message}; a call a person approved can no longer be withdrawn"


def _ttl_ms(created: Any, expires: Any) -> int | None:
    if not isinstance(created, datetime) or not isinstance(expires, datetime):
        return None
    return max(0, int((expires - created).total_seconds() * 1000))


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else None


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MCPError(code=types.INVALID_PARAMS, message="Invalid cursor") from exc


__all__ = ["EXTENSION", "Tasks", "offer", "wanted"]
