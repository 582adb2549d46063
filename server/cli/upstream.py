"""`countersign upstream list|check|accept`: the upstream MCP servers of countersign.yaml.

Each command connects to the configured upstreams itself (so it works with no server running),
records what they list now (pins, changes) in the shared database, and reports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from server.cli.tool import Actor, DatabaseUrl, _actor, _policy, open_store
from server.policy import Policy, classify
from server.policy.types import Action, Risk, Verdict
from server.store.db import Store
from server.upstream.config import ConfigError, UpstreamsConfig, load_config

if TYPE_CHECKING:
    from server.upstream.hub import UpstreamHub
    from server.upstream.pins import Pins
    from server.upstream.tools import UpstreamTools

app = typer.Typer(no_args_is_help=True)

SETTLE_SECONDS = 30.0


def load_or_exit() -> UpstreamsConfig:
    """The configuration, or one clear error line (every problem, ``; `` between them) and exit status 2."""
    try:
        return load_config()
    except ConfigError as exc:
        typer.echo(f"error: {'; '.join(str(exc).splitlines())}", err=True)
        raise typer.Exit(2) from exc


@contextmanager
def _connected(database_url: str | None) -> Iterator[tuple[UpstreamHub, Pins, Store]]:
    config = load_or_exit()
    if not config.upstreams:
        typer.echo("no upstreams configured (COUNTERSIGN_CONFIG, default ./countersign.yaml)", err=True)
        raise typer.Exit(0)
    from server.upstream.hub import UpstreamHub  # the MCP client is heavy; only these commands need it
    from server.upstream.pins import Pins

    store = open_store(database_url)
    pins = Pins(store)
    hub = UpstreamHub(config, pins).start()
    try:
        hub.wait_settled(SETTLE_SECONDS)
        yield hub, pins, store
    finally:
        hub.close()
        store.close()


@app.command("list")
def list_tools(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Every upstream tool: its upstream's state, its pin, and the verdict the current policy gives it."""
    from server.upstream.tools import UpstreamTools

    with _connected(database_url) as (hub, pins, _store):
        policy = _policy()
        external = UpstreamTools(hub, _Fixed(policy), pins)
        pinned = {pin.tool: pin for pin in pins.all()}
        rows: list[dict[str, Any]] = []
        for tool in sorted(hub.tools(), key=lambda t: t.listed):
            pin = pinned.get(tool.listed)
            rows.append(
                {
                    "tool": tool.listed,
                    "upstream": tool.upstream,
                    "upstream_tool": tool.name,
                    "up": hub.connections[tool.upstream].state == "up",
                    "pin": "changed" if pin is not None and pin.pinned_hash != tool.hash else "pinned",
                    **_verdict(policy, external, tool.listed),
                }
            )
        status = hub.status()
    if as_json:
        typer.echo(json.dumps({"upstreams": status, "tools": rows}, indent=2))
        return
    for name, state in status.items():
        error = f" ({state['error']})" if state["error"] else ""
        typer.echo(f"upstream {name}: {state['state']}{error}, {state['tools']} tools")
    for row in rows:
        typer.echo(f"  {row['tool']:<48} {row['pin']:<8} {row['verdict']:<7} {row['reason']}")


@app.command("check")
def check(database_url: DatabaseUrl = None) -> None:
    """Connect to each upstream and report; exit 1 when a required upstream is down."""
    with _connected(database_url) as (hub, pins, _store):
        failed = False
        for name, state in hub.status().items():
            if state["state"] == "up":
                changed = len(pins.pending(name))
                note = f", {changed} changed definitions awaiting `upstream accept`" if changed else ""
                typer.echo(f"ok    {name}: {state['tools']} tools{note}")
            else:
                failed = failed or bool(state["required"])
                label = "FAIL " if state["required"] else "down "
                typer.echo(f"{label} {name}: {state['error'] or 'not connected'}")
    if failed:
        raise typer.Exit(1)


@app.command("accept")
def accept(
    upstream: Annotated[str, typer.Argument(help="The upstream's name in countersign.yaml.")],
    tools: Annotated[list[str] | None, typer.Argument(help="Only these tools (listed or upstream names).")] = None,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show each changed definition (a diff of description and schema) and accept it as the new pin."""
    config = load_or_exit()
    if upstream not in config.upstreams:
        typer.echo(f"error: no upstream {upstream!r} in the configuration", err=True)
        raise typer.Exit(2)
    with _connected(database_url) as (_hub, pins, _store):
        changed = [p for p in pins.pending(upstream) if not tools or p.tool in tools or p.upstream_tool in tools]
        if not changed:
            typer.echo(f"nothing to accept: no changed definitions on {upstream}")
            return
        from server.upstream.pins import describe_change

        for pin in changed:
            typer.echo(describe_change(pin))
        shown = {p.tool: p.pending_hash or "" for p in changed}  # accept only what was printed
        accepted = pins.accept(upstream, list(shown), actor=_actor(actor), expected=shown)
    typer.echo(f"accepted {len(accepted)} changed definitions: {', '.join(p.tool for p in accepted)}")


# Rules reading these see the call itself, so no verdict holds for every call of the tool.
_PER_CALL = frozenset({"args", "text", "exposure", "customer", "justification", "agent"})


def _verdict(policy: Policy | None, external: UpstreamTools, tool: str) -> dict[str, Any]:
    """The verdict the policy gives the tool, for an admin writing the policy. Where its rules look at
    the call (arguments, exposure...), the verdict depends on it: shown as ``depends`` with the tool's
    default, never computed from made-up arguments (a rule failing on them would read as "block")."""
    refusal = external.refusal(tool)
    if refusal is not None:
        return {"verdict": Action.BLOCK.value, "risk": Risk.HIGH.value, "reason": refusal, "depends_on": []}
    entry = policy.tools.get(tool) if policy is not None else None
    rules = policy.rules_for(tool) if policy is not None and entry is not None else ()
    # Rules that name the tool and read the call (rules for every tool, such as hidden-text checks,
    # are the same for all and would make every verdict "depends").
    per_call = [
        rule.id
        for rule in rules
        if rule.spec.tools and rule.condition is not None and rule.condition.reads.variables & _PER_CALL
    ]
    if entry is not None and per_call:
        reason = (
            f"depends on arguments: {entry.action.value} by default; "
            f"rule{'s' if len(per_call) > 1 else ''} {', '.join(per_call)} look at each call"
        )
        return {"verdict": "depends", "risk": entry.risk.value, "reason": reason, "depends_on": per_call}
    verdict: Verdict = classify(policy, external.facts(tool, {}, agent="countersign-cli", justification=None))
    return {"verdict": verdict.action.value, "risk": verdict.risk.value, "reason": verdict.reason, "depends_on": []}


class _Fixed:
    """A policy holder that always answers the policy loaded once (the CLI's view)."""

    def __init__(self, policy: Policy | None) -> None:
        self.policy = policy

    def current(self) -> Policy | None:
        return self.policy
