"""One persistent MCP session to one upstream server, kept alive by a supervisor task.

States: ``connecting`` (first attempt), ``up`` (session open, tools listed), ``down`` (the last
attempt failed or the session dropped; retried with exponential backoff up to MAX_BACKOFF).
A stdio child that exits is started again by the same loop. Every wait is bounded: connecting and
listing by ``connect_timeout``/``list_timeout``, each call by ``call_timeout``, liveness by a ping.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from contextvars import ContextVar
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.session import IncomingMessage
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from server.upstream.config import HttpUpstream, Upstream

logger = logging.getLogger(__name__)

MIN_BACKOFF = 0.2
MAX_BACKOFF = 10.0
PING_EVERY = 5.0

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]
ToolsListed = Callable[[str, list[types.Tool]], Awaitable[None]]
# Called with each notifications/message the upstream sends while a call of this task is in flight.
LogFn = Callable[[types.LoggingMessageNotificationParams], Awaitable[None]]

# Extra HTTP headers for the request being sent by this task (the idempotency key of an approved call).
_CALL_HEADERS: ContextVar[dict[str, str] | None] = ContextVar("countersign_upstream_call_headers", default=None)


class UpstreamUnavailable(Exception):
    """The upstream could not be reached or did not answer in time. Whether it acted is unknown
    only when ``sent`` is true (the request went out before the failure)."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class UpstreamConnection:
    def __init__(self, name: str, config: Upstream, on_tools: ToolsListed) -> None:
        self.name = name
        self.config = config
        self._on_tools = on_tools
        self.state = "connecting"
        self.last_error: str | None = None
        self._client: Client | None = None
        self._dropped = anyio.Event()
        self._relist = anyio.Event()
        self._changed = anyio.Event()  # set whenever the state changes, then replaced
        self._stopping = anyio.Event()  # set by stop(): no new attempt, a live session closes
        self._log_sinks: set[LogFn] = set()  # the allowed calls in flight that want the upstream's log messages

    # --- the supervisor --------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, list, watch; on any failure wait and start again. Runs until stopped or cancelled."""
        delay = MIN_BACKOFF
        while not self._stopping.is_set():
            try:
                await self._session()
                delay = MIN_BACKOFF  # the session was up: the next drop starts the backoff afresh
            except Exception as exc:  # supervisor loop: any failure means "down, retry later"
                error = _describe(exc, self.config)
            else:
                error = self.last_error or "the session ended"
            if self._stopping.is_set():
                return
            self._down(error)
            with anyio.move_on_after(delay):
                await self._stopping.wait()
            delay = min(delay * 2, MAX_BACKOFF)

    def stop(self) -> None:
        """End ``run`` at its next step: now when it waits to retry or watches a live session (which then
        closes as usual); an attempt under way goes on until it ends or its supervisor is cancelled."""
        self._stopping.set()

    async def _session(self) -> None:
        timeout = self.config.connect_timeout
        with anyio.CancelScope(deadline=anyio.current_time() + timeout) as scope:
            async with AsyncExitStack() as stack:
                client = await stack.enter_async_context(self._new_client(stack))
                _send_call_headers(client)
                tools = await _list_all(client)
                scope.deadline = math.inf
                self._dropped = anyio.Event()
                await self._on_tools(self.name, tools)  # pins checked before anyone may call
                self._client = client
                self._set("up", None)
                await self._watch(client)
        if scope.cancelled_caught:
            raise TimeoutError(f"no MCP handshake and tool list within {timeout:g} s")

    async def _watch(self, client: Client) -> None:
        """Until the session drops: re-list on tools/list_changed, ping now and then."""
        while not (self._dropped.is_set() or self._stopping.is_set()):
            with anyio.move_on_after(PING_EVERY):
                async with anyio.create_task_group() as group:

                    async def stop_on(event: anyio.Event) -> None:
                        await event.wait()
                        group.cancel_scope.cancel()

                    group.start_soon(stop_on, self._dropped)
                    group.start_soon(stop_on, self._relist)
                    group.start_soon(stop_on, self._stopping)
            if self._dropped.is_set() or self._stopping.is_set():
                return
            with anyio.fail_after(self.config.list_timeout):
                if self._relist.is_set():
                    self._relist = anyio.Event()
                    await self.relist()
                else:  # the session's ping: Client.send_ping warns (ping is gone in 2026-07-28; we speak legacy)
                    await client.session.send_ping()

    async def relist(self) -> None:
        """Read the tool list again now (and re-check pins); nothing when the upstream is down."""
        client = self._client
        if client is not None:
            with anyio.fail_after(self.config.list_timeout):
                await self._on_tools(self.name, await _list_all(client))

    def _new_client(self, stack: AsyncExitStack) -> Client:
        config = self.config
        options: dict[str, Any] = {"mode": "legacy", "cache": None, "message_handler": self._message}
        if isinstance(config, HttpUpstream):
            return Client(streamable_http_client(config.url, http_client=_http(config, stack)), **options)
        command, *args = config.command
        params = StdioServerParameters(command=command, args=args, env=dict(config.env) or None, cwd=config.cwd)
        return Client(params, **options)

    async def _message(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._relist.set()
        elif isinstance(message, types.LoggingMessageNotification):
            # MCP ties a log message to no request: it goes to every call in flight on this upstream.
            for sink in list(self._log_sinks):
                try:
                    await sink(message.params)
                except Exception:  # a sink whose agent went away must not break the session
                    logger.debug("an upstream log message could not be forwarded", exc_info=True)

    def _down(self, error: str) -> None:
        self._client = None
        if self.state != "down" or error != self.last_error:
            logger.warning("upstream %s is down: %s", self.name, error)
        self._set("down", error)

    def _set(self, state: str, error: str | None) -> None:
        self.state, self.last_error = state, error
        changed, self._changed = self._changed, anyio.Event()
        changed.set()

    async def wait_up(self, timeout: float) -> bool:
        """Wait until the session is up (at most ``timeout``); whether it is."""
        with anyio.move_on_after(timeout):
            while self.state != "up":
                await self._changed.wait()
        return self.state == "up"

    async def wait_settled(self, timeout: float) -> None:
        """Wait until the first connection attempt has ended (either way), at most ``timeout``."""
        with anyio.move_on_after(timeout):
            while self.state == "connecting":
                await self._changed.wait()

    # --- calls -----------------------------------------------------------------------------------

    async def call(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        progress: ProgressFn | None,
        meta: dict[str, Any] | None,
        headers: dict[str, str] | None = None,
        log: LogFn | None = None,
    ) -> types.CallToolResult:
        """Call ``tool``; raise UpstreamUnavailable when down, dropped or too slow (never hang).

        ``headers`` go with this request only (streamable HTTP); ``log`` receives the upstream's log
        messages while the call is in flight.
        """
        client = self._client
        if client is None:
            raise UpstreamUnavailable(f"upstream {self.name!r} is down: {self.last_error or 'not connected yet'}")
        timeout = self.config.call_timeout
        token = _CALL_HEADERS.set(headers)
        if log is not None:
            self._log_sinks.add(log)
        try:
            with anyio.fail_after(timeout):
                return await client.call_tool(tool, arguments, progress_callback=progress, meta=meta)  # type: ignore[arg-type]
        except TimeoutError as exc:
            raise UpstreamUnavailable(
                f"upstream {self.name!r} did not answer {tool} within {timeout:g} s", sent=True
            ) from exc
        except MCPError as exc:
            if exc.error.code == types.CONNECTION_CLOSED:
                self._dropped.set()
                raise UpstreamUnavailable(
                    f"upstream {self.name!r} closed the connection during {tool}", sent=True
                ) from exc
            raise
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, OSError) as exc:
            self._dropped.set()
            raise UpstreamUnavailable(
                f"upstream {self.name!r} connection lost during {tool}: {exc!r}", sent=True
            ) from exc
        finally:
            _CALL_HEADERS.reset(token)
            if log is not None:
                self._log_sinks.discard(log)


