"""An escalated call says so on its packet, with the queue it went to."""

from __future__ import annotations

from fastapi.testclient import TestClient

from server.lifecycle.decisions import transition_event
from server.lifecycle.states import CallStatus
from server.runtime import Runtime
from server.store.models import ToolCall
from tests.web.support import hold_refund, sign_in


def test_packet_of_an_escalated_call_shows_the_escalation(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    assert 'id="escalation"' not in client.get(f"/calls/{call.id}").text
    with runtime.store.write() as session:
        row = session.get(ToolCall, call.id)
        assert row is not None
        transition_event(
            session,
            row,
            "escalated",
            before=CallStatus.HELD,
            at=runtime.store.now(),
            reason="the SLA passed",
            data={"escalated_to": "finance-senior"},
        )
    page = client.get(f"/calls/{call.id}").text
    assert 'id="escalation"' in page and "escalated to <strong>finance-senior</strong>" in page
