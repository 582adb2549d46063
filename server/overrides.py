"""Admins' tool risk overrides and the act-tool kill switch, stored in the database.

Read on every classification (one indexed lookup), so a change made on one instance governs the
next call on every instance sharing the database, with no restart. Every change is audited.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlmodel import select

from server.policy.types import Action, Risk, ToolOverride
from server.store import audit
from server.store.db import Store
from server.store.models import Setting, ToolRiskOverride
from tools.contract import ToolRegistry

KILL_SWITCH = "kill_switch"
_OVERRIDE_SQL = sa.text("SELECT risk, action, reason, actor FROM tool_risk_override WHERE tool = :tool")
_SWITCH_SQL = sa.text("SELECT value FROM setting WHERE key = :key")


class Overrides:
    def __init__(self, store: Store, registry: ToolRegistry) -> None:
        self.store = store
        self.registry = registry

    def for_tool(self, tool: str) -> ToolOverride | None:
        """The override in force for a tool: the kill switch blocks act tools before anything else."""
        # Plain SQL in one read transaction: this runs on every call, including allowed ones.
        with self.store.read() as session:
            row = session.execute(_OVERRIDE_SQL, {"tool": tool}).first()
            raw = session.execute(_SWITCH_SQL, {"key": KILL_SWITCH}).scalar()
        switch = json.loads(raw) if isinstance(raw, str) else raw
        spec = self.registry.get(tool)
        if switch and switch.get("on") and spec is not None and spec.category == "act":
            risk = Risk(row.risk) if row is not None else Risk(spec.risk)
            reason = f"kill switch: {switch.get('reason', '')}"
            return ToolOverride(tool=tool, risk=risk, action=Action.BLOCK, reason=reason, actor=switch.get("actor", ""))
        if row is None:
            return None
        return ToolOverride(
            tool=tool, risk=Risk(row.risk), action=Action(row.action), reason=row.reason, actor=row.actor
        )

    def all(self) -> dict[str, ToolRiskOverride]:
        with self.store.read() as session:
            return {row.tool: row for row in session.exec(select(ToolRiskOverride)).all()}

    def set(
        self, tool: str, *, risk: Risk, action: Action, reason: str, actor: str, actor_kind: str = "person"
    ) -> None:
        """Set (or replace) a tool's override; a reason is required and the change is audited."""
        if not reason.strip():
            raise ValueError("a reason is required to change a tool's risk level")
        now = self.store.now()
        with self.store.write() as session:
            row = session.get(ToolRiskOverride, tool, with_for_update=True)
            before = {"risk": row.risk, "action": row.action} if row is not None else None
            if row is None:
                row = ToolRiskOverride(
                    tool=tool, risk=risk.value, action=action.value, reason=reason, actor=actor, updated_at=now
                )
            else:
                row.risk, row.action, row.reason, row.actor, row.updated_at = (
                    risk.value,
                    action.value,
                    reason,
                    actor,
                    now,
                )
            session.add(row)
            audit.append(
                session,
                at=now,
                event_type="tool_override_set",
                actor=actor,
                actor_kind=actor_kind,
                tool=tool,
                reason=reason,
                data={"before": before, "after": {"risk": risk.value, "action": action.value}},
            )

    def clear(self, tool: str, *, reason: str, actor: str, actor_kind: str = "person") -> bool:
        now = self.store.now()
        with self.store.write() as session:
            row = session.get(ToolRiskOverride, tool, with_for_update=True)
            if row is None:
                return False
            before = {"risk": row.risk, "action": row.action}
            session.delete(row)
            audit.append(
                session,
                at=now,
                event_type="tool_override_cleared",
                actor=actor,
                actor_kind=actor_kind,
                tool=tool,
                reason=reason,
                data={"before": before},
            )
        return True

    def kill_switch(self) -> dict[str, Any]:
        with self.store.read() as session:
            row = session.get(Setting, KILL_SWITCH)
        return dict(row.value or {}) if row is not None else {"on": False}

    def set_kill_switch(self, on: bool, *, reason: str, actor: str) -> None:
        """Block every act tool at once (or undo it). Audited."""
        if not reason.strip():
            raise ValueError("a reason is required")
        now = self.store.now()
        with self.store.write() as session:
            row = session.get(Setting, KILL_SWITCH, with_for_update=True) or Setting(key=KILL_SWITCH)
            row.value = {"on": on, "reason": reason, "actor": actor, "at": now.isoformat()}
            row.updated_at = now
            session.add(row)
            audit.append(
                session,
                at=now,
                event_type="kill_switch_on" if on else "kill_switch_off",
                actor=actor,
                actor_kind="person",
                reason=reason,
                data={"on": on},
            )
