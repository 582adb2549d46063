"""Admins' tool risk overrides and the act-tool kill switch, stored in the database.

Read on every classification (one indexed lookup), so a change made on one instance governs the
next call on every instance sharing the database, with no restart. Every change is audited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from server.policy.types import Action, Risk, ToolOverride
from server.store import audit
from server.store.db import Store
from server.store.models import Setting, ToolRiskOverride
from tools.contract import ToolRegistry

KILL_SWITCH = "kill_switch"
# One round trip for both lookups: this runs on every call, allowed ones included.
_LOOKUP_SQL = (
    "SELECT 'tool', risk, action, reason, actor FROM tool_risk_override WHERE tool = ?"
    " UNION ALL SELECT 'switch', CAST(value AS TEXT), NULL, NULL, NULL FROM setting WHERE key = ?"
)


class Overrides:
    def __init__(self, store: Store, registry: ToolRegistry, external_act: Callable[[str], bool] | None = None) -> None:
        self.store = store
        self.registry = registry
        # Whether a tool the registry lacks (an upstream MCP tool) acts: the kill switch stops it too.
        self.external_act = external_act or (lambda _tool: False)

    def _acts(self, tool: str) -> bool:
        spec = self.registry.get(tool)
        return spec.category == "act" if spec is not None else self.external_act(tool)

    def for_tool(self, tool: str) -> ToolOverride | None:
        """The override in force for a tool: the kill switch blocks act tools before anything else."""
        rows = {kind: rest for kind, *rest in self.store.fetch_raw(_LOOKUP_SQL, (tool, KILL_SWITCH))}
        row = rows.get("tool")
        switch = json.loads(rows["switch"][0]) if rows.get("switch") and rows["switch"][0] else None
        if switch and switch.get("on") and self._acts(tool):
            spec = self.registry.get(tool)
            risk = Risk(row[0]) if row is not None else Risk(spec.risk) if spec is not None else Risk.HIGH
            reason = f"kill switch: {switch.get('reason', '')}"
            return ToolOverride(tool=tool, risk=risk, action=Action.BLOCK, reason=reason, actor=switch.get("actor", ""))
        if row is None:
            return None
        risk, action, reason, actor = row
        return ToolOverride(tool=tool, risk=Risk(risk), action=Action(action), reason=reason, actor=actor)

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

    def stops(self, tool: str) -> str | None:
        """Why ``tool`` may not run now: the kill switch is on and it is an act tool; None otherwise."""
        if not self._acts(tool):
            return None
        switch = self.kill_switch()
        if not switch.get("on"):
            return None
        return f"the kill switch is on ({switch.get('reason', '')}); act tools do not run until an admin turns it off"

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
