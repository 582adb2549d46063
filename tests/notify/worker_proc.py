"""A delivery worker in its own process, for the kill test: one pass over the outbox, then exit.

python -m tests.notify.worker_proc DATABASE_URL POLICY_DIR
"""

from __future__ import annotations

import sys

from server.policy import PolicyHolder
from server.store.db import Store
from tests.notify.conftest import make_notifier


def main() -> None:
    store = Store.open(sys.argv[1], migrate_schema=False)
    make_notifier(store, PolicyHolder(sys.argv[2])).run_once()
    store.close()


if __name__ == "__main__":
    main()
