"""Tool risk levels: every tool with its policy default, the admin override and recent calls;
changing a level (reason required, audited), and the act-tool kill switch.

A change is written through :class:`server.overrides.Overrides`, which the gateway reads on every
call, so it governs the next call on every instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from server.audit_query import tool_history
from server.catalog import ToolSpec
from server.gateway import Gateway
from server.insights.activity import ToolActivity, tool_activity
from server.policy.model import ToolEntry
from server.policy.types import Action, Risk
from server.store.models import AuditEvent, ToolRiskOverride
from web.admin.deps import AdminActor, AdminViewer, Pages, render_admin, up_to_date
from web.pages.deps import NotAllowed

router = APIRouter(include_in_schema=False)

RISKS = [r.value for r in Risk]
ACTIONS = [a.value for a in Action]
REASON_LIMIT = 2000


@dataclass(frozen=True)
class ToolRow:
    name: str
    spec: ToolSpec | None
    entry: ToolEntry | None
    override: ToolRiskOverride | None
    activity: ToolActivity
    killed: bool

    @property
    def category(self) -> str:
        return self.spec.category if self.spec is not None else "unknown"

    @property
    def effective_action(self) -> str:
        """What the tool's calls get where no rule matches; matching rules still vote (strictest wins)."""
        if self.killed or self.entry is None:
            return Action.BLOCK.value  # kill switch, or not in the policy (fail closed)
        return self.override.action if self.override is not None else self.entry.action.value

    @property
    def effective_risk(self) -> str:
        if self.override is not None:
            return self.override.risk
        return self.entry.risk.value if self.entry is not None else Risk.CRITICAL.value


def tool_rows(gateway: Gateway) -> list[ToolRow]:
    """Registered tools in catalogue order, then tools only the policy or an override knows."""
    up_to_date(gateway)
    policy = gateway.policies.current()
    entries = dict(policy.tools) if policy is not None else {}
    overrides = gateway.overrides.all()
    switch_on = bool(gateway.overrides.kill_switch().get("on"))
    with gateway.store.read() as session:
        activity = tool_activity(session, now=gateway.store.now())
    names = list(dict.fromkeys([*(spec.name for spec in gateway.registry), *entries, *overrides]))
    rows = []
    for name in names:
        spec = gateway.registry.get(name)
        rows.append(
            ToolRow(
                name=name,
                spec=spec,
                entry=entries.get(name),
                override=overrides.get(name),
                activity=activity.get(name, ToolActivity()),
                killed=switch_on and spec is not None and spec.category == "act",
            )
        )
    return rows


def known_tool(gateway: Gateway, name: str) -> bool:
    """A tool the registry serves or the policy names (admins may set levels for either)."""
    policy = gateway.policies.current()
    return name in gateway.registry or (policy is not None and name in policy.tools)


@router.get("/admin")
def admin_home(session: AdminViewer) -> Response:
    return RedirectResponse("/admin/tools", status_code=303)


@router.get("/admin/tools")
def tools_page(request: Request, pages: Pages, session: AdminViewer) -> Response:
    return _tools_page(pages, request, session)


def _tools_page(
    pages: Pages, request: Request, session: AdminViewer, *, error: str = "", status_code: int = 200
) -> Response:
    gateway = pages.gateway
    context = {
        "rows": tool_rows(gateway),
        "switch": gateway.overrides.kill_switch(),
        "risks": RISKS,
        "actions": ACTIONS,
        "error": error,
        "saved": request.query_params.get("saved", ""),
        "policy_loaded": gateway.policies.current() is not None,
    }
    return render_admin(pages, request, session, "admin/tools.html", context, status_code=status_code)


@router.get("/admin/tools/{name}")
def tool_page(name: str, request: Request, pages: Pages, session: AdminViewer) -> Response:
    return _tool_page(pages, request, session, name)


def _tool_page(
    pages: Pages, request: Request, session: AdminViewer, name: str, *, error: str = "", status_code: int = 200
) -> Response:
    gateway = pages.gateway
    if not known_tool(gateway, name):
        raise NotAllowed(f"There is no tool named {name!r}.", status_code=404)
    row = next(r for r in tool_rows(gateway) if r.name == name)
    with gateway.store.read() as db:
        history: list[AuditEvent] = tool_history(db, name, limit=50)
    context = {
        "row": row,
        "history": history,
        "risks": RISKS,
        "actions": ACTIONS,
        "error": error,
        "saved": request.query_params.get("saved", ""),
    }
    return render_admin(pages, request, session, "admin/tool.html", context, status_code=status_code)


@router.post("/admin/tools/{name}/level")
def set_level(
    name: str,
    request: Request,
    pages: Pages,
    session: AdminActor,
    risk: Annotated[str, Form(max_length=20)] = "",
    action: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=REASON_LIMIT)] = "",
) -> Response:
    gateway = pages.gateway
    if not known_tool(gateway, name):
        raise NotAllowed(f"There is no tool named {name!r}.", status_code=404)
    if risk not in RISKS or action not in ACTIONS:
        return _tool_page(pages, request, session, name, error="Choose a risk level and an action.", status_code=422)
    if not reason.strip():
        return _tool_page(
            pages, request, session, name, error="A reason is required; it goes into the audit trail.", status_code=422
        )
    gateway.overrides.set(
        name, risk=Risk(risk), action=Action(action), reason=reason.strip(), actor=session.person.name
    )
    return RedirectResponse(f"/admin/tools/{quote(name)}?saved=level", status_code=303)


@router.post("/admin/tools/{name}/clear")
def clear_level(
    name: str,
    request: Request,
    pages: Pages,
    session: AdminActor,
    reason: Annotated[str, Form(max_length=REASON_LIMIT)] = "",
) -> Response:
    if not reason.strip():
        return _tool_page(
            pages, request, session, name, error="A reason is required to remove an override.", status_code=422
        )
    pages.gateway.overrides.clear(name, reason=reason.strip(), actor=session.person.name)
    return RedirectResponse(f"/admin/tools/{quote(name)}?saved=cleared", status_code=303)


@router.post("/admin/kill-switch")
def kill_switch(
    request: Request,
    pages: Pages,
    session: AdminActor,
    state: Annotated[str, Form(max_length=3)] = "",
    reason: Annotated[str, Form(max_length=REASON_LIMIT)] = "",
) -> Response:
    if state not in {"on", "off"}:
        return _tools_page(pages, request, session, error="Choose on or off.", status_code=422)
    if not reason.strip():
        return _tools_page(pages, request, session, error="A reason is required for the kill switch.", status_code=422)
    pages.gateway.overrides.set_kill_switch(state == "on", reason=reason.strip(), actor=session.person.name)
    return RedirectResponse(f"/admin/tools?saved=kill-switch-{state}", status_code=303)
