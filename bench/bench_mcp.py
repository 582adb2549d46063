"""MCP surface benchmark: the cost of the guard on allowed calls, and how fast a decision reaches an agent.

1. Allowed-call latency (p50/p95/p99) and throughput (sequential, 16 and 64 concurrent clients) over
   streamable HTTP, through `countersign serve` and through a plain `mcp` SDK server exposing the same
   tool (`get_customer` on the same back office), measured in the same run, in alternating rounds,
   each round with a fresh pair of server processes (sequential calls: both servers in alternating
   blocks); the medians' ratios printed, and each round's.
2. Decision-to-agent time: from the moment the approve API call returns to the moment the waiting
   agent's tools/call returns, when the approval goes to the agent's own server process, and when it
   goes to a second process sharing the database.

Run: `make bench` (all benchmarks) or `python -m bench mcp`. Not part of `make test`.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

REPO = Path(__file__).resolve().parent.parent
COUNTERSIGN = str(Path(sys.executable).parent / "countersign")
TOOL = "get_customer"
ARGS = {"customer_id": "C-1001"}
# 1.00 EUR without evidence: held by the default policy (up to 940 of them fit in order O-1001).
REFUND = {"customer_id": "C-1001", "order_id": "O-1001", "amount": 1.0, "currency": "EUR", "reason": "bench"}
# Sequential calls: blocks of BLOCK_CALLS to each server in turn (see measure_sequential).
SEQUENTIAL_BLOCKS = 10
BLOCK_CALLS = 50
CONCURRENCY = (16, 64)
CALLS_PER_LEVEL = 640
DECISION_SAMPLES = 15
# Each round starts both servers afresh: one process keeps whatever luck its start gave it (memory
# layout, hash seed, a busy moment while it warmed up) for its whole life, and moved whole runs by 10-30%.
ROUNDS = 5


# --- the servers ------------------------------------------------------------------------------------


def serve_plain(port: int, database_url: str) -> None:
    """A plain low-level MCP server with the same tool, no guard (run in a subprocess)."""
    import anyio.to_thread
    import mcp_types as types
    import uvicorn
    from mcp.server import Server
    from mcp.server.transport_security import TransportSecuritySettings
    from starlette.applications import Starlette

    from tools import default_registry
    from tools.backoffice import BackOffice

    spec = default_registry()[TOOL]
    office = BackOffice.from_url(database_url)
    tool = types.Tool(name=TOOL, description=spec.description, input_schema=spec.input_schema)

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[tool])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        import json

        result = await anyio.to_thread.run_sync(lambda: spec.call(office, dict(params.arguments or {})))
        data = json.loads(json.dumps(result, default=str))
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=json.dumps(data))], structured_content=data
        )

    server: Server[Any] = Server("plain", on_list_tools=list_tools, on_call_tool=call_tool)
    mcp_app = server.streamable_http_app(
        transport_security=TransportSecuritySettings(
            allowed_hosts=["127.0.0.1:*"], allowed_origins=["http://127.0.0.1:*"]
        )
    )
    app = Starlette(routes=mcp_app.routes, lifespan=lambda _app: server.session_manager.run())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


class Process:
    def __init__(self, args: list[str], env: dict[str, str], url: str, log: Path) -> None:
        self.url = url
        with log.open("ab") as out:
            self.process = subprocess.Popen(args, env=env, stdout=out, stderr=out)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx2.get(f"{url}/healthz", timeout=1.0)
                return
            except httpx2.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"{args} did not start; see {log}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _env(database_url: str, port: int, office_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUNTERSIGN_")}
    if office_url is not None and office_url != database_url:
        env["COUNTERSIGN_BACKOFFICE_URL"] = office_url
    env.update(
        COUNTERSIGN_DATABASE_URL=database_url,
        COUNTERSIGN_POLICIES=str(REPO / "policies"),
        COUNTERSIGN_BASE_URL=f"http://127.0.0.1:{port}",
        COUNTERSIGN_INLINE_WAIT_SECONDS="30",
        COUNTERSIGN_LOG_LEVEL="WARNING",
    )
    return env


def start_countersign(
    database_url: str, office_url: str, log: Path, command: str = "serve", *, tree: Path | None = None
) -> Process:
    """``countersign COMMAND``; ``tree``: the code in that checkout instead (bench/compare.py), run with
    this virtualenv's packages."""
    port = _free_port()
    env = _env(database_url, port, office_url)
    if tree is None:
        args = [COUNTERSIGN, command, "--port", str(port)]
    else:
        args = [sys.executable, "-m", "server", command, "--port", str(port)]
        env["PYTHONPATH"] = str(tree)
    return Process(args, env, f"http://127.0.0.1:{port}", log)


