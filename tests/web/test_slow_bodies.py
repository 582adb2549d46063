"""A body that never arrives (Content-Length larger than what is sent) gets 408 and a closed connection.

Against a real uvicorn server over raw sockets: the attack holds connections open by promising bytes.
"""

from __future__ import annotations

import socket
from pathlib import Path

from server.runtime import Runtime
from tests.mcp.support import make_runtime, make_settings, serving
from web.app import create_app

CONNECTIONS = 20


def _promise_more_than_sent(port: int, path: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        'Content-Length: 1000\r\n\r\n{"reason": '.encode()
    )
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket timeout bounds each read)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_connections_promising_a_longer_body_are_answered_408_and_closed(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'countersign.db'}", body_timeout_seconds=1.0)
    runtime: Runtime = make_runtime(settings)
    try:
        with serving(create_app(settings, runtime)) as url:
            port = int(url.rsplit(":", 1)[1])
            paths = ["/api/calls/x/approve", "/mcp", "/signin"]
            sockets = [_promise_more_than_sent(port, paths[i % len(paths)]) for i in range(CONNECTIONS)]
            answers = []
            for sock in sockets:
                with sock:
                    answers.append(_read_until_closed(sock))  # raises socket.timeout if held open
    finally:
        runtime.close()
    assert len(answers) == CONNECTIONS
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"did not arrive within 1 seconds" in answer
