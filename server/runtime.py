"""Everything a running Countersign needs, built from Settings in one place.

    runtime = build_runtime(settings)        # store (migrated), policy, tools, back office, gateway
    async with sweeping(runtime): ...        # expire overdue calls, recover executions, in the background
    runtime.close()

The demo back office keeps its own ``bo_`` tables on the gateway's engine, so one database file
(or one PostgreSQL schema) holds both, and every process that shares it sees the same records;
``COUNTERSIGN_BACKOFFICE_URL`` gives it a database of its own instead.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import sqlalchemy as sa

from server import plugins
from server.config import Settings
from server.gateway import Gateway
from server.lifecycle.execution import ToolRunner
from server.lifecycle.journal_process import can_share, process_writer
from server.lifecycle.lease import Leases
from server.lifecycle.waiting import ChangeBus
from server.notify.digest import sweep_digests
from server.notify.routing_audit import RoutingAuditor
from server.notify.setup import notifier_from
from server.notify.sla import sweep_sla
from server.notify.worker import Notifier
from server.people import People
from server.policy import PolicyHolder
from server.runner import registry_runner, with_external
from server.store.db import Store, StoreUnavailable
from server.store.notify_pg import ChangeFeed
from server.upstream.config import UpstreamsConfig

if TYPE_CHECKING:
    from server.upstream.hub import UpstreamHub
from tools.contract import ToolRegistry

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    store: Store
    policies: PolicyHolder
    registry: ToolRegistry
    office: Any
    gateway: Gateway
    people: People
    notifier: Notifier
    # The upstream MCP servers' sessions (None without upstreams in the configuration).
    hub: UpstreamHub | None = None
    # Closes the back office's own engine, when it has one (COUNTERSIGN_BACKOFFICE_URL).
    close_office: Callable[[], None] | None = None
    routing_auditor: RoutingAuditor = field(init=False)

    def __post_init__(self) -> None:
        self.routing_auditor = RoutingAuditor(self.store)

    def close(self) -> None:
        if self.hub is not None:
            self.hub.close()
        self.gateway.close()  # flush the allowed-call journal before the engine goes away
        self.store.close()
        if self.close_office is not None:
            self.close_office()


def build_runtime(
    settings: Settings,
    *,
    registry: ToolRegistry | None = None,
    office: Any = None,
    runner: ToolRunner | None = None,
    store: Store | None = None,
    upstreams: UpstreamsConfig | None = None,
) -> Runtime:
    """Open the store (migrating it), load the policy, and wire the gateway. Tests inject any part."""
    if registry is None:  # first: a plugin that does not load opens nothing
        registry = plugins.tool_registry(settings.tools)
    close_office = None
    if office is None and settings.backoffice_url:  # before the store: a wrong URL changes nothing
        office = _own_back_office(settings.backoffice_url)
        close_office = office.engine.dispose
    store = store or Store.open(settings.database_url)
    if office is None:
        office = _shared_back_office(store)
    policies = PolicyHolder(settings.policies)
    runner = runner or registry_runner(registry, office)
    hub = external = None
    if upstreams is not None and upstreams.upstreams:
        # Imported here: the MCP client is heavy, and a gateway without upstreams does not need it.
        from server.upstream.hub import UpstreamHub
        from server.upstream.pins import Pins
        from server.upstream.tools import UpstreamTools

        pins = Pins(store)
        hub = UpstreamHub(upstreams, pins).start()  # connects in the background; calls fail clearly until up
        external = UpstreamTools(hub, policies, pins)
        runner = with_external(runner, external, registry)
    gateway = Gateway(
        store=store,
        policies=policies,
        registry=registry,
        runner=runner,
        bus=ChangeBus(poll_interval=settings.wait_poll_seconds),
        journal_writer=process_writer(store) if settings.journal_writer == "process" and can_share(store) else None,
        external=external,
        office=office,
        base_url=settings.base_url,
        leases=leases_from(settings),
    )
    notifier = notifier_from(settings, store, policies, page_only=lambda call_id: page_only(gateway, call_id))
    return Runtime(
        settings, store, policies, registry, office, gateway, People(store), notifier, hub, close_office=close_office
    )


def page_only(gateway: Gateway, call_id: str) -> list[str]:
    """Why approving a held call needs its packet page (override grounds); Slack shows no buttons then."""
    call = gateway.get_call(call_id)
    if call is None:
        return ["the call is unknown"]
    return list(gateway.review.proposal(call).grounds)


def leases_from(settings: Settings) -> Leases:
    defaults = Leases()
    return Leases(
        lease=timedelta(seconds=settings.execution_lease_seconds),
        heartbeat=settings.execution_heartbeat_seconds,
        grace=timedelta(seconds=settings.execution_grace_seconds),
        instance_id=settings.instance_id or defaults.instance_id,
    )


def _shared_back_office(store: Store) -> Any:
    from tools.backoffice import BackOffice

    return BackOffice.create(store.engine)


def _own_back_office(url: str) -> Any:
    from tools.backoffice import BackOffice

    try:
        return BackOffice.from_url(url)
    except sa.exc.SQLAlchemyError as exc:
        reason = exc.orig if isinstance(exc, sa.exc.DBAPIError) else exc
        message = f"the back office database (COUNTERSIGN_BACKOFFICE_URL) cannot be used: {reason}"
        raise StoreUnavailable(message) from exc


def seed_demo(runtime: Runtime) -> bool:
    """Fill the demo back office when it is empty; True when it seeded."""
    from tools.backoffice import seed

    return bool(seed(runtime.office))


async def run_sweeper(gateway: Gateway, every: float) -> None:
    """Call ``gateway.sweep()`` every ``every`` seconds, in a worker thread, until cancelled."""
    while True:
        try:
            await anyio.to_thread.run_sync(gateway.sweep)
        except Exception:  # top-level loop: one failed sweep (database blip) must not stop the next
            logger.exception("expiry sweep failed; retrying in %.0f s", every)
        await anyio.sleep(every)


def notify_pass(runtime: Runtime) -> None:
    """Routing changes audited, SLA reminders and escalations, due digests, then the outbox delivered."""
    runtime.routing_auditor.check(runtime.policies.current())
    sweep_sla(runtime.store, runtime.policies)
    sweep_digests(runtime.store, hour=runtime.settings.digest_hour)
    while runtime.notifier.run_once() > 0:  # drain a backlog before sleeping
        pass


async def run_notifier(runtime: Runtime, every: float) -> None:
    """Deliver notifications every ``every`` seconds, in a worker thread, until cancelled.

    Its own task: a slow receiver delays other notifications, never the expiry sweep or any call.
    """
    while True:
        try:
            await anyio.to_thread.run_sync(notify_pass, runtime)
        except Exception:  # top-level loop: a database blip must not stop notifications for good
            logger.exception("notification pass failed; retrying in %.0f s", every)
        await anyio.sleep(every)


@asynccontextmanager
async def sweeping(runtime: Runtime) -> AsyncIterator[None]:
    """Run the sweeper and the notification worker in the background for the duration of the block.

    The sweep is safe on every instance at once: each step is a compare-and-set under a row lock.
    """
    async with instances_linked(runtime), anyio.create_task_group() as group:
        group.start_soon(run_sweeper, runtime.gateway, runtime.settings.expiry_sweep_seconds)
        group.start_soon(run_notifier, runtime, runtime.settings.notify_poll_seconds)
        try:
            yield
        finally:
            group.cancel_scope.cancel()


@asynccontextmanager
async def instances_linked(runtime: Runtime) -> AsyncIterator[None]:
    """On PostgreSQL, the change feed that carries decisions between instances (server/store/notify_pg.py)."""
    settings = runtime.settings
    bus = runtime.gateway.bus
    feed = ChangeFeed.for_url(settings.database_url, bus, retry_seconds=settings.listen_retry_seconds)
    if not settings.pg_listen:
        feed = None
    if feed is None:
        yield
        return
    feed.start()
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(feed.close)
