"""Deciding from Slack, with requests signed exactly as Slack signs them, against our real endpoint.

Slack's own API is not reachable here: the bot client (slack-sdk's WebClient) is pointed at a local
HTTP server (COUNTERSIGN_SLACK_BASE_URL) that answers users.info and records chat.postMessage and
chat.update, so the tests see what would have been posted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from server.config import Settings
from server.lifecycle import decisions
from server.notify.email import HEADLINES
from server.notify.sla import sweep_sla
from server.runtime import Runtime
from server.store.models import AuditEvent
from tests.conftest import REPO
from tests.web.support import Clock, hold_refund, hold_two_person_payment, make_settings, refund, status_of, submit

SIGNING_SECRET = "slack-signing-secret-for-tests-0123456789"
USERS = {  # Slack user id -> (e-mail, confirmed by Slack)
    "U_ALICE": ("alice@example.com", True),
    "U_BOB": ("bob@example.com", True),
    "U_SAM": ("sam@example.com", True),
    "U_GHOST": ("ghost@example.com", True),
    "U_UNCONFIRMED": ("bob@example.com", False),
}


@dataclass
class FakeSlack:
    url: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def posted(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def wait_for(self, method: str, count: int, drive: Callable[[], object]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 15
        while len(self.posted(method)) < count:
            assert time.monotonic() < deadline, f"Slack never got {count} {method}: {self.calls}"
            drive()
            with self.changed:
                self.changed.wait(0.2)
        return self.posted(method)


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    state = FakeSlack()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            method = self.path.rsplit("/", 1)[-1]
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                params = json.loads(raw)
            else:
                params = {k: v[0] for k, v in parse_qs(raw).items()}
            answer: dict[str, Any] = {"ok": True}
            if method == "users.info":
                email, confirmed = USERS.get(params["user"], ("", False))
                answer["user"] = {"id": params["user"], "is_email_confirmed": confirmed, "profile": {"email": email}}
            elif method == "chat.postMessage":
                answer.update(channel="C_FINANCE", ts=f"1700000000.{len(state.calls):06d}")
            elif method == "chat.update":
                answer.update(channel=params["channel"], ts=params["ts"])
            with state.changed:
                state.calls.append((method, params))
                state.changed.notify_all()
            body = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, slack: FakeSlack) -> Settings:
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    default = policies / "default.yaml"
    text = default.read_text(encoding="utf-8")
    for queue, escalation in (("finance", ", escalate_to: finance-senior"), ("finance-senior", "")):
        text = text.replace(
            f"  {queue}:\n",
            f"  {queue}:\n    decide_in: [page, slack]\n    notify: {{slack_channel: '#{queue}'{escalation}}}\n",
            1,
        )
    default.write_text(text, encoding="utf-8")
    return make_settings(
        database_url,
        policies=policies,
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token="xoxb-test-token",
        slack_base_url=slack.url,
        slack_response_url_prefix=slack.url + "respond/",
    )


@pytest.fixture
def linked(runtime: Runtime) -> Runtime:
    for name in ("alice", "bob", "sam"):
        runtime.people.set_email(name, f"{name}@example.com")
    return runtime


def _signed(body: str, *, at: float | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """Slack's documented scheme: v0=HMAC-SHA256(secret, 'v0:' + timestamp + ':' + body)."""
    timestamp = str(int(at if at is not None else time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def _click(
    user: str, call_id: str, args_hash: str, action: str = "approve", reason: str = "", response_url: str = ""
) -> str:
    value = json.dumps({"call": call_id, "hash": args_hash, **({"reason": reason} if reason else {})})
    element: dict[str, Any] = {"action_id": action}
    if action == "reject":
        element["selected_option"] = {"value": value}
    else:
        element["value"] = value
    payload = {"type": "block_actions", "user": {"id": user}, "actions": [element], "response_url": response_url}
    return urlencode({"payload": json.dumps(payload)})


def _send(client: TestClient, body: str, headers: dict[str, str]) -> Any:
    return client.post("/slack/interactions", content=body, headers=headers)


def _slack_audit(runtime: Runtime) -> list[AuditEvent]:
    """Decision events whose channel is Slack (the decision's own audit event says where it came from)."""
    with runtime.store.read() as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.actor_kind == "person")).all()
    return [e for e in events if (e.data or {}).get("via", {}).get("channel") == "slack"]


