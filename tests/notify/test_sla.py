"""SLA escalation: a reminder at 80% of the SLA, an escalation once it passed; each once, audited, told."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select

from server.lifecycle import decisions
from server.lifecycle.actors import Person
from server.lifecycle.errors import Forbidden
from server.notify.email import EmailChannel, SmtpSettings
from server.notify.sla import sweep_sla
from server.notify.worker import Notifier
from server.people import People
from server.policy import PolicyHolder
from server.store.db import Store
from server.store.models import AuditEvent, ToolCall
from tests.clock import Clock
from tests.core.conftest import hold
from tests.notify.mailserver import Inbox, smtp_url
from tests.notify.support import Receiver, write_policy

# Calls held by tests.core.conftest get the verdict's default SLA (4 hours); their expiry is set past it here.
SLA_HOURS = 4


def _audit(store: Store, call_id: str) -> list[AuditEvent]:
    with store.read() as session:
        return list(
            session.exec(select(AuditEvent).where(AuditEvent.call_id == call_id).order_by(col(AuditEvent.seq))).all()
        )


def test_reminder_at_80_percent_then_escalation_each_written_once(
    store: Store, policies: PolicyHolder, clock: Clock
) -> None:
    call = hold(store, expires=24 * 3600)
    clock.advance(hours=SLA_HOURS * 0.79)
    assert sweep_sla(store, policies) == []
    clock.advance(hours=SLA_HOURS * 0.02)
    assert sweep_sla(store, policies) == [(call.id, "sla_at_risk")]
    assert sweep_sla(store, policies) == []
    clock.advance(hours=SLA_HOURS * 0.2)
    assert sweep_sla(store, policies) == [(call.id, "escalated")]
    assert sweep_sla(store, policies) == []

    events = _audit(store, call.id)
    assert [e.event_type for e in events] == ["held", "sla_at_risk", "escalated"]
    escalated = events[-1]
    assert escalated.data == {"escalated_to": "finance-senior", "kind": "queue", "from_queue": "finance"}
    assert escalated.before_status == escalated.after_status == "held"
    with store.read() as session:
        moved = session.get(ToolCall, call.id)
    assert moved is not None and (moved.status, moved.queue) == ("held", "finance-senior")


def test_call_escalated_to_another_queue_is_decided_by_that_queues_reviewers(
    store: Store, policies: PolicyHolder, clock: Clock
) -> None:
    call = hold(store, expires=24 * 3600)
    clock.advance(hours=SLA_HOURS + 1)
    sweep_sla(store, policies)
    with pytest.raises(Forbidden):  # a reviewer of the first queue only no longer decides it
        decisions.approve(store, call.id, Person("anna", "reviewer", frozenset({"finance"})))
    lead = Person("lena", "reviewer", frozenset({"finance-senior"}))
    assert decisions.approve(store, call.id, lead).approved


def test_escalation_to_a_person_emails_them_at_once_and_leaves_the_call_in_its_queue(
    store: Store, clock: Clock, tmp_path: Path, inbox: Inbox
) -> None:
    people = People(store)
    people.create_user("lena", "reviewer", queues=["finance"])
    people.set_email("lena", "lena@example.com")
    people.set_digest("lena", "daily")  # the digest does not delay an escalation
    directory = write_policy(tmp_path / "p", webhook="https://hooks.example.com/x")
    text = (directory / "policy.yaml").read_text().replace("escalate_to: finance-senior", "escalate_to: {person: lena}")
    (directory / "policy.yaml").write_text(text + "", encoding="utf-8")
    policies = PolicyHolder(directory)
    email = EmailChannel(SmtpSettings.from_url(smtp_url(inbox)), sender="countersign@example.com", timeout=5)
    notifier = Notifier(store, policies, {"email": email}, base_url="https://countersign.example")
    call = hold(store, expires=24 * 3600)
    clock.advance(hours=SLA_HOURS + 1)
    assert sweep_sla(store, policies) == [(call.id, "escalated")]
    while notifier.run_once():
        pass
    [(recipients, mail)] = inbox.mails
    assert recipients == ["lena@example.com"] and "Escalated" in mail["Subject"]
    assert "Queue: finance" in mail.get_body(("plain",)).get_content().splitlines()  # the call stayed there
    escalated = _audit(store, call.id)[-1]
    assert escalated.data == {"escalated_to": "lena", "kind": "person", "from_queue": "finance"}
    with store.read() as session:
        assert session.get(ToolCall, call.id).queue == "finance"  # type: ignore[union-attr]


def test_escalation_mail_to_the_queue_taking_the_call_over_names_both_queues(
    store: Store, clock: Clock, tmp_path: Path, inbox: Inbox
) -> None:
    policies = PolicyHolder(write_policy(tmp_path / "p", webhook="https://hooks.example.com/x"))
    email = EmailChannel(SmtpSettings.from_url(smtp_url(inbox)), sender="countersign@example.com", timeout=5)
    notifier = Notifier(store, policies, {"email": email}, base_url="https://countersign.example")
    hold(store, expires=24 * 3600)
    clock.advance(hours=SLA_HOURS + 1)
    sweep_sla(store, policies)
    while notifier.run_once():
        pass
    [(recipients, mail)] = inbox.mails  # finance-senior's address; finance sends only to its webhook
    assert recipients == ["leads@example.com"] and "Escalated" in mail["Subject"]
    assert "Queue: finance → finance-senior" in mail.get_body(("plain",)).get_content().splitlines()


def test_escalation_reaches_the_queue_and_the_escalation_queue(
    store: Store, policies: PolicyHolder, notifier: Notifier, hook: Receiver, clock: Clock
) -> None:
    hold(store, expires=24 * 3600)
    clock.advance(hours=SLA_HOURS + 1)
    sweep_sla(store, policies)
    while notifier.run_once():  # the escalation waits until the call's held event is sent
        pass
    assert [r.event["type"] for r in hook.received] == ["call.held", "call.escalated"]
    escalated = hook.received[-1].event["data"]
    assert escalated["transition"] == "escalated" and "finance-senior" in escalated["reason"]
    # A webhook consumer learns where the call went without parsing the reason.
    assert escalated["escalation"] == {"from_queue": "finance", "to": "finance-senior", "kind": "queue"}


def test_decided_call_is_never_escalated(store: Store, policies: PolicyHolder, clock: Clock) -> None:
    call = hold(store, expires=24 * 3600)
    decisions.reject(store, call.id, Person("anna", "reviewer", ("finance",)), reason="no")
    clock.advance(hours=SLA_HOURS + 1)
    assert sweep_sla(store, policies) == []
