"""Execution leases: short, renewed by a heartbeat while the tool runs, tagged with the instance.

A claim (``Executor.claim``, or an allowed act call recorded before it runs) holds the call for
``lease`` seconds. While the tool runs, a heartbeat thread pushes ``lease_until`` forward every
``heartbeat`` seconds, so a long tool keeps its claim and a dead process loses it within one lease.
Another instance takes an expired lease over after ``grace`` more seconds (clock skew between hosts).

Every claim token ends with a tag of the instance that took it (``<random>.<tag>``). An instance
that restarts under the same ``instance_id`` finds claims with its own tag that no live thread of
it holds: they belong to its dead predecessor and are reclaimed at once, without waiting the lease.
So ``instance_id`` must be unique among live processes sharing a database; ``serve`` names itself
after its host and port (server/cli/serve.py), anything else gets a random name per process (only the
lease then frees a dead process's claims).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col

from server.lifecycle.states import CallStatus
from server.store.db import Store, StoreUnavailable
from server.store.models import ToolCall

logger = logging.getLogger(__name__)

TAG_LENGTH = 12  # claim_token holds 40 characters: 24 random hex, a dot, the tag


def instance_tag(instance_id: str) -> str:
    return hashlib.sha256(instance_id.encode()).hexdigest()[:TAG_LENGTH]


@dataclass(frozen=True)
class Leases:
    """How executions hold their calls (settings ``execution_lease_seconds`` and friends)."""

    lease: timedelta = timedelta(seconds=15)
    heartbeat: float = 5.0
    grace: timedelta = timedelta(seconds=5)
    instance_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def tag(self) -> str:
        return instance_tag(self.instance_id)

    def new_token(self) -> str:
        return f"{uuid.uuid4().hex[:24]}.{self.tag}"


class _Held:
    """Claims the threads of this process are running now (process-wide: several gateways may share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}  # token -> call id

    def add(self, token: str, call_id: str) -> None:
        with self._lock:
            self._tokens[token] = call_id

    def remove(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    def tokens(self) -> set[str]:
        with self._lock:
            return set(self._tokens)

    def items(self) -> list[tuple[str, str]]:
        with self._lock:
            return list(self._tokens.items())


HELD = _Held()


class Heartbeat:
    """Renews the leases this process holds, on a thread that runs only while it holds any."""

    def __init__(self, store: Store, leases: Leases) -> None:
        self.store = store
        self.leases = leases
        self._mine: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None

    def hold(self, call_id: str, token: str) -> None:
        """Count the claim as this process's (call before it is committed) and renew it until released."""
        HELD.add(token, call_id)
        with self._lock:
            self._mine.add(token)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="countersign-lease", daemon=True)
                self._thread.start()

    def release(self, token: str) -> None:
        with self._lock:
            self._mine.discard(token)
            self._wake.notify_all()
        HELD.remove(token)

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._mine or self.store.closed:
                    self._thread = None
                    return
                self._wake.wait(timeout=self.leases.heartbeat)
                tokens = list(self._mine)
            if tokens and not self.store.closed:  # a closed store's process is done with the database
                self.renew(tokens)

    def renew(self, tokens: list[str]) -> None:
        """Push the leases of ``tokens`` one lease ahead. A failed renewal is logged; the next one may succeed."""
        until = self.store.now() + self.leases.lease
        try:
            with self.store.write() as session:
                session.execute(
                    sa.update(ToolCall)
                    .where(
                        col(ToolCall.claim_token).in_(tokens),
                        col(ToolCall.status) == CallStatus.EXECUTING.value,
                    )
                    .values(lease_until=until)
                )
        except StoreUnavailable:
            logger.warning(
                "could not renew %d execution leases; retrying in %.0f s", len(tokens), self.leases.heartbeat
            )
        except Exception:  # top of a thread: any failure is logged, and the next beat tries again
            logger.exception("execution lease renewal failed")
