"""A hypothesis state machine: random lifecycle steps (submit, approve, edit, expire, crash...) keep the invariants."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from server.canonical import arguments_hash
from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.errors import LifecycleError
from server.lifecycle.execution import Executor
from server.lifecycle.states import TERMINAL, CallStatus
from server.policy.types import Action, Risk, Verdict
from server.store import audit
from server.store.db import Store
from server.store.models import Decision, ToolCall
from tests.core import ledger
from tests.core.conftest import Clock, hold

PEOPLE = [Person("ann", "reviewer"), Person("ben", "reviewer"), Person("cat", "admin")]


class LifecycleMachine(RuleBasedStateMachine):
    calls = Bundle("calls")

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.clock = Clock()
        self.store = Store.open(f"sqlite:///{Path(self.dir.name) / 'm.db'}", clock=self.clock)
        ledger.create(self.store.engine)
        self.executor = Executor(self.store, ledger.runner(self.store.engine), lambda t: t == ledger.IDEMPOTENT)
        self.seen_terminal: dict[str, str] = {}

    def teardown(self) -> None:
        self.store.close()
        self.dir.cleanup()

    @rule(target=calls, required=st.integers(1, 2), idempotent=st.booleans(), amount=st.integers(1, 500))
    def submit(self, required: int, idempotent: bool, amount: int) -> str:
        tool = ledger.IDEMPOTENT if idempotent else ledger.PLAIN
        call = hold(
            self.store,
            tool=tool,
            arguments={"amount": float(amount), "ref": f"r{amount}"},
            required=required,
            on_behalf_of="ann",
            expires=600,
        )
        return call.id

    @rule(call_id=calls, who=st.sampled_from(PEOPLE))
    def approve(self, call_id: str, who: Person) -> None:
        with contextlib.suppress(LifecycleError):
            decisions.approve(self.store, call_id, who)

    @rule(call_id=calls, who=st.sampled_from(PEOPLE), amount=st.integers(1, 500), block=st.booleans())
    def edit_and_approve(self, call_id: str, who: Person, amount: int, block: bool) -> None:
        def reclassify(call: ToolCall, args: dict[str, Any]) -> tuple[Verdict, str]:
            verdict = Verdict(action=Action.BLOCK if block else Action.HOLD, risk=Risk.HIGH, reasons=("edit",))
            return verdict, f"edited to {args['amount']}"

        with contextlib.suppress(LifecycleError):
            decisions.approve(
                self.store,
                call_id,
                who,
                edited_arguments={"amount": float(amount), "ref": f"e{amount}"},
                reclassify=reclassify,
            )

    @rule(call_id=calls, who=st.sampled_from(PEOPLE))
    def reject(self, call_id: str, who: Person) -> None:
        with contextlib.suppress(LifecycleError):
            decisions.reject(self.store, call_id, who, reason="no")

    @rule(minutes=st.integers(1, 15))
    def time_passes_and_sweep(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        decisions.expire_due(self.store)

    @rule(call_id=calls)
    def execute(self, call_id: str) -> None:
        self.executor.execute(call_id)

    @rule(call_id=calls)
    def crash_after_claim(self, call_id: str) -> None:
        self.executor.claim(call_id)  # the executor "dies": nobody finishes this claim

    @rule()
    def recover_after_lease(self) -> None:
        self.clock.advance(minutes=10)
        self.executor.recover()

    @invariant()
    def terminal_states_never_change(self) -> None:
        with self.store.read() as session:
            for row in session.exec(ToolCall.__table__.select()).all():  # type: ignore[attr-defined]
                if row.status in TERMINAL:
                    assert self.seen_terminal.setdefault(row.id, row.status) == row.status

    @invariant()
    def only_quorum_approved_calls_have_effects(self) -> None:
        with self.store.read() as session:
            rows = session.exec(ToolCall.__table__.select()).all()  # type: ignore[attr-defined]
            for row in rows:
                executed = row.status in {
                    CallStatus.EXECUTING,
                    CallStatus.SUCCEEDED,
                    CallStatus.FAILED,
                    CallStatus.UNKNOWN_OUTCOME,
                }
                approvers = {
                    d.actor
                    for d in session.exec(Decision.__table__.select().where(Decision.call_id == row.id)).all()  # type: ignore[attr-defined]
                    if d.kind == "approve" and d.args_hash == row.args_hash
                }
                if executed:
                    assert len(approvers) >= row.required_approvals
                    assert "ann" not in approvers  # the requester never approves their own call
                    if row.arguments != row.proposed_arguments:  # an editor never approves their edit alone
                        assert len(approvers) >= 2
                    assert arguments_hash(json.loads(row.arguments)) == row.args_hash
                effects = ledger.effects(
                    self.store.engine, row.idempotency_key if row.tool == ledger.IDEMPOTENT else None
                )
                if row.tool == ledger.IDEMPOTENT:
                    assert effects <= 1
                    if row.status == CallStatus.SUCCEEDED:
                        assert effects == 1
                if not executed and row.tool == ledger.IDEMPOTENT:
                    assert effects == 0

    @invariant()
    def audit_chain_verifies(self) -> None:
        with self.store.read() as session:
            assert audit.verify(session).ok


TestLifecycle = LifecycleMachine.TestCase
TestLifecycle.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
