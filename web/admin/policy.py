"""The policy page: what is loaded and live, a dry-run of one call, and a replay of the stored
history against a candidate policy (a directory, or the live policy with one rule or tool changed).

Dry-runs use ``Gateway.classify``: the live policy and the admins' overrides, exactly as the next
real call. Replays use ``server.replay`` (same engine, candidate policy). Neither writes anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from pydantic import ValidationError
from starlette.responses import Response

from server.catalog import ArgumentsRefused, parse_arguments
from server.gateway import Gateway
from server.policy import Policy, PolicyError
from server.policy.types import Action, Evidence, Justification, Verdict
from server.replay import ReplayReport, replay, stored_overrides, what_if
from server.replay_candidates import MAX_FILE_BYTES, MAX_FILES, CandidateError, load_candidate, load_uploaded
from web.admin.deps import AdminActor, AdminViewer, Pages, render_admin, up_to_date
from web.admin.tools import ACTIONS

router = APIRouter(include_in_schema=False)

MAX_DAYS = 366


@dataclass
class DryRun:
    """The dry-run form's fields, and what came of them."""

    tool: str = ""
    arguments: str = "{}"
    confidence: str = ""
    evidence: str = ""
    reason: str = ""
    agent: str = "dry-run"
    error: str = ""
    verdict: Verdict | None = None


@dataclass
class ReplayForm:
    policies: str = ""
    rule_id: str = ""
    rule_action: str = ""
    tool_name: str = ""
    tool_action: str = ""
    days: int = 30
    # Names of uploaded candidate files, when the candidate came that way.
    uploaded: list[str] = field(default_factory=list)
    error: str = ""
    problems: list[str] = field(default_factory=list)
    report: ReplayReport | None = None

    @classmethod
    def from_query(cls, params: Any) -> ReplayForm:
        try:
            days = max(1, min(int(params.get("days", "30")), MAX_DAYS))
        except ValueError:
            days = 30
        return cls(
            # Not cut short: an over-long name is refused with a message (server/replay_candidates.py).
            policies=params.get("policies", "")[:10_000],
            rule_id=params.get("rule_id", "")[:100],
            rule_action=params.get("rule_action", "")[:10],
            tool_name=params.get("tool_name", "")[:200],
            tool_action=params.get("tool_action", "")[:10],
            days=days,
        )


def _page(
    pages: Pages,
    request: Request,
    session: AdminViewer,
    *,
    dry_run: DryRun | None = None,
    replay_form: ReplayForm | None = None,
    status_code: int = 200,
) -> Response:
    holder = pages.gateway.policies
    policy = holder.current()
    context = {
        "policy": policy,
        "directory": holder.directory,
        "loaded_at": holder.loaded_at,
        "load_error": holder.last_error,
        "tools": sorted(_tool_names(pages.gateway, policy)),
        "dry_run": dry_run or DryRun(tool=request.query_params.get("tool", "")[:200]),
        "replay": replay_form or ReplayForm.from_query(request.query_params),
        "replay_root": pages.settings.replay_root,
        "actions": ACTIONS,
    }
    return render_admin(pages, request, session, "admin/policy.html", context, status_code=status_code)


def _tool_names(gateway: Gateway, policy: Policy | None) -> set[str]:
    return {spec.name for spec in gateway.registry} | set(policy.tools if policy is not None else ())


@router.get("/admin/policy")
def policy_page(request: Request, pages: Pages, session: AdminViewer) -> Response:
    return _page(pages, request, session)


@router.post("/admin/policy/dry-run")
def dry_run(
    request: Request,
    pages: Pages,
    session: AdminActor,
    tool: Annotated[str, Form(max_length=200)] = "",
    arguments: Annotated[str, Form(max_length=100_000)] = "{}",
    confidence: Annotated[str, Form(max_length=20)] = "",
    evidence: Annotated[str, Form(max_length=20_000)] = "",
    reason: Annotated[str, Form(max_length=5000)] = "",
    agent: Annotated[str, Form(max_length=200)] = "dry-run",
) -> Response:
    form = DryRun(tool, arguments, confidence, evidence, reason, agent or "dry-run")
    form.error = _classify(pages.gateway, form)
    return _page(pages, request, session, dry_run=form, status_code=422 if form.error else 200)


