"""The catalog others depend on: names, categories, risk, metadata, docs and schemas, and import rules."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from tools import default_registry
from tools.contract import ExposureArgs, SubjectArg, ToolSpec

REGISTRY = default_registry()
TOOLS_DIR = Path(__file__).resolve().parents[2] / "tools"

READ = ["search_customers", "get_customer", "search_orders", "get_order", "search_invoices", "get_invoice",
        "search_vendors", "get_vendor", "get_contract", "get_pricing_page"]  # fmt: skip
PREPARE = ["gather_documents", "classify_request", "summarize_record", "draft_reply", "score_exception",
           "assemble_approval_packet"]  # fmt: skip
# name -> (risk, action, idempotent, exposure, subject)
ACT: dict[str, tuple[str, str, bool, ExposureArgs | None, SubjectArg | None]] = {
    "issue_refund": ("high", "hold", True, ExposureArgs("amount", "currency"), SubjectArg("customer_id", "customer")),
    "pay_invoice": ("high", "hold", True, ExposureArgs("amount", "currency"), SubjectArg("vendor_id", "vendor")),
    "change_vendor_bank_details": ("critical", "hold", False, None, SubjectArg("vendor_id", "vendor")),
    "send_customer_email": ("medium", "hold", True, None, SubjectArg("customer_id", "customer")),
    "change_contract_clause": ("high", "hold", False, None, SubjectArg("contract_id", "contract")),
    "publish_pricing_claim": ("medium", "hold", False, None, SubjectArg("page_id", "page")),
    "update_customer_record": ("medium", "hold", False, None, SubjectArg("customer_id", "customer")),
    "delete_record": ("critical", "hold", False, None, SubjectArg("record_id", "record")),
    "bulk_export_customer_data": ("critical", "block", False, None, None),
    "bulk_delete_customers": ("critical", "block", False, None, None),
}
ARGUMENTS = {
    "search_customers": ["query", "limit"], "get_customer": ["customer_id"], "search_orders": ["customer_id", "status"],
    "get_order": ["order_id"], "search_invoices": ["vendor_id", "status"], "get_invoice": ["invoice_id"],
    "search_vendors": ["query"], "get_vendor": ["vendor_id"], "get_contract": ["contract_id"],
    "get_pricing_page": ["page_id"], "gather_documents": ["subject_id"], "classify_request": ["text"],
    "summarize_record": ["record_id"], "draft_reply": ["customer_id", "topic", "points"],
    "score_exception": ["tool", "arguments"], "assemble_approval_packet": ["tool", "arguments"],
    "issue_refund": ["customer_id", "order_id", "amount", "currency", "reason"],
    "pay_invoice": ["vendor_id", "invoice_id", "amount", "currency"],
    "change_vendor_bank_details": ["vendor_id", "iban", "bic", "account_holder", "reason"],
    "send_customer_email": ["customer_id", "subject", "body"],
    "change_contract_clause": ["contract_id", "clause_id", "new_text", "reason"],
    "publish_pricing_claim": ["page_id", "claim"], "update_customer_record": ["customer_id", "changes"],
    "delete_record": ["record_type", "record_id", "reason"], "bulk_export_customer_data": ["segment", "destination"],
    "bulk_delete_customers": ["customer_ids", "reason"],
}  # fmt: skip


def test_catalog_holds_exactly_the_documented_tools_in_order() -> None:
    names = [s.name for s in REGISTRY]
    assert names[: len(READ)] == READ
    assert sorted(names[len(READ) : len(READ) + len(PREPARE)]) == sorted(PREPARE)
    assert names[len(READ) + len(PREPARE) :] == list(ACT)
    assert len(default_registry()) == len(REGISTRY)  # a fresh, equal registry each call


@pytest.mark.parametrize("name", READ + PREPARE)
def test_read_and_prepare_tools_are_low_risk_and_allowed(name: str) -> None:
    spec = REGISTRY[name]
    assert (spec.category, spec.risk, spec.action) == ("read" if name in READ else "prepare", "low", "allow")
    assert spec.hints.read_only and not spec.idempotent and spec.preview is None


@pytest.mark.parametrize("name", list(ACT))
def test_act_tools_declare_risk_action_exposure_subject_and_review_aids(name: str) -> None:
    spec = REGISTRY[name]
    risk, action, idempotent, exposure, subject = ACT[name]
    assert (spec.category, spec.risk, spec.action, spec.idempotent) == ("act", risk, action, idempotent)
    assert (spec.exposure, spec.subject) == (exposure, subject)
    assert spec.preview is not None and spec.describe is not None
    assert not spec.hints.read_only
    assert spec.hints.destructive == (name in ("delete_record", "bulk_delete_customers"))


@pytest.mark.parametrize("spec", list(REGISTRY), ids=lambda s: s.name)
def test_every_tool_has_a_docstring_and_a_described_schema(spec: ToolSpec) -> None:
    assert len(spec.description) > 80 and spec.description.split("\n")[0].endswith(".")
    schema = spec.input_schema
    assert list(schema["properties"]) == ARGUMENTS[spec.name]
    assert schema.get("additionalProperties") is False
    for name, prop in schema["properties"].items():
        assert prop.get("description"), f"{spec.name}.{name} has no description"
    assert "office" not in schema["properties"] and "idempotency_key" not in schema["properties"]
    assert spec.minutes_saved > 0


def test_money_arguments_are_positive_with_a_ceiling() -> None:
    amount: dict[str, Any] = REGISTRY["issue_refund"].input_schema["properties"]["amount"]
    assert amount["exclusiveMinimum"] == 0 and amount["maximum"] > 0
    assert REGISTRY["delete_record"].input_schema["properties"]["record_type"]["enum"] == [
        "customer", "order", "invoice", "vendor", "note"
    ]  # fmt: skip


def test_tools_never_import_the_gateway_web_or_mcp() -> None:
    banned = {"server", "web", "fastapi", "mcp", "starlette", "jinja2"}
    for path in TOOLS_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            assert not {n.split(".")[0] for n in names} & banned, f"{path} imports {names}"