def start_plain(database_url: str, office_url: str, log: Path) -> Process:
    port = _free_port()
    code = f"from bench.bench_mcp import serve_plain; serve_plain({port}, {office_url!r})"
    env = _env(database_url, port, office_url)
    return Process([sys.executable, "-c", code], env, f"http://127.0.0.1:{port}", log)


# --- clients ------------------------------------------------------------------------------------------


async def _client(stack: AsyncExitStack, url: str, token: str | None) -> Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = await stack.enter_async_context(httpx2.AsyncClient(headers=headers, timeout=120.0))
    return await stack.enter_async_context(Client(streamable_http_client(f"{url}/mcp", http_client=http)))


async def _timed(call: Callable[[], Awaitable[Any]]) -> float:
    started = time.perf_counter()
    result = await call()
    if getattr(result, "is_error", False):
        raise RuntimeError(f"call failed: {result}")
    return time.perf_counter() - started


async def measure_sequential(servers: list[tuple[str, str, str | None]]) -> dict[str, dict[str, float]]:
    """One agent per server, taking turns: a block of calls to one, then a block to the other, and so on.

    The machine's speed drifts over seconds (a busy neighbour, a slower moment); blocks of a few hundred
    milliseconds, alternating, put both servers through the same moments, so the drift cancels in the ratio.
    """
    latencies: dict[str, list[float]] = {name: [] for name, _, _ in servers}
    elapsed = dict.fromkeys(latencies, 0.0)
    async with AsyncExitStack() as stack:
        clients = {name: await _client(stack, url, token) for name, url, token in servers}
        for client in clients.values():
            for _ in range(20):  # warm up
                await client.call_tool(TOOL, ARGS)
        for block in range(SEQUENTIAL_BLOCKS):
            order = list(clients.items()) if block % 2 == 0 else list(reversed(clients.items()))
            for name, client in order:
                started = time.perf_counter()
                latencies[name] += await _block(client)
                elapsed[name] += time.perf_counter() - started
    figures: dict[str, dict[str, float]] = {}
    for name, seen in latencies.items():
        cuts = statistics.quantiles(seen, n=100)
        figures[name] = {
            "p50": cuts[49] * 1000,
            "p95": cuts[94] * 1000,
            "p99": cuts[98] * 1000,
            "sequential_rps": len(seen) / elapsed[name],
        }
    return figures


async def _block(client: Client) -> list[float]:
    return [await _timed(lambda: client.call_tool(TOOL, ARGS)) for _ in range(BLOCK_CALLS)]


async def measure_allowed(servers: list[tuple[str, str, str | None]]) -> dict[str, dict[str, float]]:
    figures = await measure_sequential(servers)
    for level in CONCURRENCY:
        for name, url, token in servers:
            figures[name][f"c{level}_rps"] = await _throughput(url, token, level)
    return figures