def _classify(gateway: Gateway, form: DryRun) -> str:
    """Fill ``form.verdict``; return what is wrong with the form instead, if anything."""
    if not form.tool:
        return "Choose a tool."
    try:
        args = json.loads(form.arguments or "{}")
    except json.JSONDecodeError as exc:
        return f"The arguments are not valid JSON: {exc}"
    if not isinstance(args, dict):
        return "The arguments must be a JSON object."
    try:
        justification = Justification(
            reason=form.reason or None,
            confidence=float(form.confidence) if form.confidence.strip() else None,
            evidence=tuple(Evidence(source=line.strip()) for line in form.evidence.splitlines() if line.strip()),
        )
    except (ValueError, ValidationError) as exc:
        return f"The justification is not valid: {exc}"
    try:
        args = parse_arguments(gateway.registry, form.tool, args)
    except ArgumentsRefused as exc:
        # The gateway refuses such a call before the policy sees it; say so rather than guess.
        return f"The tool would refuse these arguments (the call is recorded as blocked): {exc.message}"
    form.verdict = gateway.classify(form.tool, args, agent=form.agent, justification=justification)
    return ""


@router.get("/admin/policy/replay")
def replay_page(request: Request, pages: Pages, session: AdminViewer) -> Response:
    form = ReplayForm.from_query(request.query_params)
    _run_replay(pages, form)
    return _page(pages, request, session, replay_form=form, status_code=422 if form.error else 200)


@router.post("/admin/policy/replay")
def replay_upload(
    request: Request,
    pages: Pages,
    session: AdminActor,
    files: Annotated[list[UploadFile] | None, File()] = None,
    days: Annotated[str, Form(max_length=10)] = "30",
) -> Response:
    """Replay uploaded candidate files (read up to the size cap; never written anywhere but a private copy)."""
    form = ReplayForm.from_query({"days": days})
    uploads = [
        (upload.filename or "", upload.file.read(MAX_FILE_BYTES + 1)) for upload in (files or [])[: MAX_FILES + 1]
    ]
    if files and len(files) > MAX_FILES:
        uploads.append(("", b""))  # counted, not read: load_uploaded refuses more than MAX_FILES
    form.uploaded = [name for name, _ in uploads if name]
    _run_replay(pages, form, uploads)
    return _page(pages, request, session, replay_form=form, status_code=422 if form.error else 200)


def _run_replay(pages: Pages, form: ReplayForm, uploads: list[tuple[str, bytes]] | None = None) -> None:
    """Fill ``form.report``, or ``form.error`` (and ``form.problems``) when the candidate does not load."""
    gateway = pages.gateway
    rules = {form.rule_id: Action(form.rule_action)} if form.rule_id and form.rule_action in ACTIONS else {}
    tools = {form.tool_name: Action(form.tool_action)} if form.tool_name and form.tool_action in ACTIONS else {}
    try:
        if uploads is not None:
            candidate = load_uploaded(uploads, rule_actions=rules, tool_actions=tools)
        elif form.policies:
            # Only directories under the replay root, read without following links: see server/replay_candidates.
            candidate = load_candidate(
                pages.settings.replay_root, form.policies, rule_actions=rules, tool_actions=tools
            )
        else:
            live = gateway.policies.current()
            if live is None:
                form.error = "No policy is loaded; fix the policy files first."
                return
            candidate = what_if(live, rule_actions=rules, tool_actions=tools)
    except CandidateError as exc:
        form.error = str(exc)
        return
    except KeyError as exc:
        form.error = str(exc.args[0])
        return
    except PolicyError as exc:
        form.error = (
            f"The candidate policy {form.policies} does not load."
            if form.policies
            else "The changed policy does not load."
        )
        form.problems = [str(p) for p in exc.problems]
        return
    up_to_date(gateway)
    since = gateway.store.now() - timedelta(days=form.days)
    form.report = replay(
        gateway.store, candidate, gateway.registry, overrides=stored_overrides(gateway.store), since=since
    )
