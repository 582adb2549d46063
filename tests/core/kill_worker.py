"""Run in a subprocess: a server core taking a stream of allowed calls, until the test SIGKILLs it.

Usage: python -m tests.core.kill_worker DATABASE_URL KIND THREADS
KIND: act (small refunds the default policy allows) | read (customer searches)

It builds the runtime the way `countersign serve` does (journal writer process included) and
submits calls through the gateway from THREADS threads, printing "ok CALL_ID" for each call that
answered success, the moment it answered. No HTTP in between: what is tested is the record of a
call against its effect, and the gateway is where both happen.
"""

from __future__ import annotations

import sys
import threading

from server.config import Settings
from server.lifecycle.records import NewCall
from server.policy.types import Evidence, Justification
from server.runtime import build_runtime
from tests.conftest import REPO
from tools.backoffice import ids

SURE = Justification(reason="customer ticket", evidence=(Evidence(source="ticket:T-1"),), confidence=0.95)


def call(kind: str, n: int) -> NewCall:
    if kind == "read":
        return NewCall(tool="search_customers", arguments={"query": f"acme {n}"}, agent="reader")
    arguments = {
        "customer_id": ids.REFUND_CUSTOMER_ID,
        "order_id": ids.REFUND_ORDER_ID,
        "amount": 0.01,
        "currency": "EUR",
        "reason": f"goodwill {n}",
    }
    return NewCall(tool="issue_refund", arguments=arguments, agent="support-bot", justification=SURE)


def main(url: str, kind: str, threads: int) -> None:
    runtime = build_runtime(Settings(database_url=url, policies=REPO / "policies", journal_writer="process"))
    out = threading.Lock()
    counter = iter(range(10**9))

    def loop() -> None:
        while True:
            submission = runtime.gateway.submit(call(kind, next(counter)))
            assert submission.ran is not None and not submission.ran["is_error"], submission.ran
            with out:
                sys.stdout.write(f"ok {submission.ran['id']}\n")
                sys.stdout.flush()

    workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
