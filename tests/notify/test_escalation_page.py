"""An escalation to another queue on the real web app: the packet says so, and the new queue's reviewers decide it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.notify.sla import sweep_sla
from server.people import person_from_user
from server.review import Approval, Channel, Via
from server.runtime import Runtime
from tests.conftest import REPO
from tests.web.support import Clock, hold_refund, make_runtime, make_settings, sign_in
from web.app import create_app


@pytest.fixture
def runtime(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    default = policies / "default.yaml"
    text = default.read_text(encoding="utf-8")
    default.write_text(text.replace("  finance:\n", "  finance:\n    notify: {escalate_to: support}\n", 1))
    runtime = make_runtime(make_settings(database_url, policies=policies), Clock())
    yield runtime
    runtime.close()


def test_escalated_call_shows_where_it_came_from_and_the_new_queue_decides_it(runtime: Runtime) -> None:
    call = hold_refund(runtime)  # the finance queue: SLA 2h
    with TestClient(create_app(runtime.settings, runtime), base_url="http://testserver") as client:
        sign_in(client, "sam")  # sam reviews support only
        assert client.get(f"/calls/{call.id}").status_code in (403, 404)
        runtime.store.clock.advance(hours=3)  # type: ignore[attr-defined]
        assert sweep_sla(runtime.store, runtime.policies) == [(call.id, "escalated")]
        sign_in(client, "sam")  # again: three idle hours ended the first session
        page = client.get(f"/calls/{call.id}")
        assert page.status_code == 200
        assert "escalated to queue <strong>support</strong> from queue finance" in page.text
    user = runtime.people.get_user("sam")
    assert user is not None
    outcome = runtime.gateway.review.approve(
        call.id, person_from_user(user), Approval(call.args_hash, reason="ok"), via=Via(Channel.API)
    )
    assert outcome.approved
