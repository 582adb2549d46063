"""The daily digest and people named in routing: a real SMTP server (aiosmtpd), the test clock, no sleeps."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from server.cli import app
from server.notify.digest import DIGEST_EVENT, sweep_digests
from server.notify.email import EmailChannel, SmtpSettings
from server.notify.worker import Notifier, deliveries
from server.people import People
from server.policy import PolicyHolder
from server.store.db import Store
from server.store.models import AuditEvent, NotifyEvent, User
from tests.clock import Clock
from tests.core.conftest import hold
from tests.notify.mailserver import Inbox, smtp_url

HOUR = 8  # the clock starts at 09:00 UTC


def _policy(directory: Path, emails: str) -> PolicyHolder:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "policy.yaml").write_text(
        f"""version: 1
defaults: {{queue: finance}}
queues:
  finance:
    notify:
      email: {emails}
  general: {{}}
tools:
  issue_refund: {{action: hold, risk: high}}
""",
        encoding="utf-8",
    )
    return PolicyHolder(directory)


def _notifier(store: Store, policies: PolicyHolder, inbox: Inbox) -> Notifier:
    email = EmailChannel(SmtpSettings.from_url(smtp_url(inbox)), sender="countersign@example.com", timeout=5)
    return Notifier(store, policies, {"email": email}, base_url="https://countersign.example")


def _people(store: Store) -> People:
    people = People(store)
    people.create_user("ana", "reviewer", queues=["finance"])
    people.set_email("ana", "ana@example.com")
    people.set_digest("ana", "daily")
    people.create_user("bo", "reviewer", queues=["finance"])
    people.set_email("bo", "bo@example.com")
    return people


def _drain(notifier: Notifier) -> None:
    for _ in range(20):
        if notifier.run_once() == 0:
            return
    raise AssertionError("the outbox never drained")


def test_daily_digest_lists_the_persons_queues_held_calls_once_a_day_from_the_configured_hour(
    store: Store, database_url: str, clock: Clock, tmp_path: Path, inbox: Inbox
) -> None:
    _people(store)
    policies = _policy(tmp_path / "p", "[ops@example.com]")
    notifier = _notifier(store, policies, inbox)
    mine = hold(store, queue="finance")
    hold(store, queue="general", arguments={"order_id": "O-9", "amount": 5.0, "currency": "EUR"})
    clock.now = clock.now.replace(hour=HOUR - 1)
    assert sweep_digests(store, hour=HOUR) == []  # not yet the hour

    clock.now = clock.now.replace(hour=HOUR)
    assert sweep_digests(store, hour=HOUR) == ["ana"]
    other = Store.open(database_url, clock=clock, migrate_schema=False)  # a second instance, same database
    try:
        assert sweep_digests(other, hour=HOUR) == []  # delivered once across instances
    finally:
        other.close()
    assert sweep_digests(store, hour=HOUR) == []
    _drain(notifier)

    digests = [(to, mail) for to, mail in inbox.mails if "Daily digest" in mail["Subject"]]
    [(recipients, mail)] = digests
    assert recipients == ["ana@example.com"]
    assert "1 call(s)" in mail["Subject"]
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"https://countersign.example/calls/{mine.id}" in text
    assert "O-9" not in text and "general" not in text  # only ana's queues
    # ana chose the digest: no mail per event for her; the raw address still gets each event.
    assert sorted(to[0] for to, m in inbox.mails if "Daily digest" not in m["Subject"]) == ["ops@example.com"]

    clock.advance(days=1)
    assert sweep_digests(store, hour=HOUR) == ["ana"]  # the next day, the next digest


def test_a_day_with_nothing_held_sends_no_digest(store: Store, clock: Clock, tmp_path: Path, inbox: Inbox) -> None:
    _people(store)
    notifier = _notifier(store, _policy(tmp_path / "p", "[ana]"), inbox)
    assert sweep_digests(store, hour=HOUR) == ["ana"]  # the day is marked done...
    _drain(notifier)
    assert inbox.mails == []  # ...but nothing is sent


def test_queue_naming_people_mails_them_at_their_address_and_an_unknown_name_is_a_dead_delivery(
    store: Store, tmp_path: Path, inbox: Inbox
) -> None:
    _people(store)
    notifier = _notifier(store, _policy(tmp_path / "p", "[bo, ana, nobody, bo@example.com]"), inbox)
    hold(store)
    _drain(notifier)
    assert [to for to, _ in inbox.mails] == [["bo@example.com"]]  # once, though named and listed
    [dead] = [row.delivery for row in deliveries(store, status="dead")]
    assert dead.target == "nobody" and "not an enabled Countersign person" in (dead.last_error or "")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_sets_the_digest_with_the_address_and_refuses_an_unknown_choice(
    store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    People(store).create_user("ana", "reviewer")
    monkeypatch.setenv("COUNTERSIGN_DATABASE_URL", database_url)
    runner = CliRunner()
    bad = runner.invoke(app, ["user", "set-email", "ana", "ana@example.com", "--digest", "weekly"])
    assert bad.exit_code == 1 and "daily or off" in bad.output
    ok = runner.invoke(app, ["user", "set-email", "ana", "ana@example.com", "--digest", "daily"])
    assert ok.exit_code == 0, ok.output
    with store.read() as session:
        user = session.exec(select(User).where(User.name == "ana")).one()
        assert (user.email, user.email_digest) == ("ana@example.com", "daily")
        audited = session.exec(select(AuditEvent).where(AuditEvent.event_type == "user_digest_set")).one()
    assert audited.data == {"user": "ana", "digest": "daily"}
    off = runner.invoke(app, ["user", "set-email", "ana", "ana@example.com", "--digest", "off"])
    assert off.exit_code == 0
    assert People(store).get_user("ana").email_digest is None  # type: ignore[union-attr]


def test_two_instances_sweeping_at_the_same_moment_write_one_digest(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    _people(store)
    hold(store)
    others = [Store.open(database_url, clock=store.clock, migrate_schema=False) for _ in range(2)]
    start = threading.Barrier(2, timeout=10)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def sweep(instance: Store) -> None:
        try:
            start.wait()
            results.append(sweep_digests(instance, hour=HOUR))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(s,)) for s in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for other in others:
        other.close()
    assert errors == [] and sorted(results) == [[], ["ana"]]
    with store.read() as session:
        assert len(session.exec(select(NotifyEvent).where(NotifyEvent.event_type == DIGEST_EVENT)).all()) == 1
