"""The notifications page: dead deliveries are visible to admins, who can send them again."""

from __future__ import annotations

from sqlmodel import select

from server.runtime import Runtime
from server.store.models import AuditEvent, NotifyDelivery, NotifyEvent
from tests.admin.web import Visitor


def _dead_delivery(runtime: Runtime) -> int:
    now = runtime.store.now()
    with runtime.store.write() as session:
        session.add(NotifyEvent(id="ev-1", key="ev-1", event_type="call.held", queue="finance", created_at=now))
        session.flush()
        delivery = NotifyDelivery(
            event_id="ev-1",
            channel="webhook",
            target="https://hooks.example.com/x",
            status="dead",
            attempts=8,
            last_error="the receiver answered HTTP 503",
            next_attempt_at=now,
        )
        session.add(delivery)
        session.flush()
        assert delivery.id is not None
        return delivery.id


def _delivery(runtime: Runtime, delivery_id: int) -> NotifyDelivery:
    with runtime.store.read() as session:
        found = session.get(NotifyDelivery, delivery_id)
        assert found is not None
        return found


def test_admin_sees_a_dead_delivery_and_retries_it_with_an_audit_event(admin: Visitor, runtime: Runtime) -> None:
    delivery_id = _dead_delivery(runtime)
    page = admin.get("/admin/notifications?status=dead")
    assert page.status_code == 200
    assert f'data-delivery="{delivery_id}"' in page.text and "HTTP 503" in page.text

    response = admin.post(f"/admin/notifications/{delivery_id}/retry")
    assert response.status_code == 303
    retried = _delivery(runtime, delivery_id)
    assert (retried.status, retried.attempts) == ("pending", 0)
    with runtime.store.read() as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.event_type == "notification_retried")).one()
    assert event.actor == "ada"


def test_retry_with_a_forged_csrf_token_changes_nothing(admin: Visitor, runtime: Runtime) -> None:
    delivery_id = _dead_delivery(runtime)
    admin.csrf = "forged"
    assert admin.post(f"/admin/notifications/{delivery_id}/retry").status_code == 403
    assert _delivery(runtime, delivery_id).status == "dead"


def test_unknown_status_filter_is_a_clear_400(admin: Visitor) -> None:
    response = admin.get("/admin/notifications?status=bogus")
    assert response.status_code == 400 and "pending, sent or dead" in response.text
