"""change_contract_clause: one clause's wording replaced, the old wording kept as a revision."""

from __future__ import annotations

from typing import Any

import pytest

from tests.tools.support import call, changed_tables, preview, refused
from tools.backoffice import BackOffice, ids

NEW_TEXT = (
    "Each party's total liability under this agreement is limited to the fees paid in the 24 months before "
    "the claim. Neither party is liable for indirect or consequential loss."
)


def _change(**overrides: Any) -> dict[str, Any]:
    args = {"contract_id": ids.CONTRACT_ID, "clause_id": ids.LIABILITY_CLAUSE_ID, "new_text": NEW_TEXT,
            "reason": "Renewal negotiation: customer asked for a 24-month cap"}  # fmt: skip
    return {**args, **overrides}


def _clause(office: BackOffice, contract_id: str, clause_id: str) -> dict[str, Any]:
    return next(c for c in office.dump()["bo_clause"] if (c["contract_id"], c["clause_id"]) == (contract_id, clause_id))


def test_clause_text_is_replaced_and_the_old_text_kept(office: BackOffice) -> None:
    old = _clause(office, ids.CONTRACT_ID, ids.LIABILITY_CLAUSE_ID)["text"]
    before = office.dump()
    result = call(office, "change_contract_clause", _change())
    assert changed_tables(before, office.dump()) == {"bo_clause", "bo_clause_revision"}
    assert _clause(office, ids.CONTRACT_ID, ids.LIABILITY_CLAUSE_ID)["text"] == NEW_TEXT
    [revision] = office.dump()["bo_clause_revision"]
    assert (revision["id"], revision["previous_text"], revision["new_text"]) == (result["revision_id"], old, NEW_TEXT)


@pytest.mark.parametrize(
    ("overrides", "field", "why"),
    [
        ({"clause_id": "force-majeure"}, "clause_id", "liability-cap"),
        ({"contract_id": "CTR-999"}, "contract_id", "no contract"),
        ({"contract_id": ids.TERMINATED_CONTRACT_ID, "clause_id": "termination"}, "contract_id", "terminated"),
        ({"new_text": "short"}, "new_text", ""),
        ({"reason": ""}, "reason", ""),
    ],
)
def test_invalid_clause_change_is_refused_naming_the_field_without_effect(
    office: BackOffice, overrides: dict[str, Any], field: str, why: str
) -> None:
    assert why in refused(office, "change_contract_clause", _change(**overrides), field)


def test_unchanged_wording_is_refused(office: BackOffice) -> None:
    current = _clause(office, ids.CONTRACT_ID, ids.LIABILITY_CLAUSE_ID)["text"]
    refused(office, "change_contract_clause", _change(new_text=current + "  "), "new_text")


def test_preview_sets_current_text_beside_new_text_with_a_word_diff(office: BackOffice) -> None:
    shown = preview(office, "change_contract_clause", _change())
    assert shown.before is not None and "12 months" in shown.before["text"]
    assert shown.after is not None and shown.after["text"] == NEW_TEXT
    assert {"op": "-", "text": "12"} in shown.context["diff"] and {"op": "+", "text": "24"} in shown.context["diff"]
    assert any("sensitive" in w for w in shown.warnings) and any("12" in w and "24" in w for w in shown.warnings)
