"""publish_pricing_claim: a new public claim, never a duplicate; risky wording flagged in the preview."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.support import call, changed_tables, preview, refused
from tools.backoffice import BackOffice, ids


def _claims(office: BackOffice, page_id: str) -> list[str]:
    return [c["text"] for c in office.dump()["bo_pricing_claim"] if c["page_id"] == page_id]


def test_claim_is_published_on_the_page(office: BackOffice) -> None:
    before = office.dump()
    result = call(office, "publish_pricing_claim", {"page_id": ids.PRICING_PAGE_ID, "claim": "Assembled in 5 minutes"})
    assert changed_tables(before, office.dump()) == {"bo_pricing_claim"}
    [row] = [c for c in office.dump()["bo_pricing_claim"] if c["id"] == result["claim_id"]]
    assert (row["page_id"], row["text"]) == (ids.PRICING_PAGE_ID, "Assembled in 5 minutes")
    assert len(_claims(office, ids.PRICING_PAGE_ID)) == 4


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"page_id": ids.PRICING_PAGE_ID, "claim": "30-DAY  free returns"}, "claim"),  # already on the page
        ({"page_id": ids.PRICING_PAGE_ID, "claim": "Two\nlines"}, "claim"),
        ({"page_id": ids.PRICING_PAGE_ID, "claim": "ok"}, "claim"),
        ({"page_id": "PG-999", "claim": "Free delivery"}, "page_id"),
        ({"page_id": ids.PRICING_PAGE_ID}, "claim"),
    ],
)
def test_invalid_claim_is_refused_naming_the_field_without_effect(
    office: BackOffice, arguments: dict[str, Any], field: str
) -> None:
    refused(office, "publish_pricing_claim", arguments, field)


def test_preview_lists_current_claims_beside_new_ones_and_flags_unprovable_wording(office: BackOffice) -> None:
    claim = "The best chair in Europe, now from 499 EUR"
    shown = preview(office, "publish_pricing_claim", {"page_id": ids.PRICING_PAGE_ID, "claim": claim})
    assert shown.before is not None and shown.after is not None
    assert shown.after["claims"] == [*shown.before["claims"], claim]
    text = "\n".join(shown.warnings)
    assert "best" in text and "499 EUR" in text and "649.00 EUR" in text
