"""`countersign policy ...`: check a policy directory, and see the verdict one call would get."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
import typer

from server.catalog import build_facts
from server.cli.errors import describe, fail
from server.cli.tool import tool_registry
from server.config import Settings
from server.notify.people_check import named_people, people_warnings
from server.policy import Policy, PolicyError, classify, load_policy
from server.policy.types import Evidence, Justification, Verdict
from server.store.db import Store, StoreNotReady, StoreUnavailable
from server.upstream.config import ConfigError, load_config
from server.upstream.names import SEPARATOR
from tools.contract import ToolInputError, ToolSpec

app = typer.Typer(no_args_is_help=True)


def _policies_dir(given: Path | None) -> Path:
    return given if given is not None else Settings().policies


def _upstream_prefixes() -> tuple[str, ...]:
    """``NAME__`` of each upstream in countersign.yaml: their tools are known once connected, not here."""
    try:
        upstreams = load_config().upstreams
    except ConfigError as exc:
        typer.echo(f"warning: upstream tools not recognised: {exc}")
        return ()
    return tuple(f"{name}{SEPARATOR}" for name in upstreams)


def _load_or_exit(directory: Path) -> Policy:
    try:
        return load_policy(directory)
    except PolicyError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        typer.echo(
            f"{len(exc.problems)} problem(s) in {directory}: a running gateway keeps its last good policy "
            "(or blocks every call if it never had one)",
            err=True,
        )
        raise typer.Exit(1) from exc


@app.command()
def check(
    directory: Annotated[
        Path | None, typer.Argument(help="Policy directory (default: COUNTERSIGN_POLICIES or ./policies).")
    ] = None,
) -> None:
    """Validate every policy file; list each problem as file:line:col: [rule] message."""
    root = _policies_dir(directory)
    policy = _load_or_exit(root)
    typer.echo(
        f"{root}: OK: {len(policy.files)} file(s), {len(policy.tools)} tools, {len(policy.rules)} rules, "
        f"version {policy.version[:12]}"
    )
    _check_people(policy)
    registry = tool_registry()
    upstream = _upstream_prefixes()
    # Not errors: an unlisted tool is blocked (fail closed), a listed unknown one is harmless.
    for spec in registry:
        if spec.name not in policy.tools:
            typer.echo(f"warning: tool {spec.name!r} has no entry in the policy; every call to it is blocked")
    for name in policy.tools:
        if name not in registry and not name.startswith(upstream):
            typer.echo(f"warning: the policy lists {name!r}, which is not a registered tool")


def _check_people(policy: Policy) -> None:
    """Warn about people named under ``notify:`` who are not people of the configured database."""
    if not named_people(policy):
        return
    url = Settings().database_url
    database = sa.engine.make_url(url).database if url.startswith("sqlite") else None
    if database and database != ":memory:" and not Path(database).exists():
        typer.echo(f"warning: the people named under notify: were not checked: there is no database at {database}")
        return  # never create an empty database file just to look
    try:
        store = Store.open_existing(url)  # only looks: never sets up or upgrades
    except (StoreNotReady, StoreUnavailable, sa.exc.SQLAlchemyError, ValueError) as exc:
        typer.echo(f"warning: the people named under notify: were not checked: {describe(exc)}")
        return
    try:
        for line in people_warnings(store, policy):
            typer.echo(line)
    finally:
        store.close()


@app.command()
def test(
    tool: Annotated[str, typer.Argument(help="Tool name, e.g. issue_refund.")],
    args: Annotated[str, typer.Option("--args", help="The call's arguments as a JSON object.")] = "{}",
    confidence: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="The agent's confidence, 0 to 1.")] = None,
    evidence: Annotated[
        list[str] | None, typer.Option("--evidence", help="An evidence source; repeat for more.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="The agent's reason for the call.")] = None,
    agent: Annotated[str, typer.Option(help="The calling agent's name.")] = "anonymous",
    policies: Annotated[Path | None, typer.Option(help="Policy directory (default: settings).")] = None,
) -> None:
    """Print the verdict one call would get, as JSON on stdout (in words on stderr)."""
    arguments = _parse_args(args)
    policy = _load_or_exit(_policies_dir(policies))
    spec: ToolSpec | None = tool_registry().get(tool)
    if spec is not None:
        try:
            # As the gateway does: arguments the tool's schema refuses never reach the policy.
            arguments = spec.parse(arguments)
        except ToolInputError as exc:
            typer.echo(
                f"error: {tool} refuses these arguments ({exc.message}); the gateway would block such a call "
                "as invalid arguments before the policy sees it",
                err=True,
            )
            raise typer.Exit(2) from exc
    justification = Justification(
        reason=reason, confidence=confidence, evidence=tuple(Evidence(source=s) for s in evidence or ())
    )
    facts = build_facts(spec, tool, arguments, agent=agent, justification=justification)
    verdict = classify(policy, facts)
    typer.echo(verdict.model_dump_json(indent=2))
    if spec is None and tool.startswith(_upstream_prefixes()):
        typer.echo(
            f"note: {tool!r} is an upstream tool: its exposure and subject are not worked out here; "
            "`countersign upstream list` shows the verdict each upstream tool gets now",
            err=True,
        )
    elif spec is None:
        typer.echo(
            f"note: {tool!r} is not a registered tool, so its exposure, customer and category are unknown", err=True
        )
    typer.echo(_in_words(verdict), err=True)


def _parse_args(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"--args is not valid JSON: {exc}")
    if not isinstance(value, dict):
        fail(f"--args must be a JSON object, not {type(value).__name__}")
    return value


def _in_words(verdict: Verdict) -> str:
    line = f"{verdict.action.upper()} (risk {verdict.risk}"
    if verdict.action == "hold":
        owner = f", owner {verdict.owner}" if verdict.owner else ""
        approvals = "1 approval" if verdict.required_approvals == 1 else f"{verdict.required_approvals} approvals"
        line += f"; queue {verdict.queue}{owner}; {approvals}; priority {verdict.priority:g}"
    line += ")"
    if verdict.category:
        line += f" [{verdict.category}]"
    return f"{line}: {verdict.reason}"


def _add_replay(target: typer.Typer) -> None:
    """`policy replay` lives with the admin insights, in server/cli/replay.py."""
    from server.cli.replay import replay

    target.command()(replay)


_add_replay(app)
