"""The insights page: exceptions in a period, automation candidates (with their replay one click
away) and the return on automation, with the ROI figures admins can adjust."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import anyio.to_thread
from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from server.gateway import Gateway
from server.insights import (
    Candidate,
    ExceptionReport,
    Period,
    RoiReport,
    RoiSettings,
    Thresholds,
    exception_report,
    find_candidates,
    load_roi_settings,
    roi_report,
    save_roi_settings,
)
from web.admin import charts
from web.admin.deps import AdminActor, AdminViewer, Pages, render_admin, up_to_date
from web.pages.deps import NotAllowed

router = APIRouter(include_in_schema=False)

PERIODS = (7, 30, 90)
THRESHOLDS = Thresholds()


def period_from(params: Any, now: datetime) -> tuple[Period, str]:
    """``since``/``until`` dates (until inclusive) when both are valid, else the last ``days`` days."""
    try:
        since = date.fromisoformat(params.get("since", ""))
        until = date.fromisoformat(params.get("until", ""))
        if until >= since:
            start = datetime.combine(since, time(), UTC)
            return Period(start, datetime.combine(until + timedelta(days=1), time(), UTC)), ""
    except ValueError:
        pass
    try:
        days = int(params.get("days", "30"))
    except ValueError:
        days = 30
    days = max(1, min(days, 366))
    return Period.last(days, now=now), str(days)


def replay_link(candidate: Candidate, days: int) -> str:
    """The replay of allowing this rule or tool, ready to run."""
    if candidate.kind == "rule":
        query = {"rule_id": candidate.name, "rule_action": "allow"}
    else:
        query = {"tool_name": candidate.name, "tool_action": "allow"}
    return "/admin/policy/replay?" + urlencode({**query, "days": days})


def defaults_minutes(gateway: Gateway) -> dict[str, float]:
    """Each tool's own figure of minutes saved per call, before any admin's correction."""
    return {spec.name: spec.minutes_saved for spec in gateway.registry}


def load_insights(gateway: Gateway, period: Period, now: datetime) -> tuple[ExceptionReport, RoiSettings, RoiReport]:
    """The exception report and the ROI for a period, in one read (the page and the JSON API)."""
    with gateway.store.read() as db:
        report = exception_report(db, period, now=now)
        settings = load_roi_settings(db)
        roi = roi_report(db, period, defaults=defaults_minutes(gateway), settings=settings)
    return report, settings, roi


@router.get("/admin/insights")
def insights_page(request: Request, pages: Pages, session: AdminViewer) -> Response:
    store = pages.gateway.store
    up_to_date(pages.gateway)
    now = store.now()
    period, days = period_from(request.query_params, now)
    report, settings, roi = load_insights(pages.gateway, period, now)
    defaults = defaults_minutes(pages.gateway)
    candidates = find_candidates(report, THRESHOLDS)
    span_days = max(1, round(period.days))
    context = {
        "period": period,
        "days": days,
        "periods": PERIODS,
        "report": report,
        "candidates": candidates,
        "replay_links": {(c.kind, c.name): replay_link(c, span_days) for c in candidates},
        "thresholds": THRESHOLDS,
        "roi": roi,
        "defaults": defaults,
        "tools": sorted(set(defaults) | set(settings.per_tool)),
        "saved": request.query_params.get("saved", ""),
        "charts": {
            dimension: charts.stacked_outcomes(f"Held calls by {dimension}", rows)
            for dimension, rows in report.by.items()
        },
        "workload_chart": charts.bars("Decisions per reviewer", [(w.reviewer, w.decisions) for w in report.workload]),
        "savings_chart": charts.bars(
            "Hours of preparation saved per tool", [(s.tool, round(s.minutes / 60, 1)) for s in roi.savings], unit=" h"
        ),
    }
    return render_admin(pages, request, session, "admin/insights.html", context)


@router.post("/admin/insights/roi")
async def save_roi(request: Request, pages: Pages, session: AdminActor) -> Response:
    form = await request.form()
    defaults = defaults_minutes(pages.gateway)
    per_tool: dict[str, float] = {}
    try:
        per_review = _minutes(form.get("minutes_per_review"))
        for tool in defaults:
            given = form.get(f"minutes.{tool}")
            if isinstance(given, str) and given.strip():
                minutes = _minutes(given)
                if minutes != defaults[tool]:
                    per_tool[tool] = minutes  # store only what differs from the tool's own figure
    except ValueError as exc:
        raise NotAllowed(f"The ROI minutes were not saved: {exc}", status_code=422) from exc
    settings = RoiSettings(per_tool=per_tool, minutes_per_review=per_review)
    await anyio.to_thread.run_sync(
        lambda: save_roi_settings(pages.gateway.store, settings, actor=session.person.name, reason="ROI minutes")
    )
    back = str(form.get("back") or "")
    query = back if back.startswith("days=") or back.startswith("since=") else "days=30"
    return RedirectResponse(f"/admin/insights?{query}&saved=roi", status_code=303)


def _minutes(value: object) -> float:
    if not isinstance(value, str):
        raise ValueError("minutes are required")
    minutes = float(value)
    if not 0 <= minutes <= 10_000:
        raise ValueError("minutes must be between 0 and 10000")
    return minutes
