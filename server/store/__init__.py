"""Persistence: tables, engine, migrations, the audit chain and the queries the gateway needs."""

from server.store.db import Store, StoreUnavailable, migrate

__all__ = ["Store", "StoreUnavailable", "migrate"]
