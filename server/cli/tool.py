"""`countersign tool ...`: tool risk levels and actions, the act-tool kill switch.

Changes go through :class:`server.overrides.Overrides`, so they are audited and govern the next
call on every instance sharing the database.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from server import plugins
from server.cli.errors import fail
from server.config import Settings
from server.overrides import Overrides
from server.policy import Policy, PolicyError, load_policy
from server.policy.types import Action, Risk
from server.store.db import Store
from server.store.schema import open_ready
from tools.contract import ToolRegistry

app = typer.Typer(no_args_is_help=True)

DatabaseUrl = Annotated[
    str | None, typer.Option("--database-url", help="Database URL (default: COUNTERSIGN_DATABASE_URL).")
]
Actor = Annotated[str | None, typer.Option(help="Who is making the change (default: cli:<login name>).")]
Reason = Annotated[str, typer.Option(help="Why; recorded in the audit trail.")]


def tool_registry() -> ToolRegistry:
    """The tools a gateway with these settings has: the built-in ones and your own (``COUNTERSIGN_TOOLS``)."""
    return plugins.tool_registry(Settings().tools)


def open_store(database_url: str | None) -> Store:
    return open_ready(database_url or Settings().database_url)  # sets up an empty database, never upgrades one


def _actor(given: str | None) -> str:
    return given or f"cli:{getpass.getuser()}"


def _policy() -> Policy | None:
    try:
        return load_policy(Settings().policies)
    except PolicyError:
        return None


@app.command("set-risk")
def set_risk(
    tool: Annotated[str, typer.Argument(help="Tool name, e.g. issue_refund.")],
    level: Annotated[Risk, typer.Argument(help="Risk level.", case_sensitive=False)],
    action: Annotated[Action, typer.Option(help="What happens to its calls.", case_sensitive=False)],
    reason: Reason,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Override a tool's risk level and action (effective on its next call, everywhere)."""
    registry = tool_registry()
    policy = _policy()
    known = {spec.name for spec in registry} | set(policy.tools if policy is not None else ())
    if known and tool not in known:
        fail(f"unknown tool {tool!r}; `countersign tool list` shows the tools")
    store = open_store(database_url)
    try:
        Overrides(store, registry).set(tool, risk=level, action=action, reason=reason, actor=_actor(actor))
    except ValueError as exc:
        fail(str(exc))
    finally:
        store.close()
    typer.echo(f"{tool}: risk {level.value}, action {action.value} (audited)")


@app.command()
def clear(
    tool: Annotated[str, typer.Argument(help="Tool name.")],
    reason: Reason,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a tool's override, so the policy file's default applies again."""
    store = open_store(database_url)
    try:
        cleared = Overrides(store, tool_registry()).clear(tool, reason=reason, actor=_actor(actor))
    finally:
        store.close()
    typer.echo(f"{tool}: override removed (audited)" if cleared else f"{tool} has no override")


@app.command("list")
def list_tools(database_url: DatabaseUrl = None) -> None:
    """Every tool with its policy default and the admin override in force, if any."""
    registry = tool_registry()
    policy = _policy()
    store = open_store(database_url)
    try:
        overrides = Overrides(store, registry)
        rows = overrides.all()
        switch = overrides.kill_switch()
    finally:
        store.close()
    names = list(dict.fromkeys([*(spec.name for spec in registry), *(policy.tools if policy else ()), *rows]))
    table = Table("tool", "category", "policy default", "override", "reason")
    for name in names:
        spec = registry.get(name)
        entry = policy.tools.get(name) if policy is not None else None
        row = rows.get(name)
        table.add_row(
            name,
            spec.category if spec is not None else "?",
            f"{entry.action} / {entry.risk}" if entry is not None else "(not in policy: blocked)",
            f"{row.action} / {row.risk} by {row.actor}" if row is not None else "",
            row.reason if row is not None else "",
        )
    console = Console(width=160)
    if switch.get("on"):
        console.print(f"[bold red]kill switch ON[/]: every act tool is blocked ({switch.get('reason', '')})")
    if policy is None:
        console.print("the policy does not load; `countersign policy check` says why")
    console.print(table)


@app.command("kill-switch")
def kill_switch(
    state: Annotated[str, typer.Argument(help="on: block every act tool at once; off: undo.")],
    reason: Reason,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Block every act tool at once, or undo it. Audited."""
    if state not in {"on", "off"}:
        fail(f"STATE is on or off, not {state[:20]!r}")
    store = open_store(database_url)
    try:
        Overrides(store, tool_registry()).set_kill_switch(state == "on", reason=reason, actor=_actor(actor))
    except ValueError as exc:
        fail(str(exc))
    finally:
        store.close()
    typer.echo("kill switch on: every act tool is blocked" if state == "on" else "kill switch off")
