"""The audit page's export streams a 100,000-event trail that verifies offline."""

from __future__ import annotations

import json

import pytest

from server.runtime import Runtime
from server.store import audit
from tests.admin.chain import bulk_chain
from tests.admin.web import Visitor


@pytest.mark.slow  # 100,000 events: a soak, run by `make test-slow`
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # 100,000 rows: SQLite only keeps the suite quick
def test_the_jsonl_export_of_100000_events_streams_and_verifies(admin: Visitor, runtime: Runtime) -> None:
    bulk_chain(runtime.store.engine, 100_000)
    with admin.client.stream("GET", "/admin/audit/export.jsonl") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/x-ndjson")
        # Verified line by line as it arrives, never held whole.
        report = audit.verify_rows(json.loads(line) for line in response.iter_lines() if line)
    assert report.ok and report.events > 100_000  # the bulk events plus the people created by the fixture
