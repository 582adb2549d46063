"""What a failure may say to an agent or a reviewer, and whether it is worth retrying.

Exceptions from a database carry the statement and its parameters (SQLAlchemy puts them in the
message); none of that may reach an agent, a reviewer or a stored ``error``. The full exception goes
to the log; people and agents get a sentence.
"""

from __future__ import annotations

import sqlalchemy as sa

from server.store.db import StoreUnavailable, UnstorableInput

DATABASE_FAILED = "the tool's database connection failed (details are in the gateway's log)"
MAX_TEXT = 500


def is_transient(exc: BaseException) -> bool:
    """A dropped connection or an unavailable database: trying again later may succeed."""
    if isinstance(exc, StoreUnavailable):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    return False


def public_text(exc: BaseException) -> str:
    """The one line an agent or reviewer may read about ``exc``: never SQL, parameters or a stack."""
    if isinstance(exc, UnstorableInput):
        return exc.message
    if isinstance(exc, sa.exc.SQLAlchemyError | StoreUnavailable):
        return DATABASE_FAILED
    module = type(exc).__module__ or ""
    if module.startswith(("sqlite3", "psycopg", "sqlalchemy")):
        return DATABASE_FAILED
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
