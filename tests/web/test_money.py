"""Money is checked once, when the agent submits: as a decimal with the currency's places.

The mistake: a refund of 60.005 EUR used to pass the schema, wait for a person, and fail only after
approval. Now it is refused at submission, naming ``amount``, and a valid amount reaches the policy,
the reviewer's packet and the tool as one and the same value. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from decimal import Decimal

import anyio
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from mcp import Client

from server.lifecycle.actors import Person
from server.lifecycle.states import CallStatus
from server.runtime import Runtime
from tests.mcp.support import mcp_server
from tests.web.support import refund, sign_in
from tools.backoffice import ids
from tools.backoffice import tables as t

ALICE = Person("alice", "reviewer", frozenset({"finance", "finance-senior"}))


def refunds_on_the_order(runtime: Runtime) -> list[dict[str, object]]:
    with runtime.office.read() as conn:
        rows = conn.execute(sa.select(t.refunds).where(t.refunds.c.order_id == ids.REFUND_ORDER_ID)).mappings()
        return [dict(row) for row in rows]


@pytest.mark.parametrize(
    ("amount", "currency", "words"),
    [(60.005, "EUR", "at most 2 decimal places in EUR"), (100.5, "JPY", "no decimal places in JPY")],
    ids=["three-decimals-eur", "decimals-in-yen"],
)
async def test_an_amount_with_more_decimals_than_its_currency_is_refused_at_submission_and_never_held(
    runtime: Runtime, amount: float, currency: str, words: str
) -> None:
    async with Client(mcp_server(runtime)) as client:
        with anyio.fail_after(10):
            result = await client.call_tool("issue_refund", refund(amount, currency=currency))

    data = result.structured_content or {}
    assert result.is_error is True
    assert data["status"] == "invalid_arguments" and data["field"] == "amount"
    assert words in data["error"] and str(amount) in data["error"]
    stored = runtime.gateway.get_call(data["call_id"])
    assert stored is not None and stored.status == CallStatus.BLOCKED and stored.category == "invalid-arguments"
    assert runtime.gateway.list_calls(statuses=[CallStatus.HELD]) == []
    assert refunds_on_the_order(runtime) == []


async def test_the_json_schema_tells_the_agent_the_currency_decides_the_decimals(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}

    amount = tools["issue_refund"].input_schema["properties"]["amount"]
    assert amount["type"] == "number"
    assert "at most 2" in amount["description"] and "none for JPY" in amount["description"]


async def test_a_valid_amount_is_the_same_value_for_the_policy_the_reviewer_and_the_tool(
    runtime: Runtime, client: TestClient
) -> None:
    async with Client(mcp_server(runtime)) as agent:
        with anyio.fail_after(10):
            pending = await agent.call_tool("issue_refund", refund(60.01), meta={"countersign/inline_wait": 0})
    call_id = (pending.structured_content or {})["call_id"]
    held = runtime.gateway.get_call(call_id)
    assert held is not None and held.status == CallStatus.HELD

    # The policy's exposure is the stored argument, exactly.
    assert held.verdict is not None and held.verdict["exposure"] == {"amount": 60.01, "currency": "EUR"}
    assert held.exposure_amount == 60.01 and json.loads(held.arguments)["amount"] == 60.01
    assert Decimal(str(held.exposure_amount)) == Decimal("60.01")

    # The reviewer reads the same amount on the packet.
    sign_in(client, "alice")
    packet = client.get(f"/calls/{call_id}").text
    assert "60.01 EUR" in packet and "60.00 EUR" not in packet and "60.02 EUR" not in packet

    # The tool pays it to the cent.
    outcome = runtime.gateway.approve(call_id, ALICE, expected_args_hash=held.args_hash)
    assert outcome.call.status == CallStatus.SUCCEEDED, outcome.call.error
    assert outcome.call.result is not None and outcome.call.result["amount"] == "60.01"
    assert [row["amount_cents"] for row in refunds_on_the_order(runtime)] == [6001]
