"""The admin pages do what they say, on a seeded history."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from server.audit_query import describe_chain
from server.lifecycle.records import NewCall
from server.policy.types import Action
from server.runtime import Runtime
from server.store import audit
from server.store.models import AuditEvent, Setting
from tests.admin.history import Ledger, seed
from tests.admin.web import Visitor
from tests.admin.world import Clock


@pytest.fixture
def ledger(runtime: Runtime, clock: Clock) -> Ledger:
    return seed(runtime.gateway, clock)


def test_tools_page_lists_each_tool_with_its_policy_default_and_recent_calls(ledger: Ledger, admin: Visitor) -> None:
    page = admin.get("/admin/tools")
    assert page.status_code == 200
    assert 'class="admin-nav-link current">Tool risk levels' in page.text
    row = page.text.split('id="tool-email"')[1].split("</tr>")[0]
    assert "action-hold" in row and "Email a customer." in row
    last_7_days = row.split('class="counts"')[1]  # the whole seeded history is within the last 7 days
    for text in ("4 approved", "4 edited", "3 rejected", "1 pending"):
        assert text in last_7_days


def test_changing_a_level_on_the_page_governs_the_next_call_and_is_audited(admin: Visitor, runtime: Runtime) -> None:
    response = admin.post("/admin/tools/lookup/level", {"risk": "high", "action": "hold", "reason": "PII review"})
    assert response.status_code == 303 and response.headers["location"] == "/admin/tools/lookup?saved=level"
    submitted = runtime.gateway.submit(NewCall(tool="lookup", arguments={"customer_id": "C-9"}, agent="agent-7"))
    assert submitted.verdict.action == Action.HOLD and submitted.call.status == "held"
    page = admin.get("/admin/tools/lookup?saved=level")
    history = page.text.split('id="level-history"')[1]
    assert "ada" in history and "PII review" in history
    with runtime.store.read() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.event_type == "tool_override_set")).one()
    assert (event.actor, event.tool, event.reason) == ("ada", "lookup", "PII review")


def test_a_level_change_without_a_reason_changes_nothing(admin: Visitor, runtime: Runtime) -> None:
    response = admin.post("/admin/tools/lookup/level", {"risk": "high", "action": "block", "reason": "  "})
    assert response.status_code == 422 and "A reason is required" in response.text
    assert runtime.gateway.overrides.all() == {}


def test_an_unknown_tool_is_404(admin: Visitor) -> None:
    assert admin.get("/admin/tools/nope").status_code == 404
    assert admin.post("/admin/tools/nope/level", {"risk": "low", "action": "allow", "reason": "x"}).status_code == 404


def test_clearing_an_override_restores_the_policy_default(admin: Visitor, runtime: Runtime) -> None:
    admin.post("/admin/tools/lookup/level", {"risk": "high", "action": "block", "reason": "incident"})
    assert runtime.gateway.classify("lookup", {"customer_id": "C"}, agent="a").action == Action.BLOCK
    assert admin.post("/admin/tools/lookup/clear", {"reason": "over"}).status_code == 303
    assert runtime.gateway.classify("lookup", {"customer_id": "C"}, agent="a").action == Action.ALLOW


def test_the_kill_switch_blocks_act_tools_and_undoes(admin: Visitor, runtime: Runtime) -> None:
    refund = {"order_id": "O-1", "amount": 10.0, "currency": "EUR"}
    assert admin.post("/admin/kill-switch", {"state": "on", "reason": "fraud alert"}).status_code == 303
    assert runtime.gateway.classify("refund", refund, agent="a").action == Action.BLOCK
    assert runtime.gateway.classify("lookup", {"customer_id": "C"}, agent="a").action == Action.ALLOW
    assert "fraud alert" in admin.get("/admin/tools").text
    assert admin.post("/admin/kill-switch", {"state": "off", "reason": "all clear"}).status_code == 303
    assert runtime.gateway.classify("refund", refund, agent="a").action == Action.HOLD


def test_policy_page_shows_the_live_version_and_rules_in_order(admin: Visitor, runtime: Runtime) -> None:
    policy = runtime.gateway.policies.current()
    assert policy is not None
    page = admin.get("/admin/policy")
    assert policy.version[:12] in page.text
    assert 'id="rule-big-refund"' in page.text and "args.amount &gt;= 1000.0" in page.text


def test_policy_page_shows_the_load_error_of_a_broken_edit_and_keeps_the_last_good_version(
    admin: Visitor, runtime: Runtime
) -> None:
    policy = runtime.gateway.policies.current()
    assert policy is not None
    (runtime.settings.policies / "zz-broken.yaml").write_text("version: 1\nrules:\n  - id: x\n    action: maybe\n")
    runtime.gateway.policies.refresh(force=True)
    page = admin.get("/admin/policy")
    assert 'id="load-error"' in page.text and "zz-broken.yaml" in page.text
    assert policy.version[:12] in page.text


def test_dry_run_gives_the_gateways_verdict_with_matched_rules(admin: Visitor) -> None:
    args = json.dumps({"order_id": "O-1", "amount": 1500, "currency": "EUR"})
    page = admin.post("/admin/policy/dry-run", {"tool": "refund", "arguments": args, "confidence": "0.9"})
    assert page.status_code == 200
    verdict = page.text.split('id="verdict"')[1].split("</div>")[0]
    assert "action-hold" in verdict and "<code>big-refund</code>" in verdict and "finance" in verdict


def test_dry_run_reports_bad_json_and_arguments_the_tool_refuses(admin: Visitor) -> None:
    bad_json = admin.post("/admin/policy/dry-run", {"tool": "refund", "arguments": "{not json"})
    assert bad_json.status_code == 422 and "not valid JSON" in bad_json.text
    refused = admin.post("/admin/policy/dry-run", {"tool": "refund", "arguments": '{"amount": "lots"}'})
    assert refused.status_code == 422 and "would refuse" in refused.text


def test_replay_link_from_insights_runs_the_replay_of_loosening_the_candidate(ledger: Ledger, admin: Visitor) -> None:
    insights = admin.get("/admin/insights?days=30")
    link = insights.text.split('id="candidates"')[1].split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert link.startswith("/admin/policy/replay?tool_name=refund&tool_action=allow")
    replayed = admin.get(link)
    result = replayed.text.split('id="replay-result"')[1]
    assert "<strong>25</strong> would change" in result
    assert "25 approved" in result


def test_replay_of_a_broken_candidate_says_it_does_not_load(admin: Visitor, runtime: Runtime) -> None:
    candidate = runtime.settings.replay_root / "broken"
    candidate.mkdir(parents=True)
    (candidate / "policy.yaml").write_text("rules: [\n", encoding="utf-8")
    page = admin.get("/admin/policy/replay?policies=broken&days=30")
    assert page.status_code == 422 and "does not load" in page.text


@pytest.mark.parametrize("path", ["/tmp/" + "p" * 900, "/tmp/policies%00.yaml", "policies%1D"])
def test_replay_of_a_path_the_file_system_refuses_answers_422_with_a_message(admin: Visitor, path: str) -> None:
    page = admin.get(f"/admin/policy/replay?policies={path}&days=30")
    assert page.status_code == 422
    assert any(words in page.text for words in ("too long", "control character", "is not", "no candidate"))


def test_insights_page_shows_the_periods_numbers(ledger: Ledger, admin: Visitor) -> None:
    page = admin.get("/admin/insights?days=30")
    totals = page.text.split('id="totals"')[1].split('id="breakdowns"')[0]
    assert '<span class="tile-value">40</span><span class="tile-label">held calls</span>' in totals
    assert '<svg class="chart"' in page.text
    assert "Wrong tone" in page.text.split('id="rejection-reasons"')[1]


def test_roi_minutes_saved_on_the_page_are_stored_and_used(ledger: Ledger, admin: Visitor, runtime: Runtime) -> None:
    response = admin.post(
        "/admin/insights/roi",
        {"minutes_per_review": "2", "minutes.email": "7", "minutes.refund": "10", "back": "days=30"},
    )
    assert response.status_code == 303
    with runtime.store.read() as session:
        row = session.get(Setting, "roi_minutes")
    assert row is not None and row.value == {"per_tool": {"email": 7.0}, "minutes_per_review": 2.0}
    assert admin.post("/admin/insights/roi", {"minutes_per_review": "-1"}).status_code == 422


def test_audit_page_filters_and_joins_each_event_with_its_call(ledger: Ledger, admin: Visitor) -> None:
    edited = next(h for h in ledger.held if h.outcome == "edited")
    page = admin.get(f"/admin/audit?call={edited.call_id}")
    rows = page.text.split('class="audit-row"')[1:]
    assert len(rows) == 5  # held, sam edits (approval recorded), rita approves, started, executed
    assert "Hello, kindly" in page.text and "Approved by sam (edited)" in page.text
    rejected = admin.get("/admin/audit?type=rejected&actor=rita")
    assert rejected.text.count('class="audit-row"') == 1 and "Too much" in rejected.text


def test_audit_page_pages_through_older_events(ledger: Ledger, admin: Visitor) -> None:
    first = admin.get("/admin/audit")
    older = first.text.split('id="older" ')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = admin.get(older)
    first_seqs = [int(s.split('"')[0]) for s in first.text.split('data-seq="')[1:]]
    second_seqs = [int(s.split('"')[0]) for s in second.text.split('data-seq="')[1:]]
    assert second_seqs[0] == first_seqs[-1] - 1


def test_exports_stream_the_whole_chain_and_verify(ledger: Ledger, admin: Visitor, runtime: Runtime) -> None:
    jsonl = admin.get("/admin/audit/export.jsonl")
    assert jsonl.status_code == 200 and "attachment" in jsonl.headers["content-disposition"]
    rows = [json.loads(line) for line in jsonl.text.splitlines()]
    report = audit.verify_rows(iter(rows))
    with runtime.store.read() as session:
        total = session.exec(select(sa.func.count()).select_from(AuditEvent)).one()
    assert report.ok and report.events == total
    csv_export = admin.get("/admin/audit/export.csv")
    assert csv_export.text.startswith("seq,at,event_type") and csv_export.headers["content-type"].startswith("text/csv")


def test_verify_button_gives_the_cli_answer_and_names_a_tampered_event(
    ledger: Ledger, admin: Visitor, runtime: Runtime
) -> None:
    with runtime.store.read() as session:
        intact = describe_chain(audit.verify(session))
    assert intact in admin.get("/admin/audit/verify").text
    with runtime.store.engine.begin() as conn:
        conn.execute(sa.update(AuditEvent).where(col(AuditEvent.seq) == 7).values(actor="mallory"))
    page = admin.get("/admin/audit/verify")
    assert "audit chain broken at event 7" in page.text and "notice-error" in page.text