async def _throughput(url: str, token: str | None, clients: int) -> float:
    per_client = max(1, CALLS_PER_LEVEL // clients)
    async with AsyncExitStack() as stack:
        sessions = [await _client(stack, url, token) for _ in range(clients)]

        async def work(client: Client) -> None:
            for _ in range(per_client):
                await _timed(lambda: client.call_tool(TOOL, ARGS))

        started = time.perf_counter()
        await asyncio.gather(*(work(client) for client in sessions))
        return clients * per_client / (time.perf_counter() - started)


async def measure_decisions(agent_url: str, api_url: str, agent_token: str, person_token: str) -> list[float]:
    """Seconds from the approve API call returning to the waiting agent's result (negative: agent first)."""
    samples: list[float] = []
    async with AsyncExitStack() as stack:
        agent = await _client(stack, agent_url, agent_token)
        api = await stack.enter_async_context(
            httpx2.AsyncClient(base_url=api_url, headers={"Authorization": f"Bearer {person_token}"}, timeout=60.0)
        )
        for _ in range(DECISION_SAMPLES):
            waiting = asyncio.create_task(_agent_result_time(agent))
            call_id = await _held_call(api)
            seen = (await api.get(f"/api/calls/{call_id}")).json()
            decision = {"reason": "bench", "args_hash": seen["args_hash"]}
            response = await api.post(f"/api/calls/{call_id}/approve", json=decision)
            returned = time.perf_counter()
            response.raise_for_status()
            samples.append(await waiting - returned)
    return samples


async def _agent_result_time(agent: Client) -> float:
    """Make a held call and wait inline; when its result arrived (perf_counter)."""
    result = await agent.call_tool("issue_refund", REFUND)
    arrived = time.perf_counter()
    if (result.structured_content or {}).get("status") == "pending_approval":
        raise RuntimeError("the agent stopped waiting before the decision")
    return arrived


async def _held_call(api: httpx2.AsyncClient) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        calls = (await api.get("/api/calls", params={"status": "held"})).json()
        if calls:
            return str(calls[0]["id"])
        await asyncio.sleep(0.005)
    raise RuntimeError("no held call appeared")


# --- the run --------------------------------------------------------------------------------------------


def report_allowed(database_url: str, office_url: str, log: Path, agent_token: str) -> None:
    """Round after round, a fresh pair of servers (alternating which goes first); medians and each round's ratio."""
    rounds: list[dict[str, dict[str, float]]] = []
    for number in range(ROUNDS):
        plain = start_plain(database_url, office_url, log)
        guarded = start_countersign(database_url, office_url, log)
        try:
            servers: list[tuple[str, str, str | None]] = [
                ("plain", plain.url, None),
                ("countersign", guarded.url, agent_token),
            ]
            if number % 2:
                servers.reverse()  # neither server always runs on a machine the other just warmed or heated
            rounds.append(asyncio.run(measure_allowed(servers)))
        finally:
            guarded.stop()
            plain.stop()
    print(f"allowed call {TOOL} over streamable HTTP (same machine, client and server share the CPUs)")
    print(f"median of {ROUNDS} rounds, fresh server processes each round; ratio: of the medians; then the")
    print("median of the rounds' own ratios, and each round's")
    print(f"{'':22}{'plain mcp':>10}{'countersign':>13}{'ratio':>7}{'rounds':>8}  {'per round':>9}")
    for key in ("p50", "p95", "p99", "sequential_rps", *(f"c{c}_rps" for c in CONCURRENCY)):
        unit = "ms" if key.startswith("p") else "calls/s"
        base = statistics.median(r["plain"][key] for r in rounds)
        ours = statistics.median(r["countersign"][key] for r in rounds)
        ratios = [r["countersign"][key] / r["plain"][key] for r in rounds]
        each = " ".join(f"{ratio:.2f}" for ratio in ratios)
        typical = statistics.median(ratios)
        print(f"{key + ' ' + unit:22}{base:10.1f}{ours:13.1f}{ours / base:7.2f}{typical:8.2f}  {each}")


def _tokens(database_url: str) -> tuple[str, str]:
    from server.people import People
    from server.store.db import Store

    store = Store.open(database_url)
    try:
        people = People(store)
        people.create_user("bench-reviewer", "reviewer", queues=["finance"])
        return people.create_agent_token("bench-agent"), people.create_person_token("bench-reviewer")
    finally:
        store.close()


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered) * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms (n={len(ordered)})"


def main() -> None:
    # BENCH_MCP_DIR=/dev/shm puts the database on tmpfs: commits no longer wait for the disk (fsync).
    with tempfile.TemporaryDirectory(prefix="countersign-bench-", dir=os.environ.get("BENCH_MCP_DIR")) as tmp:
        root = Path(tmp)
        database_url = f"sqlite:///{root / 'countersign.db'}"
        # The tools' back office in its own file, as a team's systems are: the gateway's commits then
        # never invalidate the page cache the tool's reads use. BENCH_SHARED_BACKOFFICE=1: one file.
        shared = os.environ.get("BENCH_SHARED_BACKOFFICE") == "1"
        office_url = database_url if shared else f"sqlite:///{root / 'backoffice.db'}"
        print(f"back office: {'in the gateway database' if shared else 'a database of its own'}")
        log = root / "servers.log"
        agent_token, person_token = _tokens(database_url)
        start_countersign(database_url, office_url, log, command="demo").stop()  # seeds the back office
        report_allowed(database_url, office_url, log, agent_token)
        guarded = start_countersign(database_url, office_url, log)
        second = start_countersign(database_url, office_url, log)
        try:
            same = asyncio.run(measure_decisions(guarded.url, guarded.url, agent_token, person_token))
            cross = asyncio.run(measure_decisions(guarded.url, second.url, agent_token, person_token))
        finally:
            second.stop()
            guarded.stop()
        print("decision to agent (approve API returns -> waiting agent's result arrives)")
        print(f"  same process:   {_ms(same)}")
        print(f"  across processes sharing the database: {_ms(cross)}")


if __name__ == "__main__":
    main()
