"""`/livez`, `/readyz` and `/healthz`: ready only when calls can really be served, with the reason when not.

Each cause of "not ready" is produced for real: a write lock held by another connection, an older schema,
a policy directory with no policy, a required upstream that cannot start, a journal that cannot write.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
import sqlalchemy as sa

from server.config import Settings
from server.lifecycle.records import NewCall
from server.runtime import Runtime, build_runtime
from server.upstream.config import StdioUpstream, UpstreamsConfig
from tests.mcp.support import demo_registry, make_runtime
from tests.ops.support import client, external_write_lock
from web.app import create_app


async def test_every_probe_answers_200_when_the_gateway_can_serve(settings: Settings, runtime: Runtime) -> None:
    async with client(create_app(settings, runtime)) as http:
        live, ready, health = await http.get("/livez"), await http.get("/readyz"), await http.get("/healthz")

    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "reasons": [],
        "checks": {"database": True, "schema": True, "policy": True, "upstreams": True, "journal": True},
    }
    assert health.status_code == 200


async def test_readyz_and_healthz_fail_while_another_connection_holds_the_write_lock(
    database_url: str, settings: Settings
) -> None:
    settings = settings.model_copy(update={"health_write_deadline_seconds": 1.0})
    runtime = make_runtime(settings)
    try:
        async with client(create_app(settings, runtime)) as http:
            with external_write_lock(database_url), anyio.fail_after(10):
                ready = await http.get("/readyz")
                health = await http.get("/healthz")
                live = await http.get("/livez")
            after = await http.get("/readyz")
    finally:
        runtime.close()

    assert ready.status_code == 503 and ready.json()["status"] == "not_ready", ready.json()
    [reason] = ready.json()["reasons"]
    assert reason.startswith("database: a write did not commit within 1 s")
    assert health.status_code == 503 and health.json()["status"] == "unavailable"
    assert live.status_code == 200  # the process still serves: no restart for a locked database
    assert after.status_code == 200


async def test_readyz_fails_on_a_schema_older_than_this_version_and_names_the_command(
    settings: Settings, runtime: Runtime
) -> None:
    with runtime.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0003_upstream'"))
    async with client(create_app(settings, runtime)) as http:
        ready = await http.get("/readyz")

    assert ready.status_code == 503
    assert ready.json()["checks"]["schema"] is False
    [reason] = ready.json()["reasons"]
    assert "0003_upstream" in reason and "run `countersign migrate`" in reason


async def test_readyz_fails_when_no_policy_is_loaded(settings: Settings, tmp_path: Path) -> None:
    empty = tmp_path / "no-policies"
    empty.mkdir()
    settings = settings.model_copy(update={"policies": empty})
    runtime = build_runtime(settings, registry=demo_registry())
    try:
        async with client(create_app(settings, runtime)) as http:
            ready = await http.get("/readyz")
    finally:
        runtime.close()

    assert ready.status_code == 503
    [reason] = ready.json()["reasons"]
    assert reason.startswith(f"policy: no policy is loaded from {empty}")


async def test_readyz_fails_while_a_required_upstream_is_not_connected_but_not_for_an_optional_one(
    settings: Settings, tmp_path: Path
) -> None:
    missing = (str(tmp_path / "no-such-mcp-server"),)
    upstreams = UpstreamsConfig(
        None,
        {
            "billing": StdioUpstream(command=missing, required=True, connect_timeout=2),
            "wiki": StdioUpstream(command=missing, required=False, connect_timeout=2),
        },
    )
    runtime = build_runtime(settings, registry=demo_registry(), upstreams=upstreams)
    try:
        async with client(create_app(settings, runtime)) as http:
            ready = await http.get("/readyz")
    finally:
        runtime.close()

    assert ready.status_code == 503
    [reason] = ready.json()["reasons"]
    assert reason.startswith("upstreams: required upstreams not connected: billing (")
    assert "wiki" not in reason


async def test_readyz_succeeds_with_a_required_upstream_once_it_is_connected(settings: Settings) -> None:
    server = Path(__file__).resolve().parent.parent / "upstream" / "changing_server.py"
    upstreams = UpstreamsConfig(
        None, {"echo": StdioUpstream(command=(sys.executable, str(server), "stdio"), required=True, connect_timeout=30)}
    )
    runtime = build_runtime(settings, registry=demo_registry(), upstreams=upstreams)
    assert runtime.hub is not None
    try:
        await anyio.to_thread.run_sync(runtime.hub.wait_settled, 40)
        assert runtime.hub.status()["echo"]["state"] == "up"
        async with client(create_app(settings, runtime)) as http:
            ready = await http.get("/readyz")
    finally:
        runtime.close()

    assert ready.status_code == 200, ready.json()


async def test_readyz_fails_while_the_allowed_call_journal_cannot_write(settings: Settings, runtime: Runtime) -> None:
    with runtime.store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_event RENAME TO audit_event_away")
    try:
        runtime.gateway.submit(NewCall(tool="search_customers", arguments={"query": "acme"}, agent="reader"))
        assert not runtime.gateway.journal.flush()
        async with client(create_app(settings, runtime)) as http:
            ready = await http.get("/readyz")
            health = await http.get("/healthz")
    finally:
        with runtime.store.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_event_away RENAME TO audit_event")
    assert runtime.gateway.journal.wait_until_written(timeout=10)

    assert ready.status_code == 503 and ready.json()["checks"]["journal"] is False
    assert "journal: the allowed-call journal cannot write" in ready.json()["reasons"]
    assert health.status_code == 503


async def test_readyz_fails_while_the_back_office_database_of_its_own_cannot_be_read(
    settings: Settings, tmp_path: Path
) -> None:
    office_file = tmp_path / "backoffice.db"
    settings = settings.model_copy(update={"backoffice_url": f"sqlite:///{office_file}"})
    runtime = make_runtime(settings)
    try:
        async with client(create_app(settings, runtime)) as http:
            before = await http.get("/readyz")
            runtime.office.engine.dispose()  # the next connection opens whatever the file now holds
            office_file.write_bytes(b"this is not a database" * 100)
            broken = await http.get("/readyz")
            health = await http.get("/healthz")
    finally:
        runtime.close()

    assert before.status_code == 200 and before.json()["checks"]["back_office"] is True
    assert broken.status_code == 503 and broken.json()["checks"]["back_office"] is False
    [reason] = broken.json()["reasons"]
    assert reason.startswith("back_office: the back office database (COUNTERSIGN_BACKOFFICE_URL) cannot be read: ")
    assert health.status_code == 200  # calls to await_decision and reviews still work: not a liveness matter


async def test_probes_answer_an_orchestrator_naming_the_pod_address_while_pages_still_refuse_that_host(
    settings: Settings, runtime: Runtime
) -> None:
    pod = {"Host": "10.1.2.3:8765"}
    async with client(create_app(settings, runtime)) as http:
        probes = [(await http.get(path, headers=pod)).status_code for path in ("/livez", "/readyz", "/healthz")]
        page = await http.get("/api/calls", headers=pod)
        posted = await http.post("/readyz", headers=pod)

    assert probes == [200, 200, 200]
    assert page.status_code == 421
    assert posted.status_code == 421  # only reads are let through
