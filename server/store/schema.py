"""Where a database's schema stands, and bringing it to this version's: ``countersign migrate`` and ``serve``.

Upgrades run one at a time across every process sharing the database (see :func:`server.store.db.migrate`:
a transaction-scoped ``pg_advisory_xact_lock`` on PostgreSQL, the write lock of ``BEGIN IMMEDIATE`` on
SQLite), so two instances starting or migrating at once never both apply a revision: the second waits,
then finds nothing left to do.

``serve`` sets up an empty database (a first start) but refuses a schema older than this version's unless
asked to upgrade it (``--migrate``): upgrading a shared database is a deliberate step of a deployment.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Engine

from server.store.db import MIGRATIONS, Store, StoreNotReady, StoreUnavailable, migrate
from server.store.engine import make_engine


@cache
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str | None:
    """The newest revision this version ships (the files do not change while we run)."""
    return _scripts().get_current_head()


def known(revision: str) -> bool:
    """Whether this version ships ``revision`` (a database upgraded by a newer version has one it does not)."""
    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None for a database never set up.

    Raises:
        StoreUnavailable: the database cannot be reached.
    """
    try:
        with engine.connect().execution_options(countersign_readonly=True) as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(f"database unavailable: {exc.orig}") from exc


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to this version's under the migration lock; (revision before, revision after).

    "Before" is read under the lock: of two racing migrators, the second sees what the first left.
    """
    before = migrate(engine)
    return before, current_revision(engine)


def ready_to_serve(engine: Engine, *, upgrade_allowed: bool) -> None:
    """Set up an empty database; upgrade an older schema only when allowed, else refuse in one line.

    Raises:
        StoreNotReady: the schema is older (or newer) than this version's and upgrading was not asked for.
        StoreUnavailable: the database cannot be reached.
    """
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is not None and not known(current):
        raise StoreNotReady(
            f"the database schema is at revision {current}, which this version does not know "
            "(a newer Countersign upgraded it): run that version, or restore the database"
        )
    if current is None or upgrade_allowed:
        migrate(engine)
        return
    raise StoreNotReady(
        f"the database schema is at revision {current}, this version needs {head}: "
        "run `countersign migrate` first (or start with `countersign serve --migrate`)"
    )


def open_ready(url: str, *, upgrade_allowed: bool = False) -> Store:
    """The store, once its schema is this version's: what ``serve`` and the CLI's writing commands open.

    An empty database is set up (a first start, or ``countersign user add`` before it); an older schema
    is refused with what to run, unless ``upgrade_allowed``: a command never upgrades a shared database
    on the side.

    Raises:
        StoreNotReady, StoreUnavailable: see :func:`ready_to_serve`.
    """
    engine = make_engine(url)
    try:
        ready_to_serve(engine, upgrade_allowed=upgrade_allowed)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
