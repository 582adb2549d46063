"""The admin-facing side of the gateway: tool overrides and the kill switch, audit notes, upkeep.

Nothing here decides a call (that is the review service's) or submits one (the agent side's).
"""

from __future__ import annotations

from typing import Any

from server.lifecycle import decisions
from server.lifecycle.execution import Executor
from server.lifecycle.states import CallStatus
from server.lifecycle.waiting import ChangeBus
from server.overrides import Overrides
from server.store import audit
from server.store.db import Store


class AdminDesk:
    def __init__(self, *, store: Store, overrides: Overrides, executor: Executor, bus: ChangeBus) -> None:
        self.store = store
        self.overrides = overrides
        self.executor = executor
        self.bus = bus

    def sweep(self) -> None:
        """Expire overdue calls, recover dead executions, run approvals nobody picked up.

        Approved act calls wait while the kill switch is on (the executor will not claim them) and
        run on the first sweep after it is turned off.
        """
        for call_id in decisions.expire_due(self.store):
            self.bus.publish(call_id, CallStatus.EXPIRED)
        for call in self.executor.recover():
            self.bus.publish(call.id, call.status)
        for call_id in self.executor.pending_approved():
            executed = self.executor.execute(call_id)
            if executed is not None:
                self.bus.publish(call_id, executed.status)

    def audit_note(self, *, event_type: str, actor: str, actor_kind: str, reason: str, data: dict[str, Any]) -> None:
        """An audited event that is not a call transition (admin changes, sign-ins...)."""
        with self.store.write() as session:
            audit.append(
                session,
                at=self.store.now(),
                event_type=event_type,
                actor=actor,
                actor_kind=actor_kind,
                reason=reason,
                data=data,
            )
