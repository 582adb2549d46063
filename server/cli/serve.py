"""`countersign serve|demo|stdio`: run the gateway over HTTP (web, API and MCP) or over stdio."""

from __future__ import annotations

import gc
import os
import secrets
import socket
from typing import Annotated, Any

import anyio
import typer

from server.cli.upstream import load_or_exit
from server.config import Settings
from server.observability import logs, metrics, tracing
from server.people import PeopleError, check_name
from server.plugins import tool_registry
from server.runtime import Runtime, build_runtime, seed_demo, sweeping
from server.sso import load_mapping
from server.store.models import ApiToken, User
from server.store.schema import open_ready

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEMO_AGENT = "demo-agent"
FIRST_ADMIN = "admin"

Host = Annotated[str, typer.Option(help="Interface to listen on.")]
Port = Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: any free port).")]


def register(app: typer.Typer) -> None:
    """Add the top-level serving commands."""
    app.command()(serve)
    app.command()(demo)
    app.command()(stdio)


def serve(
    host: Host = DEFAULT_HOST,
    port: Port = DEFAULT_PORT,
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Upgrade an older database schema first (else `countersign migrate`).")
    ] = False,
) -> None:
    """Serve the web pages, the JSON API and MCP (streamable HTTP at /mcp)."""
    settings = _http_settings(host, port)
    _logging(settings)
    listener = _listen(host, port)
    _metrics_port_free(settings)
    # Before the database: a tools module or a countersign.yaml that does not load changes nothing.
    registry = tool_registry(settings.tools)
    upstreams = load_or_exit()
    store = open_ready(settings.database_url, upgrade_allowed=migrate)  # refuses an older schema unless --migrate
    runtime = build_runtime(settings, registry=registry, upstreams=upstreams, store=store)
    _first_admin(runtime)
    _run_http(settings, runtime, listener)


def demo(host: Host = DEFAULT_HOST, port: Port = DEFAULT_PORT) -> None:
    """Seed the demo back office if it is empty, then serve."""
    settings = _http_settings(host, port)
    _logging(settings)
    listener = _listen(host, port)
    _metrics_port_free(settings)
    runtime = build_runtime(settings)  # the demo sets up and upgrades its database itself
    if seed_demo(runtime):
        typer.echo("seeded the demo back office", err=True)
    _first_admin(runtime)
    token = _demo_agent_token(runtime)
    if token is not None:
        typer.echo(f"demo agent token for {DEMO_AGENT} (shown once; send as 'Authorization: Bearer ...' to /mcp):")
        typer.echo(token)
    _run_http(settings, runtime, listener)


def stdio(
    agent: Annotated[str, typer.Option(help="The agent name recorded on every call.")] = "stdio-agent",
) -> None:
    """Serve MCP on stdin/stdout for one agent (Claude Desktop, Claude Code, Cursor...)."""
    try:
        check_name(agent, "agent name")
    except PeopleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    # Imported here: the MCP SDK is heavy, and the other commands do not need it.
    from server.mcp import build_server, fixed_agent
    from server.mcp.stdio import serve_stdio

    settings = Settings()
    _logging(settings)  # stdout carries the protocol: every log line goes to stderr
    runtime = build_runtime(settings, upstreams=load_or_exit())
    server = build_server(runtime.gateway, settings, resolve_agent=fixed_agent(agent))

    async def main() -> None:
        async with sweeping(runtime):
            await serve_stdio(server)

    _settle_heap()
    try:
        anyio.run(main)
    finally:
        runtime.close()


def _settle_heap() -> None:
    """Move everything built at start-up out of the garbage collector's sight before serving.

    Tables, models, templates and the policy are made once and live forever, yet every full collection
    would walk them again: a pause of several milliseconds in whichever agent call it lands on.
    """
    gc.collect()
    gc.freeze()


def _http_settings(host: str, port: int) -> Settings:
    settings = Settings()
    if settings.oidc_enabled:
        # A mapping that does not load refuses every single-sign-on session: at start that is a typo to fix
        # now (raises SsoConfigError), not a server that quietly lets nobody in.
        load_mapping(settings.oidc_mapping)
    if "COUNTERSIGN_BASE_URL" not in os.environ:
        # Review links must point where we listen; an explicit base URL (a proxy's) wins.
        shown = DEFAULT_HOST if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - comparing, not binding
        settings = settings.model_copy(update={"base_url": f"http://{_bracketed(shown)}:{port}"})
    if settings.instance_id is None and port:
        # Only one live process can listen on this host and port, and a restart listens there again: a
        # name that lets the restarted server settle its predecessor's unfinished calls at once.
        settings = settings.model_copy(update={"instance_id": f"{socket.gethostname()}:{port}"})
    return settings


