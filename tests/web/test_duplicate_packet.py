"""The packet of a repeat of a recently approved call says so, with a link to the earlier call."""

from __future__ import annotations

from fastapi.testclient import TestClient

from server.lifecycle.actors import Person
from server.runtime import Runtime
from tests.web.support import hold_refund, sign_in


def test_the_packet_of_a_repeated_approved_call_links_the_earlier_call(client: TestClient, runtime: Runtime) -> None:
    first = hold_refund(runtime)
    runtime.gateway.approve(first.id, Person("bob", "admin"), override_reason="checked")
    repeat = hold_refund(runtime)
    sign_in(client, "alice")
    page = client.get(f"/calls/{repeat.id}").text
    assert repeat.id != first.id
    assert 'id="possible-duplicate"' in page
    assert f'<a href="/calls/{first.id}">{first.id}</a>' in page
    assert f"possible duplicate of {first.id}" in page


def test_an_ordinary_packet_says_nothing_about_duplicates(client: TestClient, runtime: Runtime) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    assert 'id="possible-duplicate"' not in client.get(f"/calls/{call.id}").text
