"""`countersign user|agent|token ...`: people, agents and their credentials.

Secrets are printed once, alone on the last line of output, and stored only as hashes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated

import typer

from server.agent_profiles import AgentProfiles, ProfileError, check_inline_wait
from server.config import Settings
from server.people import People, PeopleError
from server.store.schema import open_ready

user_app = typer.Typer(no_args_is_help=True)
agent_app = typer.Typer(no_args_is_help=True)
token_app = typer.Typer(no_args_is_help=True)


class RoleChoice(StrEnum):
    reviewer = "reviewer"
    admin = "admin"
    auditor = "auditor"


@contextmanager
def _people() -> Iterator[People]:
    """People on the configured database, closed again when the command is done."""
    store = open_ready(Settings().database_url)  # sets up an empty database, never upgrades one
    try:
        yield People(store)
    finally:
        store.close()


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Sign-in name, e.g. ana or ana@example.com.")],
    role: Annotated[
        RoleChoice,
        typer.Option(help="reviewer decides calls in their queues; admin does everything; auditor only reads."),
    ],
    queue: Annotated[
        list[str] | None, typer.Option("--queue", help="A queue this reviewer decides (repeat; none: every queue).")
    ] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Add a reviewer, admin or auditor who signs in with a password."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():  # a script or a service: nobody can answer a hidden prompt
        raise _fail(PeopleError("no terminal to type the password at; pipe it in with --password-stdin"))
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with _people() as people:
            user = people.create_user(name, role.value, password=password, queues=queue)
    except PeopleError as exc:
        raise _fail(exc) from exc
    queues = ", ".join(user.queues) if user.queues else "every queue"
    typer.echo(f"added {user.role} {user.name} ({queues})")


@user_app.command("list")
def user_list() -> None:
    """Every person: role, queues, how they sign in, and whether they are disabled."""
    with _people() as people:
        users = people.list_users()
    if not users:
        typer.echo("no users")
        return
    for user in users:
        queues = ",".join(user.queues) if user.queues else "*"
        how = "sso" if user.sso_subject else "password" if user.password_hash else "none"
        flags = [
            *(["disabled"] if user.disabled else []),
            *(["must-change-password"] if user.must_change_password else []),
        ]
        typer.echo(f"{user.name}\t{user.role}\tqueues={queues}\tsign-in={how}" + "".join(f"\t{f}" for f in flags))


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="The person.")]) -> None:
    """Disable a person: their sessions and API tokens stop working at their next request. Audited."""
    try:
        with _people() as people:
            people.set_disabled(name, True)
    except PeopleError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{name}: disabled")


@user_app.command("enable")
def user_enable(name: Annotated[str, typer.Argument(help="The person.")]) -> None:
    """Enable a disabled person again. Audited."""
    try:
        with _people() as people:
            people.set_disabled(name, False)
    except PeopleError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{name}: enabled")


@user_app.command("set-role")
def user_set_role(
    name: Annotated[str, typer.Argument(help="The person.")],
    role: Annotated[RoleChoice, typer.Argument(help="reviewer, admin or auditor.")],
    queue: Annotated[
        list[str] | None, typer.Option("--queue", help="A queue they review (repeat; none: every queue).")
    ] = None,
) -> None:
    """Change a person's role and queues (at their next request; SSO people get the mapping's back then)."""
    try:
        with _people() as people:
            user = people.set_role(name, role.value, queues=queue)
    except PeopleError as exc:
        raise _fail(exc) from exc
    queues = ", ".join(user.queues) if user.queues else "every queue"
    typer.echo(f"{user.name}: {user.role} ({queues})")


@user_app.command("reset-password")
def user_reset_password(
    name: Annotated[str, typer.Argument(help="The person.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the one-time password from stdin (else one is made).")
    ] = False,
) -> None:
    """Set a one-time password, changed at the person's next sign-in. A made one is printed once, last."""
    given = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    try:
        with _people() as people:
            password = people.reset_password(name, password=given)
    except PeopleError as exc:
        raise _fail(exc) from exc
    if given is not None:
        typer.echo(f"{name}: one-time password set; it must be changed at the next sign-in")
        return
    typer.echo(f"{name}: one-time password (shown once; it must be changed at the next sign-in):")
    typer.echo(password)


