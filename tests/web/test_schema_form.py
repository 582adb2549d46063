"""Argument forms from a tool's JSON schema, and reading them back."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from web.pages.schema_form import FormError, fields, parse


class Arguments(BaseModel):
    customer_id: str
    amount: Annotated[float, Field(gt=0, le=1000)]
    count: int = 1
    kind: Literal["full", "partial"] = "full"
    note: str | None = None
    notify: bool = False
    tags: list[str] = []
    body: str = ""


def _schema() -> dict[str, Any]:
    return Arguments.model_json_schema()


ORIGINAL: dict[str, Any] = {
    "customer_id": "C-1",
    "amount": 940.0,
    "count": 2,
    "kind": "full",
    "note": None,
    "notify": True,
    "tags": ["a", "b"],
    "body": "line one\nline two",
}


def _form(**changes: str) -> dict[str, str]:
    form = {f.input_name: f.value for f in fields(_schema(), ORIGINAL)}
    form.update({f"arg.{k}": v for k, v in changes.items()})
    return form


def test_each_property_gets_the_right_kind_of_field() -> None:
    kinds = {f.name: f.kind for f in fields(_schema(), ORIGINAL)}
    assert kinds == {
        "customer_id": "text",
        "amount": "number",
        "count": "integer",
        "kind": "select",
        "note": "text",
        "notify": "boolean",
        "tags": "json",
        "body": "textarea",
    }
    by_name = {f.name: f for f in fields(_schema(), ORIGINAL)}
    assert by_name["kind"].options == ("full", "partial")
    assert by_name["note"].nullable and not by_name["amount"].nullable
    assert by_name["amount"].minimum == 0 and by_name["amount"].maximum == 1000
    assert by_name["amount"].required and not by_name["count"].required


def test_an_unchanged_form_reads_back_as_the_original() -> None:
    assert parse(_schema(), _form(), ORIGINAL) == ORIGINAL


def test_changed_values_are_typed() -> None:
    parsed = parse(
        _schema(),
        _form(amount="500", count="3", kind="partial", note="hello", notify="false", tags='["x"]'),
        ORIGINAL,
    )
    assert parsed["amount"] == 500.0 and isinstance(parsed["amount"], float)
    assert parsed["count"] == 3 and parsed["kind"] == "partial" and parsed["note"] == "hello"
    assert parsed["notify"] is False and parsed["tags"] == ["x"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "lots", "enter a number"),
        ("amount", "nan", "finite"),
        ("amount", "", "required"),
        ("count", "2.5", "whole number"),
        ("kind", "other", "choose one of"),
        ("notify", "maybe", "yes or no"),
        ("tags", "[", "not valid JSON"),
    ],
)
def test_unreadable_values_name_their_field(field: str, value: str, message: str) -> None:
    with pytest.raises(FormError) as caught:
        parse(_schema(), _form(**{field: value}), ORIGINAL)
    assert caught.value.field == field and message in caught.value.message


def test_a_missing_field_is_an_error_not_a_silent_drop() -> None:
    form = _form()
    del form["arg.amount"]
    with pytest.raises(FormError, match="missing"):
        parse(_schema(), form, ORIGINAL)


def test_an_empty_nullable_field_is_null() -> None:
    assert parse(_schema(), _form(note=""), {**ORIGINAL, "note": "x"})["note"] is None
