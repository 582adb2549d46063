"""`countersign policy replay`: what a candidate policy would have done to the stored history.

Registered on the `policy` command group by server/cli/policy.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress

from server.cli.errors import fail
from server.cli.policy import _load_or_exit
from server.cli.tool import tool_registry
from server.config import Settings
from server.policy import PolicyError
from server.policy.types import Action
from server.replay import ReplayReport, stored_overrides, what_if
from server.replay import replay as run_replay
from server.replay_candidates import CandidateError, load_candidate
from server.store.db import Store


def replay(
    policies: Annotated[
        str | None,
        typer.Option(
            help="Candidate policy directory, inside COUNTERSIGN_POLICY_REPLAY_ROOT "
            "(default root: policy-candidates/ next to the live policies). Default: the live policy."
        ),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Database URL (default: COUNTERSIGN_DATABASE_URL).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Only calls made on or after this ISO date/time (UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Only calls made before this ISO date/time (UTC).")] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="What-if: RULE=allow|hold|block; repeat for more.")
    ] = None,
    tool: Annotated[
        list[str] | None, typer.Option("--tool", help="What-if: a tool's default, TOOL=allow|hold|block.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Classify the stored history with a candidate policy and summarise what would change."""
    settings = Settings()
    changes = {"rule_actions": _pairs(rule, "--rule"), "tool_actions": _pairs(tool, "--tool")}
    try:
        if policies is None:
            candidate = what_if(_load_or_exit(settings.policies), **changes)
        else:
            candidate = load_candidate(settings.replay_root, policies, **changes)
    except CandidateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    except KeyError as exc:
        fail(str(exc.args[0]))
    except PolicyError as exc:
        for problem in exc.problems:
            typer.echo(str(problem))
        typer.echo(f"the candidate policy does not load: {len(exc.problems)} problem(s)", err=True)
        raise typer.Exit(1) from exc
    window = (_utc(since, "--since"), _utc(until, "--until"))
    store = Store.open_existing(database_url or settings.database_url)
    try:
        # Transient and on stderr: the summary on stdout stays clean for scripts.
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("replaying calls", total=None)
            report = run_replay(
                store,
                candidate,
                tool_registry(),
                overrides=stored_overrides(store),
                since=window[0],
                until=window[1],
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    finally:
        store.close()
    typer.echo(json.dumps(report.as_dict(), indent=2) if as_json else summary(report))


def summary(report: ReplayReport) -> str:
    """The replay in a few lines: totals, then one line per change with what people had decided."""
    lines = [f"candidate policy {report.candidate_version}"]
    totals = f"{report.replayed} calls replayed: {report.unchanged} unchanged, {report.changed} changed"
    if report.rerouted:
        totals += f", {report.rerouted} still held but in another queue"
    if report.skipped:
        totals += f" ({report.skipped} skipped: invalid arguments never reach the policy)"
    lines.append(totals)
    for group in report.groups():
        decided = ", ".join(f"{n} {outcome}" for outcome, n in sorted(group.outcomes.items(), key=lambda i: -i[1]))
        lines.append(f"  {group.before} -> {group.after}: {group.count} calls (then: {decided})")
    return "\n".join(lines)


def _pairs(values: list[str] | None, option: str) -> dict[str, Action]:
    pairs: dict[str, Action] = {}
    for value in values or ():
        name, _, action = value.partition("=")
        try:
            pairs[name.strip()] = Action(action.strip().lower())
        except ValueError:
            fail(f"{option} takes NAME=allow|hold|block, not {value!r}")
    return pairs


def _utc(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not an ISO date or date-time")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
