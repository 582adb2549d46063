"""Who acts on a call. Agents submit; people decide; the system sweeps and executes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["reviewer", "admin", "auditor"]


@dataclass(frozen=True)
class Person:
    """A reviewer, admin or auditor. ``queues`` None means every queue (admins always see every queue).

    An auditor reads the queues, packets and audit trail of their queues (None: all) and never decides
    or changes anything.
    """

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

    @property
    def may_decide(self) -> bool:
        """Whether this person may approve, reject or edit calls at all (auditors only read)."""
        return self.role != "auditor"

    @property
    def may_read_audit(self) -> bool:
        """Whether this person may read the audit trail and the admin pages (read-only for auditors)."""
        return self.role in ("admin", "auditor")


SYSTEM = "countersign"
