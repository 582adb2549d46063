"""An HTML form for a tool's arguments, generated from its JSON schema, and the way back.

Each top-level property becomes one field named ``arg.<property>``:

    string            text input (a textarea when the value is long or spans lines)
    string + enum     select
    number / integer  number input
    boolean           select yes / no (a checkbox would vanish from the form when unticked)
    anything else     JSON textarea (arrays, objects, unions we cannot map to one input)

``Optional[...]`` (``anyOf`` with ``null``) becomes the inner kind; an empty field then means null.
Parsing turns the submitted strings back into typed values; the tool's own validation (its pydantic
model, run by the gateway when the edit is recorded) stays the authority on what is acceptable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "arg."
LONG_TEXT = 80


class FormError(ValueError):
    """A submitted field could not be read as its type."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str  # text | textarea | select | number | integer | boolean | json
    value: str
    required: bool
    nullable: bool = False
    description: str = ""
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def input_name(self) -> str:
        return PREFIX + self.name


def _resolve(schema: Mapping[str, Any], root: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """Follow a local ``$ref`` and unwrap ``anyOf [X, null]``; return (schema, nullable)."""
    nullable = False
    current = dict(schema)
    for _ in range(5):  # refs nest only a little in pydantic schemas
        ref = current.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            current = {**root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {}), **_without(current, "$ref")}
            continue
        options = current.get("anyOf")
        if isinstance(options, list):
            others = [o for o in options if o.get("type") != "null"]
            if len(others) < len(options):
                nullable = True
            if len(others) == 1:
                current = {**_without(current, "anyOf"), **others[0]}
                continue
        break
    return current, nullable


def _without(schema: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k != key}


def _kind(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if "enum" in schema and all(isinstance(v, str) for v in schema["enum"]):
        return "select"
    if kind in ("number", "integer", "boolean"):
        return str(kind)
    if kind == "string":
        return "text"
    return "json"


def _shown(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("text", "textarea", "select") and isinstance(value, str):
        return value
    if kind in ("number", "integer") and isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, indent=2, ensure_ascii=False)


def fields(schema: Mapping[str, Any], values: Mapping[str, Any]) -> list[FormField]:
    """One field per schema property, filled with ``values`` (or the schema's default)."""
    required = set(schema.get("required", ()))
    out: list[FormField] = []
    properties: Mapping[str, Any] = schema.get("properties", {})
    names = list(properties) + [name for name in values if name not in properties]
    for name in names:
        prop, nullable = _resolve(properties.get(name, {}), schema)
        kind = _kind(prop) if name in properties else "json"
        value = values[name] if name in values else prop.get("default")
        shown = _shown(kind, value)
        if kind == "text" and (len(shown) > LONG_TEXT or "\n" in shown):
            kind = "textarea"
        if kind == "json" and isinstance(value, str):
            shown = json.dumps(value, ensure_ascii=False)
        out.append(
            FormField(
                name=name,
                label=str(prop.get("title") or name),
                kind=kind,
                value=shown,
                required=name in required,
                nullable=nullable,
                description=str(prop.get("description") or ""),
                options=tuple(str(v) for v in prop.get("enum", ())),
                minimum=prop.get("minimum", prop.get("exclusiveMinimum")),
                maximum=prop.get("maximum", prop.get("exclusiveMaximum")),
            )
        )
    return out


def parse(schema: Mapping[str, Any], form: Mapping[str, str], original: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments a submitted form describes. Raises :class:`FormError` naming the first bad field.

    A field left empty keeps the argument absent when it was absent and optional, null when the
    schema allows null, and is an error otherwise.
    """
    arguments: dict[str, Any] = {}
    for field in fields(schema, original):
        raw = form.get(field.input_name)
        if raw is None:
            raise FormError(field.name, "missing from the form")
        text = raw.strip() if field.kind not in ("text", "textarea") else raw
        if text.strip() == "" and field.kind != "json":
            if field.kind in ("text", "textarea") and not field.nullable:
                if field.name in original or field.required:
                    arguments[field.name] = text
                continue
            if field.nullable:
                arguments[field.name] = None
            elif field.name in original or field.required:
                raise FormError(field.name, "a value is required")
            continue
        arguments[field.name] = _parse_value(field, text, original.get(field.name))
    return arguments


def _parse_value(field: FormField, text: str, before: Any) -> Any:
    if field.kind in ("text", "textarea"):
        return text.replace("\r\n", "\n")
    if field.kind == "select":
        if text not in field.options:
            raise FormError(field.name, f"choose one of {', '.join(field.options)}")
        return text
    if field.kind == "boolean":
        if text not in ("true", "false"):
            raise FormError(field.name, "choose yes or no")
        return text == "true"
    if field.kind == "integer":
        try:
            return int(text)
        except ValueError:
            raise FormError(field.name, "enter a whole number") from None
    if field.kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise FormError(field.name, "enter a number") from None
        if not math.isfinite(number):
            raise FormError(field.name, "enter a finite number")
        # Keep the original's type when the value allows it, so 940 -> 940 is not reported as an edit.
        return (
            int(number) if isinstance(before, int) and not isinstance(before, bool) and number.is_integer() else number
        )
    if text.strip() == "":
        if field.nullable:
            return None
        raise FormError(field.name, "a value is required")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormError(field.name, f"not valid JSON ({exc.msg})") from None