def test_valid_approve_decides_through_the_gateway_and_is_audited_with_its_channel(
    client: TestClient, linked: Runtime
) -> None:
    call = hold_refund(linked)
    body = _click("U_ALICE", call.id, call.args_hash)
    response = _send(client, body, _signed(body))
    assert response.status_code == 200 and response.json()["text"] == "Approved."
    assert status_of(linked, call.id) == "succeeded"
    assert [d.actor for d in decisions.decisions_for(linked.store, call.id)] == ["alice"]
    [note] = _slack_audit(linked)
    assert note.actor == "alice" and note.call_id == call.id and note.event_type == "approved"


def test_reject_with_a_chosen_reason(client: TestClient, linked: Runtime) -> None:
    call = hold_refund(linked)
    body = _click("U_BOB", call.id, call.args_hash, action="reject", reason="Against policy")
    assert _send(client, body, _signed(body)).json()["text"] == "Rejected."
    assert status_of(linked, call.id) == "rejected"
    assert decisions.decisions_for(linked.store, call.id)[0].reason == "Against policy"


def test_replayed_request_older_than_five_minutes_is_refused(client: TestClient, linked: Runtime) -> None:
    call = hold_refund(linked)
    body = _click("U_ALICE", call.id, call.args_hash)
    response = _send(client, body, _signed(body, at=time.time() - 301))
    assert response.status_code == 401
    assert status_of(linked, call.id) == "held"


def test_bad_signature_is_refused(client: TestClient, linked: Runtime) -> None:
    call = hold_refund(linked)
    body = _click("U_ALICE", call.id, call.args_hash)
    assert _send(client, body, _signed(body, secret="not-the-secret")).status_code == 401
    tampered = _click("U_ALICE", call.id, call.args_hash, action="reject", reason="x")
    assert _send(client, tampered, _signed(body)).status_code == 401
    assert status_of(linked, call.id) == "held"


@pytest.mark.parametrize("user", ["U_GHOST", "U_UNCONFIRMED", "U_NOBODY"])
def test_slack_user_without_a_verified_linked_email_decides_nothing(
    client: TestClient, linked: Runtime, user: str
) -> None:
    call = hold_refund(linked)
    body = _click(user, call.id, call.args_hash)
    assert "not linked" in _send(client, body, _signed(body)).json()["text"]
    assert status_of(linked, call.id) == "held"


def test_user_who_does_not_review_the_queue_decides_nothing(client: TestClient, linked: Runtime) -> None:
    call = hold_refund(linked)
    body = _click("U_SAM", call.id, call.args_hash)
    assert "do not review" in _send(client, body, _signed(body)).json()["text"]
    assert status_of(linked, call.id) == "held"


def test_call_needing_two_people_and_an_override_is_left_to_the_packet_page(
    client: TestClient, linked: Runtime
) -> None:
    call = hold_two_person_payment(linked)
    body = _click("U_ALICE", call.id, call.args_hash)
    text = _send(client, body, _signed(body)).json()["text"]
    assert "packet page only" in text
    assert status_of(linked, call.id) == "held" and decisions.decisions_for(linked.store, call.id) == []


def test_call_already_decided_elsewhere_is_not_decided_again(client: TestClient, linked: Runtime) -> None:
    call = hold_refund(linked)
    linked.gateway.reject(call.id, linked.people.by_email("bob@example.com"), reason="no")  # type: ignore[arg-type]
    body = _click("U_ALICE", call.id, call.args_hash)
    assert "already rejected" in _send(client, body, _signed(body)).json()["text"]
    assert status_of(linked, call.id) == "rejected"


