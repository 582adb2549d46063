"""Concurrent calls: one effect per idempotency key, and checks that hold under racing writers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.tools.support import call
from tools.backoffice import BackOffice, ids
from tools.contract import ToolInputError

FULL_REFUND = {
    "customer_id": ids.REFUND_CUSTOMER_ID,
    "order_id": ids.REFUND_ORDER_ID,
    "amount": float(ids.REFUND_ORDER_TOTAL),
    "currency": "EUR",
    "reason": "Order returned in full",
}


def _race(workers: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(n)`` in ``workers`` threads released together; return results or raised errors."""
    barrier = threading.Barrier(workers)
    outcomes: list[Any] = [None] * workers

    def run(n: int) -> None:
        barrier.wait(timeout=10)
        try:
            outcomes[n] = work(n)
        except ToolInputError as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def _issued(office: BackOffice) -> list[dict[str, Any]]:
    return [r for r in office.dump()["bo_refund"] if r["order_id"] == ids.REFUND_ORDER_ID and r["status"] == "issued"]


def test_concurrent_duplicates_of_one_call_refund_once_and_share_the_result(office: BackOffice) -> None:
    outcomes = _race(4, lambda _: call(office, "issue_refund", FULL_REFUND, key="call-1"))
    assert all(isinstance(o, dict) for o in outcomes), outcomes
    assert all(o == outcomes[0] for o in outcomes)
    assert len(_issued(office)) == 1


def test_concurrent_refunds_never_exceed_the_order_total(office: BackOffice) -> None:
    outcomes = _race(4, lambda n: call(office, "issue_refund", FULL_REFUND, key=f"call-{n}"))
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert all(o.field == "amount" for o in outcomes if isinstance(o, ToolInputError))
    assert len(_issued(office)) == 1


def test_concurrent_payments_of_one_invoice_pay_once(office: BackOffice) -> None:
    args = {"vendor_id": ids.PAYABLE_VENDOR_ID, "invoice_id": ids.PAYABLE_INVOICE_ID,
            "amount": float(ids.PAYABLE_INVOICE_AMOUNT), "currency": "EUR"}  # fmt: skip
    outcomes = _race(4, lambda n: call(office, "pay_invoice", args, key=f"call-{n}"))
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert len([p for p in office.dump()["bo_payment"] if p["invoice_id"] == ids.PAYABLE_INVOICE_ID]) == 1
