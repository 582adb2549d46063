"""The disguised-word attack through the MCP surface: a real client, the default policy, the real store.

"compensation" with a zero-width space, a soft hyphen, a Cyrillic "о" or a tag character inside was
sent to the customer without review (4 of 4). Each must now wait in the compliance queue, unsent.
"""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa
from mcp import Client

from server.runtime import Runtime
from tests.mcp.support import EVIDENCE, mcp_server
from tests.text.test_readable import DISGUISED
from tools.backoffice import ids
from tools.backoffice import tables as t

NO_WAIT = {"countersign/inline_wait": 0}
SUBJECT = "About your order"


def _emails_sent(runtime: Runtime) -> int:
    with runtime.office.read() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.subject == SUBJECT)
            ).scalar_one()
        )


def _email(body: str) -> dict[str, object]:
    return {"customer_id": ids.REFUND_CUSTOMER_ID, "subject": SUBJECT, "body": body, "justification": EVIDENCE}


async def test_a_plain_routine_email_is_sent_at_once(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        with anyio.fail_after(10):
            result = await client.call_tool("send_customer_email", _email("Your parcel ships today."), meta=NO_WAIT)
    assert result.is_error is False
    assert (result.structured_content or {}).get("status") != "pending_approval"
    assert _emails_sent(runtime) == 1


@pytest.mark.parametrize("word", DISGUISED.values(), ids=DISGUISED.keys())
async def test_a_disguised_compensation_email_waits_for_compliance_unsent(runtime: Runtime, word: str) -> None:
    async with Client(mcp_server(runtime)) as client:
        with anyio.fail_after(10):
            result = await client.call_tool("send_customer_email", _email(f"We offer {word} of 20 EUR."), meta=NO_WAIT)
    data = result.structured_content or {}
    assert result.is_error is False
    assert data["status"] == "pending_approval"
    assert data["queue"] == "compliance"
    assert _emails_sent(runtime) == 0


async def test_hidden_characters_in_on_behalf_of_hold_a_read(runtime: Runtime) -> None:
    async with Client(mcp_server(runtime)) as client:
        with anyio.fail_after(10):
            result = await client.call_tool(
                "search_customers", {"query": "acme"}, meta={**NO_WAIT, "countersign/on_behalf_of": "fi\u200bona"}
            )
    assert (result.structured_content or {})["status"] == "pending_approval"
