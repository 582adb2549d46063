"""The upstream hub: every configured upstream's session, their listed tools, and calls to them.

The sessions live on an event loop of their own (a blocking portal thread), so the gateway's
synchronous code (worker threads, the executor, the CLI) calls upstreams the same way from
anywhere, and a session outlives any one request. One hub per process::

    hub = UpstreamHub(config, pins).start()    # connects in the background
    hub.wait_settled(10)                       # optional: until each upstream is up or has failed once
    hub.call("files__write_file", {...})       # -> CallToolResult, or UpstreamUnavailable / UpstreamRefused
    hub.close()
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import wait
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.abc
import anyio.from_thread
import anyio.to_thread
import mcp_types as types
from mcp.shared.exceptions import MCPError

from server.schema_check import SchemaCheck
from server.upstream.config import UpstreamsConfig
from server.upstream.connection import ProgressFn, UpstreamConnection, UpstreamUnavailable
from server.upstream.names import listed_name
from server.upstream.pins import Pins, definition_hash

logger = logging.getLogger(__name__)

# On close, how long an upstream's connection attempt under way may go on before it is cancelled.
STOP_GRACE_SECONDS = 0.5

# Called (from the hub's thread) with progress, total and message; must not block.
ForwardProgress = Callable[[float, float | None, str | None], None]
# Called (from the hub's thread) with each log message the upstream sends during the call; must not block.
ForwardLog = Callable[[types.LoggingMessageNotificationParams], None]


class UpstreamRefused(Exception):
    """The upstream answered the call with a protocol error (unknown tool, invalid params): nothing ran."""


@dataclass(frozen=True)
class UpstreamTool:
    """One tool as an upstream lists it now, under the name agents and the policy use."""

    listed: str
    upstream: str
    name: str
    tool: types.Tool
    definition: dict[str, Any]
    hash: str
    validator: SchemaCheck = field(compare=False)

    @classmethod
    def of(cls, upstream: str, tool: types.Tool) -> UpstreamTool:
        dumped = tool.model_dump(mode="json", exclude_none=True)
        definition: dict[str, Any] = {
            key: dumped[key] for key in ("name", "description", "input_schema", "annotations") if key in dumped
        }
        schema = tool.input_schema if isinstance(tool.input_schema, dict) else {"type": "object"}
        return cls(
            listed=listed_name(upstream, tool.name),
            upstream=upstream,
            name=tool.name,
            tool=tool,
            definition=definition,
            hash=definition_hash(definition),
            validator=SchemaCheck(schema),
        )


class UpstreamHub:
    def __init__(self, config: UpstreamsConfig, pins: Pins | None) -> None:
        self.config = config
        self.pins = pins
        self._tools: dict[str, UpstreamTool] = {}
        self._lock = threading.Lock()
        self.connections = {
            name: UpstreamConnection(name, upstream, self._listed) for name, upstream in config.upstreams.items()
        }
        self._stack = ExitStack()
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._listeners: list[Callable[[], None]] = []

    def start(self) -> UpstreamHub:
        if self.connections and self._portal is None:
            self._portal = self._stack.enter_context(anyio.from_thread.start_blocking_portal())
            for connection in self.connections.values():
                self._stack.enter_context(_running(self._portal, connection))
        return self

    def close(self) -> None:
        if self._portal is not None:
            for connection in self.connections.values():  # all at once: their grace periods overlap
                self._portal.call(connection.stop)
        self._stack.close()
        self._portal = None

    def wait_settled(self, timeout: float) -> None:
        """Block until every upstream has connected or failed once (at most ``timeout`` seconds)."""
        if self._portal is None:
            return

        async def settle() -> None:
            async with anyio.create_task_group() as group:
                for connection in self.connections.values():
                    group.start_soon(connection.wait_settled, timeout)

        self._portal.call(settle)

    def wait_up(self, upstream: str, timeout: float) -> bool:
        """Block until ``upstream`` is connected (at most ``timeout`` seconds); whether it is."""
        if self._portal is None:
            return False
        return self._portal.call(self.connections[upstream].wait_up, timeout)

    def refresh(self) -> None:
        """Re-read every upstream's tool list now and re-check the pins (as tools/list_changed does)."""
        if self._portal is None:
            return

        async def relist() -> None:
            async with anyio.create_task_group() as group:
                for connection in self.connections.values():
                    group.start_soon(connection.relist)

        self._portal.call(relist)

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (from the hub's thread) whenever what an upstream lists changed (tools added,
        dropped or redefined; the first listing after connecting counts). It must not block."""
        self._listeners.append(listener)

    # --- tools -----------------------------------------------------------------------------------

    def tools(self) -> list[UpstreamTool]:
        with self._lock:
            return list(self._tools.values())

    def get(self, listed: str) -> UpstreamTool | None:
        return self._tools.get(listed)

    def status(self) -> dict[str, dict[str, Any]]:
        return {
            name: {
                "state": connection.state,
                "error": connection.last_error,
                "required": connection.config.required,
                "tools": sum(1 for tool in self.tools() if tool.upstream == name),
            }
            for name, connection in self.connections.items()
        }

    async def _listed(self, upstream: str, tools: list[types.Tool]) -> None:
        fresh = {t.listed: t for t in (UpstreamTool.of(upstream, tool) for tool in tools)}
        if self.pins is not None:
            pins = self.pins
            for tool in fresh.values():
                await anyio.to_thread.run_sync(pins.observe, upstream, tool.name, tool.listed, tool.definition)
        with self._lock:
            kept = {name: tool for name, tool in self._tools.items() if tool.upstream != upstream}
            before = {name: tool.hash for name, tool in self._tools.items() if tool.upstream == upstream}
            self._tools = {**kept, **fresh}
        if before != {name: tool.hash for name, tool in fresh.items()}:
            for listener in self._listeners:
                try:
                    listener()
                except Exception:  # a listener's failure must not stop the session that listed
                    logger.warning("a tool-list listener failed", exc_info=True)

    # --- calls -----------------------------------------------------------------------------------

    def call(
        self,
        listed: str,
        arguments: dict[str, Any],
        *,
        progress: ForwardProgress | None = None,
        meta: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        log: ForwardLog | None = None,
    ) -> types.CallToolResult:
        """Call an upstream tool from any thread.

        Raises:
            UpstreamUnavailable: down, dropped or too slow (``sent`` says whether the request went out).
            UpstreamRefused: the upstream answered with a protocol error.
        """
        tool = self.get(listed)
        if tool is None or self._portal is None:
            raise UpstreamUnavailable(f"upstream tool {listed!r} is not available now")
        connection = self.connections[tool.upstream]

        async def forward(value: float, total: float | None, message: str | None) -> None:
            if progress is not None:
                progress(value, total, message)

        callback: ProgressFn | None = forward if progress is not None else None

        async def forward_log(params: types.LoggingMessageNotificationParams) -> None:
            if log is not None:
                log(params)

        async def call() -> types.CallToolResult:
            try:
                return await connection.call(
                    tool.name,
                    arguments,
                    progress=callback,
                    meta=meta,
                    headers=headers,
                    log=forward_log if log is not None else None,
                )
            except MCPError as exc:
                raise UpstreamRefused(f"upstream {tool.upstream!r} refused {tool.name}: {exc.error.message}") from exc

        return self._portal.call(call)


class _running:
    """Runs one connection's supervisor on the portal; cancels it on exit."""

    def __init__(self, portal: anyio.from_thread.BlockingPortal, connection: UpstreamConnection) -> None:
        self.portal = portal
        self.connection = connection
        self.scope: anyio.CancelScope | None = None

    def __enter__(self) -> None:
        async def supervise(*, task_status: anyio.abc.TaskStatus[anyio.CancelScope]) -> None:
            with anyio.CancelScope() as scope:
                task_status.started(scope)
                await self.connection.run()

        self.future, self.scope = self.portal.start_task(supervise)

    def __exit__(self, *exc: object) -> None:
        # Cancel only an attempt that has run a moment: a cancellation landing while asyncio spawns a
        # stdio upstream kills the child but also cancels its reaping, and the portal's loop closes first.
        self.portal.call(self.connection.stop)  # the hub's close() stopped it already; a failed start() did not
        if not wait([self.future], timeout=STOP_GRACE_SECONDS).done and self.scope is not None:
            self.portal.call(self.scope.cancel)
        try:
            self.future.result(timeout=10)
        except BaseException:
            logger.debug("upstream %s supervisor stopped", self.connection.name)
