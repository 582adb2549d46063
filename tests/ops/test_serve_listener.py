"""The socket `countersign serve` binds itself (before it opens the database) behaves as uvicorn's own would."""

from __future__ import annotations

import asyncio
import socket

from server.cli.serve import _listen


async def test_connections_accepted_by_serve_have_nagle_off() -> None:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(Probe, sock=_listen("127.0.0.1", 0))
    try:
        port = server.sockets[0].getsockname()[1]
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(10):
            nodelay = await accepted
        writer.close()
    finally:
        server.close()
    assert nodelay != 0  # with Nagle on, every answer waits out the client's delayed ACK
