"""Upstream benchmark: an allowed call through Countersign to an upstream MCP server, against a direct
call to the same server and against mcp-proxy (PyPI) in front of it, all in the same run.

- direct:      agent --HTTP--> echo server
- countersign: agent --HTTP--> `countersign serve` --stdio--> echo server (upstream `echo` in countersign.yaml)
- mcp-proxy:   agent --HTTP--> `mcp-proxy` --stdio--> echo server

Every agent speaks the same protocol (the 2025-11-25 handshake, the one mcp-proxy serves) with a
persistent session. Figures: p50/p99 of sequential calls and throughput with 16 concurrent clients,
the median of ROUNDS rounds (the order of the servers rotates every round), and the ratio to direct.
Targets (issue 11): p50 within 1.5x of direct, throughput at least 0.7x of direct.

Run: `make bench-proxy` once (mcp-proxy in its own virtualenv, see requirements-mcp-proxy.txt), then
`python -m bench upstream`. Without mcp-proxy the run measures the other two and says so.
BENCH_MCP_DIR=/dev/shm puts the database on tmpfs.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.bench_mcp import COUNTERSIGN, REPO, Process, _env, _free_port, _tokens

ECHO = Path(__file__).with_name("echo_server.py")
PROXY = Path(os.environ.get("BENCH_MCP_PROXY", REPO / ".bench-proxy-venv" / "bin" / "mcp-proxy"))
SEQUENTIAL_CALLS = 400
CLIENTS = 16
CALLS_PER_CLIENT = 50
ROUNDS = 3
POLICY = "version: 1\ntools:\n  echo__echo: {action: allow, risk: low, kind: read}\n"


def start_direct(log: Path) -> Process:
    port = _free_port()
    return Process([sys.executable, str(ECHO), "http", str(port)], dict(os.environ), f"http://127.0.0.1:{port}", log)


def start_countersign(root: Path, database_url: str, log: Path) -> Process:
    policies = root / "policies"
    policies.mkdir(exist_ok=True)
    (policies / "bench.yaml").write_text(POLICY)
    config = root / "countersign.yaml"
    config.write_text(f"upstreams:\n  echo:\n    command: [{sys.executable}, {ECHO}, stdio]\n")
    port = _free_port()
    env = _env(database_url, port)
    env.update(COUNTERSIGN_POLICIES=str(policies), COUNTERSIGN_CONFIG=str(config))
    process = Process([COUNTERSIGN, "serve", "--port", str(port)], env, f"http://127.0.0.1:{port}", log)
    _wait_upstream(process.url)
    return process


def _wait_upstream(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        health = httpx2.get(f"{url}/healthz", timeout=2.0).json()
        if (health.get("upstreams") or {}).get("echo") == "up":
            return
        time.sleep(0.1)
    raise RuntimeError(f"the echo upstream did not come up behind countersign: {health}")


def start_proxy(log: Path) -> Process | None:
    if not PROXY.exists():
        return None
    port = _free_port()
    args = [str(PROXY), "--port", str(port), "--host", "127.0.0.1", "--log-level", "WARNING", "--"]
    return Process([*args, sys.executable, str(ECHO), "stdio"], dict(os.environ), f"http://127.0.0.1:{port}", log)


async def _client(stack: AsyncExitStack, url: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=120.0))
    transport = streamable_http_client(f"{url}/mcp", http_client=http)
    return await stack.enter_async_context(Client(transport, mode="legacy"))


async def _call(client: Client, tool: str) -> float:
    started = time.perf_counter()
    result = await client.call_tool(tool, {"text": "hello"})
    elapsed = time.perf_counter() - started
    if result.is_error:
        raise RuntimeError(f"{tool} failed: {result.content}")
    return elapsed


async def measure(url: str, token: str | None, tool: str) -> dict[str, float]:
    async with AsyncExitStack() as stack:
        client = await _client(stack, url, token)
        for _ in range(30):  # warm up
            await _call(client, tool)
        latencies = [await _call(client, tool) for _ in range(SEQUENTIAL_CALLS)]
    cuts = statistics.quantiles(latencies, n=100)
    async with AsyncExitStack() as stack:
        clients = [await _client(stack, url, token) for _ in range(CLIENTS)]

        async def work(client: Client) -> None:
            for _ in range(CALLS_PER_CLIENT):
                await _call(client, tool)

        started = time.perf_counter()
        await asyncio.gather(*(work(client) for client in clients))
        rps = CLIENTS * CALLS_PER_CLIENT / (time.perf_counter() - started)
    return {"p50": cuts[49] * 1000, "p99": cuts[98] * 1000, f"c{CLIENTS}_rps": rps}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="countersign-bench-up-", dir=os.environ.get("BENCH_MCP_DIR")) as tmp:
        root = Path(tmp)
        database_url = f"sqlite:///{root / 'countersign.db'}"
        log = root / "servers.log"
        agent_token, _person = _tokens(database_url)
        processes: list[Process] = []
        try:
            direct = start_direct(log)
            processes.append(direct)
            guarded = start_countersign(root, database_url, log)
            processes.append(guarded)
            proxy = start_proxy(log)
            targets = [("direct", direct.url, None, "echo"), ("countersign", guarded.url, agent_token, "echo__echo")]
            if proxy is not None:
                processes.append(proxy)
                targets.append(("mcp-proxy", proxy.url, None, "echo"))
            else:
                print(f"mcp-proxy not found at {PROXY}: run `make bench-proxy` to compare with it")
            rounds: list[dict[str, dict[str, float]]] = []
            for number in range(ROUNDS):
                order = targets[number % len(targets) :] + targets[: number % len(targets)]
                rounds.append({name: asyncio.run(measure(url, token, tool)) for name, url, token, tool in order})
        finally:
            for process in processes:
                process.stop()
        report(rounds, [name for name, *_ in targets])


def report(rounds: list[dict[str, dict[str, float]]], names: list[str]) -> None:
    print(f"allowed echo call over streamable HTTP, persistent sessions; median of {len(rounds)} rounds")
    print(f"{'':16}" + "".join(f"{name:>13}{'x direct':>9}" for name in names))
    for key in ("p50", "p99", f"c{CLIENTS}_rps"):
        unit = "ms" if key.startswith("p") else "calls/s"
        base = statistics.median(r["direct"][key] for r in rounds)
        cells = ""
        for name in names:
            value = statistics.median(r[name][key] for r in rounds)
            cells += f"{value:13.2f}{value / base:9.2f}"
        print(f"{key + ' ' + unit:16}{cells}")
    for number, each in enumerate(rounds, 1):
        ratios = ", ".join(
            f"{name} p50 {each[name]['p50'] / each['direct']['p50']:.2f}x rps "
            f"{each[name][f'c{CLIENTS}_rps'] / each['direct'][f'c{CLIENTS}_rps']:.2f}x"
            for name in names
            if name != "direct"
        )
        print(f"  round {number}: {ratios}")


if __name__ == "__main__":
    main()