def _send_call_headers(client: Client) -> None:
    """Make the session add ``_CALL_HEADERS`` to the HTTP request of the call that set them.

    The SDK builds each request's per-message headers in the session's ``_stamp`` hook, synchronously
    in the calling task (so a context variable reaches it); its transport sends them with that POST.
    tests/upstream/test_idempotency_header.py fails if an SDK upgrade moves this hook.
    """
    session = client.session
    stamp = session._stamp  # set by the handshake, which has run by now

    def stamp_with_headers(data: dict[str, Any], opts: Any) -> None:
        stamp(data, opts)
        extra = _CALL_HEADERS.get()
        if extra:
            opts.setdefault("headers", {}).update(extra)

    session._stamp = stamp_with_headers


async def _list_all(client: Client) -> list[types.Tool]:
    tools: list[types.Tool] = []
    cursor: str | None = None
    while True:
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            return tools


def _http(config: HttpUpstream, stack: AsyncExitStack) -> httpx2.AsyncClient:
    client = httpx2.AsyncClient(headers=config.headers, timeout=httpx2.Timeout(config.call_timeout + 5))
    stack.push_async_callback(client.aclose)
    return client


def _describe(exc: BaseException, config: Upstream) -> str:
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        return _describe(exc.exceptions[0], config)
    if isinstance(exc, FileNotFoundError) and not isinstance(config, HttpUpstream):
        return f"command not found: {config.command[0]}"
    return str(exc) or type(exc).__name__
