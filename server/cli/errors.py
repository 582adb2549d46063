"""One line on stderr and exit code 1, never a traceback, for the operator's own mistakes.

A wrong ``COUNTERSIGN_DATABASE_URL``, a database never set up, a setting that does not parse or a policy
that does not load are things to fix, not bugs to report: every command says which in one line.
Anything else is a bug: still one line, with the traceback behind ``COUNTERSIGN_DEBUG=1``.

``run(app)`` wraps any Typer app (the ``countersign`` entry point uses it for every command group).
"""

from __future__ import annotations

import os
import sys

import sqlalchemy as sa
import typer
from alembic.util.exc import CommandError
from pydantic import ValidationError

from server.policy import PolicyError
from server.store.db import StoreNotReady, StoreUnavailable

EXIT_OPERATOR_ERROR = 1


def run(app: typer.Typer) -> None:
    """Run ``app`` (which parses ``sys.argv``); turn an escaping exception into one line and exit 1."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("COUNTERSIGN_DEBUG") == "1":
            raise
        typer.echo(f"error: {describe(exc)}", err=True)
        sys.exit(EXIT_OPERATOR_ERROR)


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
    if isinstance(exc, PolicyError):
        first = exc.problems[0] if exc.problems else "invalid policy"
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return f"the policy does not load: {first}{more}; `countersign policy check` lists every problem"
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror or exc}"
    return f"unexpected {type(exc).__name__}: {exc} (COUNTERSIGN_DEBUG=1 shows the traceback)"


def _settings_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    location = ".".join(str(part) for part in error.get("loc", ()))
    setting = f"COUNTERSIGN_{location.upper()}: " if location else ""
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"setting {setting}{message}{more}" if setting else f"settings: {message}{more}"


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "failed"