def _listen(host: str, port: int, setting: str = "") -> socket.socket:
    """The listening socket, bound before anything else starts.

    A second server started on an address in use stops here, with one line, before it opens the
    database: it must not sweep, nor take the live server's calls for its dead predecessor's (both
    would carry the same default instance name).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio turns Nagle off (TCP_NODELAY) only on connections accepted from a
    # socket that says it is TCP; without it each answer waits out the client's delayed ACK (~40 ms).
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart must not wait out TIME_WAIT
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        named = f" ({setting})" if setting else ""
        typer.echo(f"error: cannot listen on {_bracketed(host)}:{port}{named}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    return listener


def _metrics_port_free(settings: Settings) -> None:
    """Stop here, with one line naming the setting, when COUNTERSIGN_METRICS_PORT cannot be listened on.

    The metrics server binds its own socket once the gateway is built; this trial bind says so before.
    """
    if settings.metrics_port is not None:
        _listen(settings.metrics_host, settings.metrics_port, "COUNTERSIGN_METRICS_PORT").close()


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _run_http(settings: Settings, runtime: Runtime, listener: socket.socket) -> None:
    import uvicorn

    from web.app import create_app  # the composition root is the one place in server/ that serves web/

    app: Any = create_app(settings, runtime)
    stop_metrics = None
    if settings.metrics_port is not None:  # /metrics on a port of its own, for the scraper only
        stop_metrics = metrics.serve_on_port(runtime, settings.metrics_host, settings.metrics_port)
    config = uvicorn.Config(
        app,
        server_header=False,
        # X-Forwarded-For is read by the app, from COUNTERSIGN_TRUSTED_PROXIES only (web/client_address.py).
        proxy_headers=False,
        log_config=None,
        # Held calls wait inline for up to a minute; do not hold a shutdown for them (they are stored).
        timeout_graceful_shutdown=3,
    )
    server = uvicorn.Server(config)
    _settle_heap()
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()
        if stop_metrics is not None:
            stop_metrics()
        runtime.close()
    if not server.started:  # the app's start-up failed (its log says why)
        raise typer.Exit(3)


def _demo_agent_token(runtime: Runtime) -> str | None:
    """A token for the demo agent, made only when no agent has one yet."""
    from sqlmodel import select

    with runtime.store.read() as session:
        if session.exec(select(ApiToken).where(ApiToken.principal_kind == "agent")).first() is not None:
            return None
    return runtime.people.create_agent_token(DEMO_AGENT, label="countersign demo")


def _first_admin(runtime: Runtime) -> None:
    """On a database without users, create ``admin``: COUNTERSIGN_ADMIN_PASSWORD, or a password printed once.

    A printed password is one-time: its first sign-in must change it. With local passwords switched off
    there is no first admin (the SSO mapping names admins).
    """
    from sqlmodel import select

    if not runtime.settings.local_passwords:
        return
    with runtime.store.read() as session:
        if session.exec(select(User)).first() is not None:
            return
    given = runtime.settings.admin_password
    password = given or secrets.token_urlsafe(12)
    try:
        runtime.people.create_user(FIRST_ADMIN, "admin", password=password, must_change_password=not given)
    except PeopleError as exc:
        if runtime.people.get_user(FIRST_ADMIN) is not None:
            return  # another instance sharing the database created it first
        typer.echo(f"error: cannot create the first admin: {exc}", err=True)
        raise typer.Exit(2) from exc
    if given:
        typer.echo(f"created user {FIRST_ADMIN!r} with the password from COUNTERSIGN_ADMIN_PASSWORD", err=True)
        return
    signin = f"{runtime.settings.base_url}/signin"
    typer.echo(f"created user {FIRST_ADMIN!r}; its one-time password (change it at first sign-in at {signin}):")
    typer.echo(password)


def _logging(settings: Settings) -> None:
    """Log lines to stderr (text or JSON, secrets redacted); traces over OTLP when OTEL_* ask for it."""
    logs.configure(
        level=settings.log_level,
        json_lines=settings.log_format == "json",
        secrets=settings.secret_values(),
    )
    tracing.configure_from_environment()
