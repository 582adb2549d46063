"""The live policy of a running gateway: reloaded when its files change, never replaced by a broken one."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from server.policy.compiled import Policy
from server.policy.loader import SUFFIXES, load_policy
from server.policy.problems import PolicyError

logger = logging.getLogger(__name__)

# What we compare to notice an edit: each file's name, mtime (ns) and size. None: no directory.
Signature = tuple[tuple[str, int, int], ...] | None


class PolicyHolder:
    """Holds the last good policy of a directory. Thread-safe.

    ``current()`` stats the directory at most every ``check_interval`` seconds and reloads when a
    file's name, mtime or size changed. A reload that fails keeps the last good policy and records
    the error in ``last_error``; when there never was a good policy, ``current()`` returns None, and
    classify() blocks every call.

    Attributes:
        last_error: the problems of the latest load if it failed; None once a load succeeds.
        loaded_at: when the current policy was loaded (UTC); None if none ever was.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = Path(directory)
        self.check_interval = check_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._policy: Policy | None = None
        self._signature: Signature = None
        self._checked_at: float | None = None
        self.last_error: PolicyError | None = None
        self.loaded_at: datetime | None = None
        self.refresh(force=True)

    def current(self) -> Policy | None:
        """The policy to classify with now; reloads first if a check is due and the files changed."""
        checked_at = self._checked_at
        if checked_at is not None and self._clock() - checked_at < self.check_interval:
            return self._policy  # the hot path: no lock, no stat
        return self.refresh()

    def refresh(self, *, force: bool = False) -> Policy | None:
        """Check the files now (reload even if unchanged when ``force``) and return the current policy."""
        with self._lock:
            self._checked_at = self._clock()
            signature = self._stat()
            if force or signature != self._signature:
                self._load(signature)
            return self._policy

    def _load(self, signature: Signature) -> None:
        # Remember the signature even on failure: a broken file is reported once, not every second.
        self._signature = signature
        try:
            policy = load_policy(self.directory)
        except PolicyError as exc:
            self.last_error = exc
            kept = f"keeping version {self._policy.version[:12]}" if self._policy else "no policy: blocking every call"
            logger.error("policy in %s is invalid (%s):\n%s", self.directory, kept, exc)
            return
        if self._policy is None or policy.version != self._policy.version:
            logger.info("policy %s loaded from %s", policy.version[:12], self.directory)
        self._policy = policy
        self.last_error = None
        self.loaded_at = datetime.now(UTC)

    def _stat(self) -> Signature:
        try:
            entries = [
                (entry.name, stat.st_mtime_ns, stat.st_size)
                for entry in os.scandir(self.directory)
                if entry.name.endswith(SUFFIXES) and not entry.name.startswith(".")
                for stat in (entry.stat(),)
            ]
        except OSError:
            return None
        return tuple(sorted(entries))
