"""Telling connected agents that the tool list changed (an upstream added, dropped or changed a tool).

Clients of the handshake era (up to 2025-11-25) get ``notifications/tools/list_changed`` on their
connection: the MCP surface remembers each connection that listed tools, with the event loop serving
it, held weakly (a client that left is simply forgotten). Clients of 2026-07-28 hear of changes only
on a ``subscriptions/listen`` stream they open: :meth:`ListChangedNotifier.listen` serves those with the
SDK's handler, one in-process bus per event loop. The upstream hub calls :meth:`ListChangedNotifier.notify`
from its own thread after a listing that changed what agents see; both kinds of client are told.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import weakref
from typing import Any

import mcp_types as types
from mcp.server import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged

logger = logging.getLogger(__name__)


class ListChangedNotifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: weakref.WeakKeyDictionary[Any, asyncio.AbstractEventLoop] = weakref.WeakKeyDictionary()
        # One bus per event loop serving listen streams: a bus delivers into its streams synchronously.
        self._buses: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[InMemorySubscriptionBus, ListenHandler]]
        self._buses = weakref.WeakKeyDictionary()

    def remember(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Note the connection of a request (called from tools/list), to tell it of later changes."""
        connection = getattr(ctx.session, "_connection", None)  # the SDK's per-connection object
        if connection is None or not hasattr(connection, "send_tool_list_changed"):
            return
        with self._lock:
            self._connections[connection] = asyncio.get_running_loop()

    async def listen(
        self, ctx: ServerRequestContext[Any, Any], params: types.SubscriptionsListenRequestParams
    ) -> types.SubscriptionsListenResult:
        """Serve a ``subscriptions/listen`` stream (2026-07-28 clients) until the client leaves."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if loop not in self._buses:
                bus = InMemorySubscriptionBus()
                self._buses[loop] = (bus, ListenHandler(bus))
            handler = self._buses[loop][1]
        return await handler(ctx, params)

    def notify(self) -> None:
        """Tell every remembered connection and every listen stream; never blocks, never raises."""
        with self._lock:
            targets = list(self._connections.items())
            buses = [(bus, loop) for loop, (bus, _) in self._buses.items()]
        for bus, loop in buses:
            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop stopped between the check and the call
                    asyncio.run_coroutine_threadsafe(bus.publish(ToolsListChanged()), loop)
        for connection, loop in targets:
            if loop.is_closed():
                continue

            async def send(connection: Any = connection) -> None:
                try:
                    await connection.send_tool_list_changed()
                except Exception:  # a client that went away, or one with no channel back: nothing to tell
                    logger.debug("tools/list_changed could not be delivered", exc_info=True)

            try:
                asyncio.run_coroutine_threadsafe(send(), loop)
            except RuntimeError:  # the loop stopped between the check and the call
                continue

    def __len__(self) -> int:
        with self._lock:
            return len(self._connections)
