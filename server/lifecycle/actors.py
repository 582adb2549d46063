"""Who acts on a call. Agents submit; people decide; the system sweeps and executes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["reviewer", "admin"]


@dataclass(frozen=True)
class Person:
    """A reviewer or admin. ``queues`` None means every queue (admins always see every queue)."""

    name: str
    role: Role
    queues: frozenset[str] | None = None

    def may_review(self, queue: str) -> bool:
        scope = self.review_scope
        return scope is None or queue in scope

    @property
    def review_scope(self) -> frozenset[str] | None:
        """The queues this person reviews, or None for every queue."""
        return None if self.role == "admin" else self.queues

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


SYSTEM = "countersign"
