"""Telling connected agents that the tool list changed (an upstream added, dropped or changed a tool).

The MCP surface remembers each client connection that listed tools, with the event loop serving it;
the upstream hub calls :meth:`ListChangedNotifier.notify` from its own thread after a listing that
changed what agents see. Connections are held weakly: a client that left is simply forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from typing import Any

from mcp.server import ServerRequestContext

logger = logging.getLogger(__name__)


class ListChangedNotifier:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: weakref.WeakKeyDictionary[Any, asyncio.AbstractEventLoop] = weakref.WeakKeyDictionary()

    def remember(self, ctx: ServerRequestContext[Any, Any]) -> None:
        """Note the connection of a request (called from tools/list), to tell it of later changes."""
        connection = getattr(ctx.session, "_connection", None)  # the SDK's per-connection object
        if connection is None or not hasattr(connection, "send_tool_list_changed"):
            return
        with self._lock:
            self._connections[connection] = asyncio.get_running_loop()

    def notify(self) -> None:
        """Send notifications/tools/list_changed to every remembered connection; never blocks, never raises."""
        with self._lock:
            targets = list(self._connections.items())
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