@user_app.command("set-email")
def user_set_email(
    name: Annotated[str, typer.Argument(help="The person.")],
    email: Annotated[
        str, typer.Argument(help="Their address; a Slack user with this verified address decides as them.")
    ],
    digest: Annotated[
        str | None,
        typer.Option(help="daily: one mail a day listing their queues' held calls, instead of one per event; off."),
    ] = None,
) -> None:
    """Record a person's e-mail address (links their Slack account); audited."""
    if digest is not None and digest not in ("daily", "off"):
        raise _fail(PeopleError(f"--digest {digest[:20]!r}: use daily or off"))
    try:
        with _people() as people:
            people.set_email(name, email, actor="cli")
            if digest is not None:
                people.set_digest(name, digest, actor="cli")
    except PeopleError as exc:
        raise _fail(exc) from exc
    typer.echo(f"{name}: e-mail address set" + (f", digest {digest}" if digest is not None else ""))


@agent_app.command("add")
def agent_add(
    name: Annotated[str, typer.Argument(help="The agent's name, recorded on every call it makes.")],
    label: Annotated[str, typer.Option(help="A note on where this token is used.")] = "",
    for_person: Annotated[
        str | None,
        typer.Option("--for", help="The person this agent works for: recorded on its calls, never their approver."),
    ] = None,
    inline_wait: Annotated[
        float | None,
        typer.Option(
            "--inline-wait",
            help="Seconds a held call waits inline before answering pending_approval (0-55; "
            "below the client's timeout, e.g. 4 for the OpenAI Agents SDK).",
        ),
    ] = None,
) -> None:
    """Create a bearer token for an agent to call /mcp. Printed once, on the last line."""
    try:
        if inline_wait is not None:
            check_inline_wait(inline_wait)
        with _people() as people:
            token = people.create_agent_token(name, label=label, for_person=for_person)
            if inline_wait is not None:
                AgentProfiles(people.store).set_inline_wait(name, inline_wait)
    except (PeopleError, ProfileError) as exc:
        raise _fail(exc) from exc
    if inline_wait is not None:
        typer.echo(f"agent {name}: held calls wait {inline_wait:g} s inline, then answer pending_approval")
    if for_person is not None:
        typer.echo(f"agent {name} works for {for_person}, who can never approve its calls")
    typer.echo(f"agent {name}: send this as 'Authorization: Bearer <token>' to /mcp (shown once):")
    typer.echo(token)


@agent_app.command("set-inline-wait")
def agent_set_inline_wait(
    name: Annotated[str, typer.Argument(help="The agent.")],
    seconds: Annotated[
        str, typer.Argument(help="Seconds (0-55) a held call waits inline; 'default' for the server's setting.")
    ],
) -> None:
    """Change how long an agent's held calls wait inline (a call's _meta countersign/inline_wait still wins)."""
    try:
        value = None if seconds == "default" else check_inline_wait(_seconds(seconds))
        with _people() as people:
            AgentProfiles(people.store).set_inline_wait(name, value)
    except ProfileError as exc:
        raise _fail(exc) from exc
    shown = "the server's default" if value is None else f"{value:g} s"
    typer.echo(f"agent {name}: held calls wait {shown} inline")


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ProfileError(f"{text!r} is not a number of seconds (or 'default')") from None


@agent_app.command("revoke")
def agent_revoke(name: Annotated[str, typer.Argument(help="The agent whose tokens stop working.")]) -> None:
    """Revoke every token of an agent (running servers refuse it from its next request)."""
    with _people() as people:
        count = people.revoke_tokens(name, kind="agent")
    typer.echo(f"revoked {count} token(s) of agent {name}")


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", help="The person the token acts as.")],
    label: Annotated[str, typer.Option(help="A note on where this token is used.")] = "",
) -> None:
    """Create an API token acting as a person (JSON API). Printed once, on the last line."""
    try:
        with _people() as people:
            token = people.create_person_token(user, label=label)
    except PeopleError as exc:
        raise _fail(exc) from exc
    typer.echo(f"API token for {user}: send it as 'Authorization: Bearer <token>' to /api (shown once):")
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    user: Annotated[str, typer.Option("--user", help="The person whose API tokens stop working.")],
) -> None:
    """Revoke every API token of a person."""
    with _people() as people:
        if people.get_user(user) is None:  # a typo must not read as "nothing left to revoke"
            raise _fail(PeopleError(f"there is no user named {user!r}"))
        count = people.revoke_tokens(user, kind="person")
    typer.echo(f"revoked {count} token(s) of {user}")