def test_held_call_is_posted_with_buttons_and_updated_in_place_when_decided(
    client: TestClient, linked: Runtime, slack: FakeSlack
) -> None:
    call = hold_refund(linked)
    [posted] = slack.wait_for("chat.postMessage", 1, linked.notifier.run_once)
    assert posted["channel"] == "#finance"
    assert _actions(posted) == ["approve", "reject", "open"]
    linked.gateway.reject(call.id, linked.people.by_email("bob@example.com"), reason="no")  # type: ignore[arg-type]
    [updated] = slack.wait_for("chat.update", 1, linked.notifier.run_once)
    assert updated["channel"] == "C_FINANCE" and updated["ts"] == "1700000000.000000"
    assert _actions(updated) == ["open"]


def test_a_call_escalated_to_another_queue_updates_its_first_channels_message_when_decided(
    linked: Runtime, slack: FakeSlack, clock: Clock
) -> None:
    call = hold_refund(linked)
    slack.wait_for("chat.postMessage", 1, linked.notifier.run_once)
    clock.advance(hours=3)  # the finance queue's SLA is 2 hours: it escalates to finance-senior
    assert sweep_sla(linked.store, linked.policies) == [(call.id, "escalated")]
    posted = slack.wait_for("chat.postMessage", 2, linked.notifier.run_once)
    assert [p["channel"] for p in posted] == ["#finance", "#finance-senior"]
    updates_before = len(slack.posted("chat.update"))

    linked.gateway.reject(call.id, linked.people.by_email("bob@example.com"), reason="no")  # type: ignore[arg-type]
    updated = slack.wait_for("chat.update", updates_before + 2, linked.notifier.run_once)[updates_before:]

    # The fake numbers each message's ts by its place among the requests it got.
    message_ts = [f"1700000000.{i:06d}" for i, (method, _) in enumerate(slack.calls) if method == "chat.postMessage"]
    assert sorted(u["ts"] for u in updated) == message_ts  # both messages, the first channel's included
    for update in updated:
        assert update["text"].startswith(HEADLINES["call.decided"])
        assert _actions(update) == ["open"]
    assert len(slack.posted("chat.postMessage")) == 2  # no new message anywhere


def test_an_escalated_calls_buttons_move_from_its_first_channel_to_the_queue_it_moved_to(
    linked: Runtime, slack: FakeSlack, clock: Clock
) -> None:
    call = hold_refund(linked)
    [held] = slack.wait_for("chat.postMessage", 1, linked.notifier.run_once)
    assert _actions(held) == ["approve", "reject", "open"] and _queue_field(held) == "finance"
    clock.advance(hours=3)  # the finance queue's SLA is 2 hours: it escalates to finance-senior
    assert sweep_sla(linked.store, linked.policies) == [(call.id, "escalated")]

    first, moved = slack.wait_for("chat.postMessage", 2, linked.notifier.run_once)
    [update] = slack.wait_for("chat.update", 1, linked.notifier.run_once)
    first_ts = next(f"1700000000.{i:06d}" for i, (method, _) in enumerate(slack.calls) if method == "chat.postMessage")

    # #finance's reviewers no longer decide it: their message says where it went and only opens the page.
    assert update["ts"] == first_ts and update["text"].startswith(HEADLINES["call.escalated"])
    assert _actions(update) == ["open"] and _queue_field(update) == "finance → finance-senior"
    # #finance-senior's reviewers decide it now, from their own channel.
    assert moved["channel"] == "#finance-senior" and _actions(moved) == ["approve", "reject", "open"]
    assert _queue_field(moved) == "finance → finance-senior"


def test_the_clicking_user_is_answered_at_slacks_response_url_and_nowhere_else(
    client: TestClient, linked: Runtime, slack: FakeSlack
) -> None:
    call = hold_refund(linked)
    body = _click("U_SAM", call.id, call.args_hash, response_url=slack.url + "respond/T1/abc")
    _send(client, body, _signed(body))
    [answer] = slack.posted("abc")
    assert answer["response_type"] == "ephemeral" and "do not review" in answer["text"]
    elsewhere = _click("U_SAM", call.id, call.args_hash, response_url=slack.url + "evil/xyz")
    _send(client, elsewhere, _signed(elsewhere))
    assert slack.posted("xyz") == []


