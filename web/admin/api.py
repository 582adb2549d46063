"""The admins' JSON API under ``/api/admin``: tool levels, the kill switch, dry-runs, insights and
chain verification, for scripts and integrations holding a person's bearer token.

401 without credentials, 403 for agent tokens and reviewers, 404 unknown tool, 422 invalid body.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from server.audit_query import describe_chain
from server.catalog import ArgumentsRefused, parse_arguments
from server.insights import Period, find_candidates
from server.policy.types import Action, Justification, Risk
from server.store import audit
from web.admin.deps import AdminPerson, AuditPerson, up_to_date
from web.admin.insights import THRESHOLDS, load_insights
from web.admin.tools import known_tool, tool_rows
from web.api import RuntimeDep

router = APIRouter(prefix="/api/admin", tags=["admin"])


def _visible(reason: str) -> str:
    """The reason without surrounding blanks; refused when nothing a person can read is left.

    Python's ``strip`` removes more than the schema's ``\\S`` pattern sees as blank (U+001D, for one).
    """
    text = reason.strip()
    if not text or not any(ch.isprintable() and not ch.isspace() for ch in text):
        raise ValueError("the reason must contain visible text")
    return text


Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_visible)]


class LevelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    risk: Risk
    action: Action
    reason: Reason


class KillSwitchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: bool
    reason: Reason


class DryRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str = Field(min_length=1, max_length=200)
    arguments: dict[str, Any] = Field(default_factory=dict)
    agent: str = Field(default="dry-run", max_length=200)
    justification: Justification = Justification()


@router.get("/tools")
def list_tools(person: AdminPerson, runtime: RuntimeDep) -> list[dict[str, Any]]:
    return [
        {
            "name": row.name,
            "category": row.category,
            "description": row.spec.description if row.spec is not None else "",
            "policy_default": (
                {"action": row.entry.action.value, "risk": row.entry.risk.value} if row.entry is not None else None
            ),
            "override": (
                {
                    "action": row.override.action,
                    "risk": row.override.risk,
                    "reason": row.override.reason,
                    "actor": row.override.actor,
                    "updated_at": row.override.updated_at.isoformat(),
                }
                if row.override is not None
                else None
            ),
            "effective_action": row.effective_action,
            "effective_risk": row.effective_risk,
            "calls_7_days": dict(row.activity.last_7_days),
            "calls_30_days": dict(row.activity.last_30_days),
        }
        for row in tool_rows(runtime.gateway)
    ]


@router.put("/tools/{name}/level")
def set_level(name: str, body: LevelBody, person: AdminPerson, runtime: RuntimeDep) -> dict[str, Any]:
    gateway = runtime.gateway
    if not known_tool(gateway, name):
        raise HTTPException(404, f"no tool {name!r}")
    gateway.overrides.set(name, risk=body.risk, action=body.action, reason=body.reason, actor=person.name)
    return {"tool": name, "risk": body.risk.value, "action": body.action.value}


@router.put("/kill-switch")
def set_kill_switch(body: KillSwitchBody, person: AdminPerson, runtime: RuntimeDep) -> dict[str, Any]:
    runtime.gateway.overrides.set_kill_switch(body.on, reason=body.reason, actor=person.name)
    return runtime.gateway.overrides.kill_switch()


@router.post("/dry-run")
def dry_run(body: DryRunBody, person: AdminPerson, runtime: RuntimeDep) -> dict[str, Any]:
    gateway = runtime.gateway
    try:
        arguments = parse_arguments(gateway.registry, body.tool, body.arguments)
    except ArgumentsRefused as exc:
        raise HTTPException(422, f"the tool would refuse these arguments: {exc.message}") from exc
    verdict = gateway.classify(body.tool, arguments, agent=body.agent, justification=body.justification)
    return verdict.model_dump(mode="json")


@router.get("/insights")
def insights(person: AdminPerson, runtime: RuntimeDep, days: int = Query(default=30, ge=1, le=366)) -> dict[str, Any]:
    store = runtime.gateway.store
    up_to_date(runtime.gateway)
    now = store.now()
    period = Period.last(days, now=now)
    report, _settings, roi = load_insights(runtime.gateway, period, now)
    return {
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat()},
        "totals": report.totals.as_dict(),
        "by": {dim: {key: counts.as_dict() for key, counts in rows} for dim, rows in report.by.items()},
        "time_to_decision": {
            "decided": report.timing.decided,
            "median_seconds": report.timing.median_seconds,
            "p90_seconds": report.timing.p90_seconds,
        },
        "sla": {"tracked": report.sla_tracked, "breaches": report.sla_breaches},
        "workload": [w.__dict__ for w in report.workload],
        "rejection_reasons": [r.__dict__ for r in report.rejection_reasons],
        "candidates": [
            {"kind": c.kind, "name": c.name, "suggestion": c.suggestion, **c.counts.as_dict()}
            for c in find_candidates(report, THRESHOLDS)
        ],
        "thresholds": THRESHOLDS.__dict__,
        "roi": {
            "automatic_calls": roi.automatic_calls,
            "blocked_calls": roi.blocked_calls,
            "invalid_calls": roi.invalid_calls,
            "hours_saved": roi.hours_saved,
            "decisions": roi.decisions,
            "minutes_per_review": roi.settings.minutes_per_review,
            "hours_reviewing": roi.hours_reviewing,
            "net_hours": roi.net_hours,
        },
    }


@router.get("/audit/verify")
def verify(person: AuditPerson, runtime: RuntimeDep) -> dict[str, Any]:
    up_to_date(runtime.gateway)
    with runtime.gateway.store.read() as db:
        report = audit.verify(db)
    return {
        "ok": report.ok,
        "events": report.events,
        "broken_seq": report.broken_seq,
        "problem": report.problem,
        "message": describe_chain(report),
    }
