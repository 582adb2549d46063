"""A delivery worker in its own process: one pass over the outbox (the kill test), or a drain.

python -m tests.notify.worker_proc DATABASE_URL POLICY_DIR            one pass, then exit
python -m tests.notify.worker_proc DATABASE_URL POLICY_DIR drain      print "ready", wait for a line on
                                                                      stdin, deliver until nothing is due
"""

from __future__ import annotations

import sys

from server.policy import PolicyHolder
from server.store.db import Store
from tests.notify.conftest import make_notifier


def main() -> None:
    store = Store.open(sys.argv[1], migrate_schema=False)
    notifier = make_notifier(store, PolicyHolder(sys.argv[2]))
    if sys.argv[3:] == ["drain"]:
        print("ready", flush=True)
        sys.stdin.readline()  # both instances start together
        while notifier.run_once(limit=2) > 0:
            pass
    else:
        notifier.run_once()
    store.close()


if __name__ == "__main__":
    main()
