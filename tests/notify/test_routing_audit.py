"""Routing changes are audited: old -> new per queue, once, however many instances notice the change."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlmodel import col, select

from server.notify.digest import DIGEST_EVENT
from server.notify.routing_audit import EVENT_TYPE, RoutingAuditor
from server.notify.worker import deliveries
from server.policy import PolicyHolder
from server.runtime import notify_pass
from server.store import audit
from server.store.db import Store
from server.store.models import AuditEvent
from tests.notify.support import write_policy
from tests.web.support import Clock, hold_refund, make_runtime, make_settings


def _records(store: Store) -> list[AuditEvent]:
    with store.read() as session:
        query = select(AuditEvent).where(AuditEvent.event_type == EVENT_TYPE).order_by(col(AuditEvent.seq))
        return list(session.exec(query).all())


def test_changed_routing_is_audited_with_old_and_new_per_queue_once_across_instances(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    directory = write_policy(tmp_path / "p", webhook="https://hooks.example.com/a")
    policies = PolicyHolder(directory)
    first, second = RoutingAuditor(store), RoutingAuditor(store)
    assert first.check(policies.current())  # the first routing seen is recorded
    assert not second.check(policies.current())  # another instance: already recorded
    assert not first.check(policies.current())  # unchanged: nothing new

    text = (directory / "policy.yaml").read_text().replace("hooks.example.com/a", "hooks.example.com/b")
    (directory / "policy.yaml").write_text(text.replace("      email: [leads@example.com]", "      email: [ana]"))
    policy = policies.refresh(force=True)
    assert second.check(policy) and not first.check(policy)

    initial, changed = _records(store)
    assert set(initial.data["changes"]["queues"]) == {"finance", "finance-senior"}  # type: ignore[index]
    queues = changed.data["changes"]["queues"]  # type: ignore[index]
    assert queues["finance"]["old"]["notify"]["webhooks"] == ["https://hooks.example.com/a"]
    assert queues["finance"]["new"]["notify"]["webhooks"] == ["https://hooks.example.com/b"]
    assert queues["finance-senior"]["old"]["notify"]["email"] == ["leads@example.com"]
    assert queues["finance-senior"]["new"]["notify"]["email"] == ["ana"]
    assert changed.actor == "policy" and changed.data["policy_version"] == policy.version  # type: ignore[index,union-attr]
    with store.read() as session:
        assert audit.verify(session).ok


def test_a_change_of_a_rules_decide_in_is_audited(store: Store, tmp_path: Path) -> None:
    directory = write_policy(tmp_path / "p", webhook="https://hooks.example.com/a")
    policies = PolicyHolder(directory)
    auditor = RoutingAuditor(store)
    auditor.check(policies.current())
    text = (directory / "policy.yaml").read_text()
    text += "rules:\n  - id: slack-ok\n    tools: [issue_refund]\n    action: hold\n    decide_in: [page, slack]\n"
    (directory / "policy.yaml").write_text(text)
    assert auditor.check(policies.refresh(force=True))
    assert _records(store)[-1].data["changes"] == {  # type: ignore[index]
        "rules": {"slack-ok": {"old": None, "new": ["page", "slack"]}}
    }


def test_a_running_gateways_notification_pass_audits_routing_and_writes_due_digests(database_url: str) -> None:
    runtime = make_runtime(make_settings(database_url, digest_hour=0), Clock())
    try:
        runtime.people.set_email("alice", "alice@example.com")
        runtime.people.set_digest("alice", "daily")
        hold_refund(runtime)
        notify_pass(runtime)
        assert len(_records(runtime.store)) == 1
        [row] = [r for r in deliveries(runtime.store) if r.event.event_type == DIGEST_EVENT]
        assert row.delivery.target == "alice@example.com"
        assert "COUNTERSIGN_SMTP_URL" in (row.delivery.last_error or "")  # no SMTP here: recorded, retried
    finally:
        runtime.close()


def test_two_instances_noticing_the_same_change_at_once_record_it_once(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    policy = PolicyHolder(write_policy(tmp_path / "p", webhook="https://hooks.example.com/a")).current()
    others = [Store.open(database_url, clock=store.clock, migrate_schema=False) for _ in range(2)]
    start = threading.Barrier(2, timeout=10)
    results: list[bool] = []
    errors: list[BaseException] = []

    def check(instance: Store) -> None:
        try:
            start.wait()
            results.append(RoutingAuditor(instance).check(policy))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=check, args=(s,)) for s in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for other in others:
        other.close()
    assert errors == [] and sorted(results) == [False, True]
    assert len(_records(store)) == 1
