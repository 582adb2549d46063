"""A deliberately dumb MCP-over-HTTP client: raw JSON-RPC bodies, so tests can send what SDKs never would."""

from __future__ import annotations

import json
from typing import Any

import httpx2

PROTOCOL = "2025-11-25"


class RawMcp:
    def __init__(self, url: str, token: str | None) -> None:
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = f"{url}/mcp"
        self.http = httpx2.Client(headers=headers, timeout=30.0)
        self.session_id: str | None = None
        self._next_id = 0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RawMcp:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def post(self, body: bytes | dict[str, Any], **headers: str) -> httpx2.Response:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        extra = {"mcp-session-id": self.session_id, "mcp-protocol-version": PROTOCOL} if self.session_id else {}
        return self.http.post(self.url, content=content, headers={**extra, **headers})

    def initialize(self) -> httpx2.Response:
        response = self.post(
            {
                "jsonrpc": "2.0",
                "id": self._id(),
                "method": "initialize",
                "params": {
                    "protocolVersion": PROTOCOL,
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "1"},
                },
            }
        )
        self.session_id = response.headers.get("mcp-session-id")
        if self.session_id:
            self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return response

    def request(self, method: str, params: dict[str, Any] | None = None, **headers: str) -> dict[str, Any]:
        """Send one request and return its JSON-RPC response (result or error)."""
        request_id = self._id()
        body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        return message_for(self.post(body, **headers), request_id)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id


def messages(response: httpx2.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages in a response, whether plain JSON or an SSE stream."""
    if response.headers.get("content-type", "").startswith("application/json"):
        data = response.json()
        return data if isinstance(data, list) else [data]
    found = []
    for line in response.text.splitlines():
        if line.startswith("data:") and line[5:].strip():
            found.append(json.loads(line[5:]))
    return found


def message_for(response: httpx2.Response, request_id: int) -> dict[str, Any]:
    for message in messages(response):
        if message.get("id") == request_id:
            return message
    raise AssertionError(f"no response to request {request_id}: HTTP {response.status_code} {response.text[:500]}")
