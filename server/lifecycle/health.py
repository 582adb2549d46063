"""Can writes commit now? For ``/healthz`` and the readiness probe (web/, owned by the operations work).

``SELECT 1`` answers while every write waits out a lock (an external writer on SQLite, a stuck
transaction on PostgreSQL) and fails after 30 s. This check takes the write lock the way every
call's write does (``Store.write``: ``BEGIN IMMEDIATE`` on SQLite) and commits an empty write, within
a short deadline; a write still waiting at the deadline means unhealthy. The waiting write goes on
in its daemon thread until the database's own timeout ends it; one check runs at a time, so a
stuck database never piles threads up.
"""

from __future__ import annotations

import logging
import threading

import sqlalchemy as sa

from server.store.db import Store

logger = logging.getLogger(__name__)

DEFAULT_DEADLINE_SECONDS = 2.0
_running = threading.Lock()


def writes_commit(store: Store, deadline: float = DEFAULT_DEADLINE_SECONDS) -> bool:
    """True when a write transaction commits within ``deadline`` seconds."""
    if not _running.acquire(blocking=False):
        return False  # the previous check is still waiting for the write lock
    done = threading.Event()
    ok: list[bool] = []

    def attempt() -> None:
        try:
            with store.write() as session:
                session.execute(sa.text("UPDATE audit_head SET id = id WHERE 1 = 0"))  # takes the lock, changes nothing
            ok.append(True)
        except Exception:  # top of a thread: any failure means "cannot write", and is logged
            logger.warning("the write check failed", exc_info=True)
        finally:
            done.set()
            _running.release()

    threading.Thread(target=attempt, name="countersign-write-check", daemon=True).start()
    return done.wait(deadline) and bool(ok)
