"""The MCP server: the low-level SDK ``Server`` with tools listed from the registry at runtime.

A ``tools/call`` of a business tool goes: check the arguments (invalid ones are recorded and
refused) -> ``Gateway.submit`` (classify; allowed calls run at once) -> if held, wait inline for a
decision while sending progress -> map the call to a result (``outcomes.py``). ``await_decision``
and ``list_my_pending_calls`` read the agent's own calls. The gateway's methods block, so they run
in worker threads; the event loop only waits.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from contextlib import nullcontext
from contextvars import ContextVar
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server import NotificationOptions, Server, ServerRequestContext
from mcp.server.context import CallNext, HandlerResult

from server.agent_profiles import AgentProfiles
from server.canonical import canonical_json
from server.config import Settings
from server.gateway import Gateway
from server.lifecycle import duplicates
from server.lifecycle.decisions import decisions_for
from server.lifecycle.errors import AfterCommit
from server.lifecycle.records import NewCall
from server.lifecycle.states import WAITING, CallStatus
from server.mcp import outcomes, tasks
from server.mcp.admission import Admission, default_slots
from server.mcp.arguments import (
    ArgumentError,
    ParsedCall,
    Validators,
    as_object,
    check_schema,
    parse_call,
    parse_upstream_call,
    split_justification,
)
from server.mcp.catalog import (
    AWAIT_DECISION,
    LIST_MY_PENDING,
    MAX_WAIT_SECONDS,
    Catalog,
    build_catalog,
    declares_headers,
    upstream_tool,
)
from server.mcp.identity import INLINE_WAIT_META, AgentIdentity, ResolveAgent, identify, request_meta
from server.mcp.list_changed import ListChangedNotifier
from server.mcp.tasks import Tasks
from server.observability import tracing
from server.store.db import StoreUnavailable
from server.store.models import ToolCall
from server.upstream.tools import FORWARD_LOG, FORWARD_PROGRESS

logger = logging.getLogger(__name__)

SERVER_NAME = "countersign"
INSTRUCTIONS = (
    "Countersign guards these business tools. Reading and preparing run at once. Calls that move money, "
    "message customers or change records may wait for a person's approval: the call then answers "
    "status pending_approval with a call_id; call await_decision with it (repeatedly if needed) to get the "
    "real result. Never repeat a held or refused call. Pass `justification` (reason, evidence, confidence) "
    "with risky calls: reviewers approve well-evidenced calls faster."
)
# Not "nothing was done": a commit whose answer was lost cannot be told from one that never happened. The
# call was not run either way, and a retry is safe: an identical call attaches to the one it may have
# stored (lifecycle/duplicates.py).
UNAVAILABLE = (
    "The gateway's database is unavailable. This call was not run; it may or may not have been recorded. "
    "Calling again with the same arguments in a minute is safe: if it was recorded, the retry attaches to "
    "that call instead of making a second one."
)
UNREADABLE = (
    "The gateway's database is unavailable, so the call could not be read now; whatever is stored stays stored. "
    "Call await_decision again in a minute; do not repeat the original call."
)
INTERNAL = "The gateway hit an internal error (it is logged). Check list_my_pending_calls before retrying."


_UNSET = object()
# `arguments` that were not a JSON object, set by NonObjectArguments for the handler of the same request.
_raw_arguments: ContextVar[object] = ContextVar("countersign_raw_arguments", default=_UNSET)


class NonObjectArguments:
    """Lets a tools/call whose ``arguments`` is a string, list or number reach our handler.

    The SDK validates params before any handler and answers a bare "Invalid request parameters";
    an agent learns more from a tool error naming the problem, and the attempt is recorded.
    """

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        params = ctx.params
        arguments = params.get("arguments") if ctx.method == "tools/call" and isinstance(params, Mapping) else None
        if params is None or arguments is None or isinstance(arguments, dict):
            return await call_next(ctx)
        token = _raw_arguments.set(arguments)
        try:
            return await call_next(replace(ctx, params={**params, "arguments": {}}))
        finally:
            _raw_arguments.reset(token)


@dataclass(frozen=True)
class WaitOptions:
    """How long a tools/call waits for a decision, and how often it reports progress meanwhile."""

    inline_wait: float
    progress_interval: float

    @classmethod
    def from_settings(cls, settings: Settings) -> WaitOptions:
        return cls(settings.inline_wait_seconds, settings.progress_interval_seconds)

    def clamp(self, requested: object) -> float:
        """A wait asked for by the agent, within 0..MAX_WAIT_SECONDS; anything else means the default."""
        if isinstance(requested, bool) or not isinstance(requested, int | float) or not math.isfinite(requested):
            return min(self.inline_wait, MAX_WAIT_SECONDS)
        return max(0.0, min(float(requested), MAX_WAIT_SECONDS))


class GuardedTools:
    """The handlers of the MCP server, bound to one gateway."""

    def __init__(
        self,
        gateway: Gateway,
        *,
        base_url: str,
        waits: WaitOptions,
        resolve_agent: ResolveAgent,
        admission: Admission,
    ) -> None:
        self.gateway = gateway
        self.admission = admission
        self.base_url = base_url
        self.waits = waits
        self.resolve_agent = resolve_agent
        self.profiles = AgentProfiles(gateway.store)
        self.catalog: Catalog = build_catalog(gateway.registry)
        self.validators = Validators(self.catalog.schemas)
        # Upstream tools come and go: connections that listed tools are told when the list changes.
        self.list_changed = ListChangedNotifier()
        if gateway.external is not None:
            gateway.external.on_change(self.list_changed.notify)

    # --- handlers -------------------------------------------------------------------------------

    async def list_tools(
        self, ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        if self.gateway.external is not None:
            self.list_changed.remember(ctx)
        return types.ListToolsResult(tools=[*self.catalog.tools, *self._upstream_tools()])

    def _upstream_tools(self) -> list[types.Tool]:
        external = self.gateway.external
        return [upstream_tool(name, tool) for name, tool in external.definitions()] if external is not None else []

    def _parse_upstream(self, name: str, arguments: object) -> ParsedCall:
        """An upstream MCP server's tool: checked against its own schema. Raises ArgumentError."""
        external = self.gateway.external
        assert external is not None
        schema = next((tool.input_schema for listed, tool in external.definitions() if listed == name), None)
        parsed = parse_upstream_call(schema or {}, arguments, lambda args: external.check(name, args))
        try:
            canonical_json(parsed.arguments)
        except ValueError as exc:
            raise ArgumentError("arguments: numbers must be finite") from exc
        return parsed

    def header_schema(self, name: str) -> dict[str, Any] | None:
        """The schema the SDK checks a call's ``Mcp-Param-*`` headers against: the one clients saw in
        tools/list, or None when it declares no header (then there is nothing to check)."""
        if name in self.catalog.listed:
            return self.catalog.header_schema(name)
        external = self.gateway.external
        if external is None or not external.owns(name):
            return None
        tool = next((tool for listed, tool in external.definitions() if listed == name), None)
        if tool is None or not declares_headers(tool.input_schema):
            return None
        return upstream_tool(name, tool).input_schema

    async def call_tool(
        self, ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        raw = _raw_arguments.get()
        arguments = raw if raw is not _UNSET else params.arguments
        identity = identify(ctx, self.resolve_agent)
        if identity is None:  # the HTTP layer refuses unauthenticated requests; this is a second lock
            return outcomes.gateway_error("This request carries no agent credentials; nothing was done.")
        try:
            if params.name == AWAIT_DECISION:
                return await self._await_decision(ctx, identity, arguments)
            if params.name == LIST_MY_PENDING:
                return await self._list_pending(identity, arguments)
            return await tracing.traced_call(
                params.name, request_meta(ctx), self._guarded_call(ctx, identity, params.name, arguments)
            )
        except AfterCommit as exc:  # stored before the database failed: say so, with the call id
            logger.warning("database failed after call %s was stored (%s)", exc.call_id, exc.committed, exc_info=True)
            return outcomes.stored_but_unanswered(exc.call_id, exc.committed)
        except StoreUnavailable:
            logger.warning("database unavailable during %s", params.name, exc_info=True)
            return outcomes.gateway_error(UNAVAILABLE)
        except Exception:  # top-level handler: a tool error result, never a stack trace on the wire
            logger.exception("tools/call %s by %s failed", params.name, identity.agent)
            return outcomes.gateway_error(INTERNAL)

    async def set_logging_level(
        self, ctx: ServerRequestContext[Any, Any], params: types.SetLevelRequestParams
    ) -> types.EmptyResult:
        # Accepted for older clients; the only log messages sent are an upstream's, passed on as they came.
        logger.debug("client asked for log level %s", params.level)
        return types.EmptyResult()

    # --- business tools -------------------------------------------------------------------------

    async def _guarded_call(
        self, ctx: ServerRequestContext[Any, Any], identity: AgentIdentity, name: str, arguments: object
    ) -> types.CallToolResult:
        spec = self.gateway.registry.get(name)
        external = self.gateway.external if spec is None else None
        if spec is None and (external is None or not external.owns(name)):
            error = f"Unknown tool {name!r}; call tools/list to see the tools you can use."
            await self._record(self.gateway.record_unknown, identity, name, arguments, error)
            return outcomes.gateway_error(error)
        try:
            parsed = (
                _parse(spec, arguments, self.validators) if spec is not None else self._parse_upstream(name, arguments)
            )
        except ArgumentError as exc:
            call_id = await self._record_invalid(identity, name, arguments, exc.message)
            return outcomes.invalid_arguments(exc.message, field=exc.field, call_id=call_id)
        try:
            agent_key = duplicates.agent_key(request_meta(ctx))
        except ValueError as exc:
            return outcomes.gateway_error(f"{exc}; nothing was done.")
        new = NewCall(
            tool=name,
            arguments=parsed.arguments,
            agent=identity.agent,
            on_behalf_of=identity.on_behalf_of,
            justification=parsed.justification,
            agent_key=agent_key,
        )
        token = FORWARD_PROGRESS.set(_forwarder(ctx)) if external is not None else None
        log_token = FORWARD_LOG.set(_log_forwarder(ctx)) if external is not None else None
        try:
            # Upstream calls wait on the network, not on the GIL: they need no turn.
            async with self.admission.slot() if external is None else nullcontext():
                submission = await anyio.to_thread.run_sync(self.gateway.submit, new)
        except (duplicates.KeyReused, duplicates.KeyInFlight) as exc:
            return outcomes.gateway_error(f"{exc}. Nothing new was done.")
        finally:
            if token is not None:
                FORWARD_PROGRESS.reset(token)
            if log_token is not None:
                FORWARD_LOG.reset(log_token)
        if submission.ran is not None:  # allowed: answered from the fresh row, no database read
            return tasks.offer(outcomes.ran_now(submission.ran), submission.ran)
        call = submission.call
        try:
            if CallStatus(call.status) in WAITING and not tasks.wanted():  # a task answers at once instead
                wait = await self._inline_wait(ctx, identity)
                with tracing.step("hold", call.id):
                    call = await self._wait(ctx, call, wait)
            return tasks.offer(await self._result(call), call)
        except StoreUnavailable as exc:  # the call is committed: the agent must not make it again
            raise AfterCommit(str(exc), call_id=call.id, committed=call.status) from exc

    async def _inline_wait(self, ctx: ServerRequestContext[Any, Any], identity: AgentIdentity) -> float:
        """The call's `_meta` wait, else the agent's default (server/agent_profiles.py), else the server's."""
        requested = request_meta(ctx).get(INLINE_WAIT_META)
        if requested is None:
            requested = await anyio.to_thread.run_sync(self.profiles.inline_wait, identity.agent)
        return self.waits.clamp(requested)

    async def _record_invalid(self, identity: AgentIdentity, name: str, arguments: object, error: str) -> str | None:
        return await self._record(self.gateway.record_invalid, identity, name, arguments, error)

    async def _record(
        self,
        record: Callable[[NewCall, str], ToolCall],
        identity: AgentIdentity,
        name: str,
        arguments: object,
        error: str,
    ) -> str | None:
        """Record a refused call (never run); the refusal stands even when it cannot be recorded."""
        new = NewCall(
            tool=name[:200],
            arguments=split_justification(arguments),
            agent=identity.agent,
            on_behalf_of=identity.on_behalf_of,
        )
        try:
            row = await anyio.to_thread.run_sync(record, new, error)
        except (ValueError, StoreUnavailable):  # unrecordable arguments (NaN...) or no database: still refuse
            logger.warning("could not record the refused call of %s", name, exc_info=True)
            return None
        return row.id

    # --- gateway tools --------------------------------------------------------------------------

    async def _await_decision(
        self, ctx: ServerRequestContext[Any, Any], identity: AgentIdentity, arguments: object
    ) -> types.CallToolResult:
        try:
            args = as_object(arguments)
            check_schema(self.validators.get(AWAIT_DECISION), args)
        except ArgumentError as exc:
            return outcomes.invalid_arguments(exc.message, field=exc.field, call_id=None)
        call_id: str = args["call_id"]
        try:
            call = await anyio.to_thread.run_sync(self.gateway.get_call, call_id)
        except StoreUnavailable:
            logger.warning("database unavailable while reading call %s", call_id, exc_info=True)
            return outcomes.gateway_error(UNREADABLE)
        if call is None or call.agent != identity.agent:
            # The same answer for "no such call" and "another agent's call": existence is not disclosed.
            return outcomes.gateway_error(f"No call {call_id!r} among this agent's calls.")
        try:
            if CallStatus(call.status) in WAITING:
                call = await self._wait(ctx, call, self.waits.clamp(args.get("wait_seconds")))
            return await self._result(call)
        except StoreUnavailable as exc:
            raise AfterCommit(str(exc), call_id=call.id, committed=call.status) from exc

    async def _list_pending(self, identity: AgentIdentity, arguments: object) -> types.CallToolResult:
        try:
            check_schema(self.validators.get(LIST_MY_PENDING), as_object(arguments))
        except ArgumentError as exc:
            return outcomes.invalid_arguments(exc.message, field=exc.field, call_id=None)
        calls = await anyio.to_thread.run_sync(
            lambda: self.gateway.list_calls(statuses=[s.value for s in WAITING], agent=identity.agent)
        )
        return outcomes.pending_list(calls, base_url=self.base_url)

    # --- waiting and answering ------------------------------------------------------------------

    async def _wait(self, ctx: ServerRequestContext[Any, Any], call: ToolCall, seconds: float) -> ToolCall:
        """Wait up to ``seconds`` for the call's outcome, reporting progress; the latest row either way."""
        if seconds <= 0:
            return call
        message = f"waiting for a person's approval (queue {call.queue}, call {call.id})"

        async def tick(elapsed: float) -> None:
            await _progress(ctx, min(elapsed, seconds), seconds, message)

        await tick(0.0)
        latest = await self.gateway.wait(
            call.id, timeout=seconds, on_tick=tick, tick_every=self.waits.progress_interval
        )
        return latest if latest is not None else call

    async def _result(self, call: ToolCall) -> types.CallToolResult:
        status = CallStatus(call.status)
        # Only decided calls have decisions worth reading; the allowed path stays at two writes, no extra read.
        decided = status in (CallStatus.SUCCEEDED, CallStatus.REJECTED)
        decisions = await anyio.to_thread.run_sync(decisions_for, self.gateway.store, call.id) if decided else []
        return outcomes.for_call(call, decisions, base_url=self.base_url)


def _parse(spec: Any, arguments: object, validators: Validators) -> ParsedCall:
    parsed = parse_call(spec, arguments, validators)
    try:
        canonical_json(parsed.arguments)  # what the store hashes must be plain JSON (no NaN or Infinity)
    except ValueError as exc:
        raise ArgumentError("arguments: numbers must be finite") from exc
    return parsed


async def _progress(ctx: ServerRequestContext[Any, Any], progress: float, total: float, message: str) -> None:
    try:
        await ctx.session.report_progress(progress, total, message)
    except (anyio.ClosedResourceError, anyio.BrokenResourceError):
        # The client went away; the call stays held and its outcome stays stored for await_decision.
        logger.debug("progress for a held call could not be delivered")


def _forwarder(ctx: ServerRequestContext[Any, Any]) -> Any:
    """Forward an upstream's progress (reported on the upstream hub's thread) to this request's client."""
    loop = asyncio.get_running_loop()

    def forward(progress: float, total: float | None, message: str | None) -> None:
        async def send() -> None:
            try:
                await ctx.session.report_progress(progress, total, message)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                logger.debug("upstream progress could not be delivered")

        asyncio.run_coroutine_threadsafe(send(), loop)

    return forward


def _log_forwarder(ctx: ServerRequestContext[Any, Any]) -> Any:
    """Forward an upstream's log messages during an allowed call to this request's client, as they came."""
    loop = asyncio.get_running_loop()

    # The undecorated method: `send_log_message` warns on every call (logging is deprecated in 2026-07-28).
    unwarned = type(ctx.session).send_log_message.__wrapped__  # type: ignore[attr-defined]
    send_log: Callable[..., Awaitable[None]] = functools.partial(unwarned, ctx.session)

    def forward(params: types.LoggingMessageNotificationParams) -> None:
        async def send() -> None:
            try:
                # Logging is deprecated in 2026-07-28 (the method warns) but still how upstreams talk;
                # the SDK keeps its per-request opt-in rules for 2026 clients either way.
                await send_log(params.level, params.data, logger=params.logger, related_request_id=ctx.request_id)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                logger.debug("upstream log message could not be delivered")

        asyncio.run_coroutine_threadsafe(send(), loop)

    return forward


def build_server(gateway: Gateway, settings: Settings, *, resolve_agent: ResolveAgent) -> Server[Any]:
    """The MCP server for one gateway. ``resolve_agent`` says who each request comes from."""
    tools = GuardedTools(
        gateway,
        base_url=settings.base_url,
        waits=WaitOptions.from_settings(settings),
        resolve_agent=resolve_agent,
        admission=Admission(settings.call_slots or default_slots(gateway.store.reads_never_wait)),
    )
    server: Server[Any] = Server(
        SERVER_NAME,
        version=_version(),
        title="Countersign",
        instructions=INSTRUCTIONS,
        on_list_tools=tools.list_tools,
        on_call_tool=tools.call_tool,
        get_tool_input_schema=tools.header_schema,
    )
    server.middleware.append(NonObjectArguments())
    if gateway.external is not None:
        _advertise_tools_changed(server)
        # 2026-07-28 clients hear of list changes only on a stream they open; serving it also declares
        # tools.listChanged to them.
        server.add_request_handler(
            "subscriptions/listen", types.SubscriptionsListenRequestParams, tools.list_changed.listen
        )
    Tasks(gateway, resolve_agent=resolve_agent, outcome=tools._result).install(server)  # MCP Tasks, both eras
    # Registered here rather than as on_set_logging_level=, which warns (logging is deprecated in 2026-07-28).
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, tools.set_logging_level)
    return server


def _advertise_tools_changed(server: Server[Any]) -> None:
    """Declare ``tools.listChanged`` in the handshake (stdio and HTTP alike): upstream tools come and go,
    and ListChangedNotifier tells clients. The SDK builds the handshake from
    ``create_initialization_options()`` without notification options, so the default is set here."""
    build = server.create_initialization_options

    def with_tools_changed(notification_options: NotificationOptions | None = None, *args: Any, **kwargs: Any) -> Any:
        return build(notification_options or NotificationOptions(tools_changed=True), *args, **kwargs)

    server.create_initialization_options = with_tools_changed  # type: ignore[method-assign]


def _version() -> str:
    try:
        return version("countersign")
    except PackageNotFoundError:
        return "0"
