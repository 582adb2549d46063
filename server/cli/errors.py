"""One line on stderr and exit code 1, never a traceback, for the operator's own mistakes.

A wrong ``COUNTERSIGN_DATABASE_URL``, a database never set up, a setting that does not parse, a policy
that does not load, or a command line Typer refuses (an unknown option, a bad choice, a number out of
range) are things to fix, not bugs to report: every command says which in one line.
Anything else is a bug: still one line, with the traceback behind ``COUNTERSIGN_DEBUG=1``.

``run(app)`` wraps any Typer app (the ``countersign`` entry point uses it for every command group).
"""

from __future__ import annotations

import os
import re
import sys
from typing import NoReturn

import sqlalchemy as sa
import typer
from alembic.util.exc import CommandError
from pydantic import ValidationError
from pydantic_settings import SettingsError

# Typer ships its own copy of Click; its command-line errors are these classes, not the click package's.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from server.plugins import PluginError
from server.policy import PolicyError
from server.sso import SsoConfigError
from server.store.db import StoreNotReady, StoreUnavailable

EXIT_OPERATOR_ERROR = 1


def run(app: typer.Typer) -> None:
    """Run ``app`` (which parses ``sys.argv``); turn an escaping exception into one line and exit 1.

    A command line that does not parse is one line too (Typer's own rendering is a boxed panel of
    several lines), exiting 2 as Click does.
    """
    try:
        # Not standalone: Click's errors reach us instead of being drawn; an Exit's code comes back.
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        sys.exit(exc.exit_code)  # the help is already printed: not a mistake to describe
    except ClickException as exc:
        typer.echo(f"error: {_usage_problem(exc)}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("error: aborted (interrupted, or no answer at a prompt)", err=True)
        sys.exit(EXIT_OPERATOR_ERROR)
    except Exception as exc:
        if os.environ.get("COUNTERSIGN_DEBUG") == "1":
            raise
        typer.echo(f"error: {describe(exc)}", err=True)
        sys.exit(EXIT_OPERATOR_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


def fail(message: str, code: int = 2) -> NoReturn:
    """Stop a command on the operator's mistake it found itself: ``error: <message>`` on stderr, exit ``code``."""
    typer.echo(f"error: {_one_line(message)}", err=True)
    raise typer.Exit(code)


def describe(exc: BaseException) -> str:
    """What went wrong and what to do, as one line."""
    return _one_line(_describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, StoreNotReady | StoreUnavailable):
        return str(exc)
    if isinstance(exc, sa.exc.ArgumentError):
        return f"the database URL (COUNTERSIGN_DATABASE_URL or --database-url) is not usable: {exc}"
    if isinstance(exc, sa.exc.DBAPIError):
        return f"cannot use the database: {exc.orig}"
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return f"database error: {exc}"
    if isinstance(exc, CommandError):
        return f"the database schema cannot be upgraded: {exc}"
    if isinstance(exc, ValidationError):
        return _settings_problem(exc)
    if isinstance(exc, SettingsError):
        return _unparsed_setting(exc)
    if isinstance(exc, PluginError):
        return f"your tools (COUNTERSIGN_TOOLS or a countersign.tools entry point) do not load: {exc}"
    if isinstance(exc, SsoConfigError):
        return f"the single sign-on mapping (COUNTERSIGN_OIDC_MAPPING) does not load: {exc}"
    if isinstance(exc, PolicyError):
        first = exc.problems[0] if exc.problems else "invalid policy"
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return f"the policy does not load: {first}{more}; `countersign policy check` lists every problem"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return f"unexpected {type(exc).__name__}: {exc} (COUNTERSIGN_DEBUG=1 shows the traceback)"


def _usage_problem(exc: ClickException) -> str:
    ctx = exc.ctx if isinstance(exc, UsageError) else None
    hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
    return _one_line(exc.format_message().replace("Value error, ", "")) + hint


# pydantic-settings' message for a list setting whose value is not JSON names the field, not the variable.
_UNPARSED_FIELD = re.compile(r'error parsing value for field "(\w+)"')


def _unparsed_setting(exc: SettingsError) -> str:
    found = _UNPARSED_FIELD.search(str(exc))
    if found is None:
        return f"settings: {exc}"
    return f'setting COUNTERSIGN_{found.group(1).upper()}: not a JSON list; write it as ["first", "second"]'


def _settings_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    location = ".".join(str(part) for part in error.get("loc", ()))
    setting = f"COUNTERSIGN_{location.upper()}: " if location else ""
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"setting {setting}{message}{more}" if setting else f"settings: {message}{more}"


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "failed"