def _actions(params: dict[str, Any]) -> list[str]:
    blocks = json.loads(params["blocks"]) if isinstance(params["blocks"], str) else params["blocks"]
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def _queue_field(params: dict[str, Any]) -> str:
    blocks = json.loads(params["blocks"]) if isinstance(params["blocks"], str) else params["blocks"]
    texts = [f["text"] for b in blocks if b["type"] == "section" for f in b.get("fields", ())]
    return next(t.removeprefix("*Queue*\n") for t in texts if t.startswith("*Queue*"))


def _add_rules(runtime: Runtime, rules: str) -> None:
    """A second policy file with rules over the default policy's tools (files are merged), reloaded now."""
    (runtime.policies.directory / "slack-rules.yaml").write_text(f"version: 1\nrules:\n{rules}", encoding="utf-8")
    assert runtime.policies.refresh(force=True) is not None and runtime.policies.last_error is None


PAGE_ONLY_RULE = """  - id: chargebacks-on-the-page
    tools: [issue_refund]
    when: 'args.reason.contains("chargeback")'
    action: hold
    decide_in: [page]
"""


def test_rule_keeping_calls_on_the_page_wins_over_its_queue_allowing_slack(
    client: TestClient, linked: Runtime, slack: FakeSlack
) -> None:
    _add_rules(linked, PAGE_ONLY_RULE)
    call = submit(linked, "issue_refund", refund(60.0, reason="chargeback from the bank"))
    assert call.status == "held"
    [posted] = slack.wait_for("chat.postMessage", 1, linked.notifier.run_once)
    assert _actions(posted) == ["open"]  # "Open in Countersign" only
    body = _click("U_ALICE", call.id, call.args_hash)
    assert "packet page only" in _send(client, body, _signed(body)).json()["text"]
    assert status_of(linked, call.id) == "held"


def test_rule_allowing_slack_wins_over_its_queue_keeping_calls_on_the_page(
    client: TestClient, linked: Runtime, slack: FakeSlack
) -> None:
    policy = linked.policies.directory / "default.yaml"
    text = policy.read_text(encoding="utf-8").replace("  finance:\n    decide_in: [page, slack]\n", "  finance:\n", 1)
    policy.write_text(text, encoding="utf-8")
    _add_rules(
        linked,
        PAGE_ONLY_RULE.replace("chargebacks-on-the-page", "damaged-in-slack")
        .replace("chargeback", "damaged")
        .replace("[page]", "[page, slack]"),
    )
    ordinary = submit(linked, "issue_refund", refund(60.0, reason="changed my mind"))
    [first] = slack.wait_for("chat.postMessage", 1, linked.notifier.run_once)
    assert _actions(first) == ["open"]  # the queue alone keeps it on the page
    damaged = hold_refund(linked)  # "parcel arrived damaged": the rule allows Slack
    [_, second] = slack.wait_for("chat.postMessage", 2, linked.notifier.run_once)
    assert _actions(second) == ["approve", "reject", "open"]
    body = _click("U_ALICE", damaged.id, damaged.args_hash)
    assert _send(client, body, _signed(body)).json()["text"] == "Approved."
    refused = _click("U_ALICE", ordinary.id, ordinary.args_hash)
    assert "packet page only" in _send(client, refused, _signed(refused)).json()["text"]


def test_call_whose_approval_needs_an_override_reason_gets_only_open_in_countersign(
    client: TestClient, linked: Runtime, slack: FakeSlack
) -> None:
    call = hold_refund(linked, amount=5000.0)  # above the order's total: the preview warns
    assert linked.gateway.review.proposal(call).grounds
    [posted] = slack.wait_for("chat.postMessage", 1, linked.notifier.run_once)
    assert _actions(posted) == ["open"]
    body = _click("U_ALICE", call.id, call.args_hash)
    assert "packet page only" in _send(client, body, _signed(body)).json()["text"]
    assert status_of(linked, call.id) == "held"


def test_slack_user_whose_role_does_not_cover_the_call_is_sent_to_countersign(
    client: TestClient, linked: Runtime
) -> None:
    call = hold_refund(linked)
    body = _click("U_SAM", call.id, call.args_hash)  # sam reviews support only
    text = _send(client, body, _signed(body)).json()["text"]
    assert "do not review" in text and "Open it in Countersign" in text
    assert status_of(linked, call.id) == "held"
