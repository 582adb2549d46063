"""Checking a call's arguments before anything is classified or stored as a call to run.

Order: the arguments must be an object; ``justification`` is split off and checked; the rest is
checked against the tool's JSON schema (server/schema_check.py: the message names the bad field), then by
the tool's own signature (``ToolSpec.parse``, which also coerces to canonical types).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError as SchemaError
from pydantic import ValidationError

from server.mcp.catalog import JUSTIFICATION, JUSTIFICATION_SCHEMA
from server.policy.types import Justification
from server.schema_check import SchemaCheck
from tools.contract import ToolInputError, ToolSpec


class ArgumentError(ValueError):
    """The arguments do not fit; ``field`` names the first bad one (dotted), when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class ParsedCall:
    arguments: dict[str, Any]
    justification: Justification


class Validators:
    """Compiled schema checks for known schemas (by tool name), built on first use. Thread-safe."""

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self._schemas = schemas
        self._lock = threading.Lock()
        self._by_name: dict[str, SchemaCheck] = {}

    def get(self, name: str) -> SchemaCheck:
        validator = self._by_name.get(name)
        if validator is None:
            validator = SchemaCheck(self._schemas[name])
            with self._lock:
                self._by_name[name] = validator
        return validator


_JUSTIFICATION_VALIDATOR = SchemaCheck(JUSTIFICATION_SCHEMA)


def as_object(arguments: object) -> dict[str, Any]:
    """The arguments as a dict (missing means empty). Raises ArgumentError for any other JSON type."""
    if arguments is None:
        return {}
    if not isinstance(arguments, dict):
        raise ArgumentError(f"arguments must be a JSON object, not {_json_type(arguments)}", field="arguments")
    return arguments


def check_schema(validator: SchemaCheck, arguments: dict[str, Any], prefix: str = "") -> None:
    """Raises ArgumentError naming the most relevant violation of the schema."""
    error = validator.problem(arguments)
    if error is not None:
        raise _schema_error(error, prefix)


def parse_call(spec: ToolSpec, arguments: object, validators: Validators) -> ParsedCall:
    """Split and check a business tool's arguments. Raises ArgumentError."""
    raw = dict(as_object(arguments))
    justification = parse_justification(raw.pop(JUSTIFICATION, None))
    check_schema(validators.get(spec.name), raw)
    try:
        parsed = spec.parse(raw)
    except ToolInputError as exc:
        raise ArgumentError(exc.message, field=exc.field) from exc
    return ParsedCall(parsed, justification)


def parse_upstream_call(schema: dict[str, Any], arguments: object, check: Any) -> ParsedCall:
    """Split an upstream tool's arguments; ``check(args)`` validates against its schema (raises ToolInputError).

    ``justification`` is ours only when the upstream does not take an argument of that name itself.
    """
    raw = dict(as_object(arguments))
    ours = JUSTIFICATION not in schema.get("properties", {})
    justification = parse_justification(raw.pop(JUSTIFICATION, None)) if ours else Justification()
    try:
        check(raw)
    except ToolInputError as exc:
        raise ArgumentError(exc.message, field=exc.field) from exc
    return ParsedCall(raw, justification)


def parse_justification(value: object) -> Justification:
    if value is None:
        return Justification()
    check_schema(_JUSTIFICATION_VALIDATOR, as_object(value), prefix=JUSTIFICATION)
    try:
        return Justification.model_validate(value)
    except ValidationError as exc:  # the schema and the model agree; this is a second line of defence
        first = exc.errors()[0]
        where = ".".join([JUSTIFICATION, *(str(p) for p in first["loc"])])
        raise ArgumentError(f"{where}: {first['msg']}", field=where) from exc


def split_justification(arguments: object) -> dict[str, Any]:
    """The arguments less the justification, for recording a refused call (never raises)."""
    if not isinstance(arguments, dict):
        return {"arguments": arguments}
    return {k: v for k, v in arguments.items() if k != JUSTIFICATION}


def _schema_error(error: SchemaError, prefix: str) -> ArgumentError:
    path = [str(p) for p in error.absolute_path]
    # jsonschema reports a missing or unexpected property at its parent; name the property itself.
    if error.validator == "required" and (missing := _missing_property(error)) is not None:
        return _named(prefix, [*path, missing], "required argument is missing")
    if error.validator == "additionalProperties" and (unexpected := _unexpected_property(error)) is not None:
        return _named(prefix, [*path, unexpected], "unknown argument")
    where = ".".join([p for p in (prefix, *path) if p])
    return ArgumentError(f"{where or 'arguments'}: {_short(error.message)}", field=where or None)


def _named(prefix: str, path: list[str], problem: str) -> ArgumentError:
    where = ".".join([p for p in (prefix, *path) if p])
    return ArgumentError(f"{where}: {problem}", field=where)


def _missing_property(error: SchemaError) -> str | None:
    instance, required = error.instance, error.validator_value
    if isinstance(instance, dict) and isinstance(required, list):
        for name in required:
            if name not in instance:
                return str(name)
    return None


def _unexpected_property(error: SchemaError) -> str | None:
    instance, schema = error.instance, error.schema
    if isinstance(instance, dict) and isinstance(schema, dict):
        known = set(schema.get("properties", {}))
        for name in instance:
            if name not in known:
                return str(name)
    return None


def _short(message: str, limit: int = 300) -> str:
    # jsonschema quotes the offending value; an agent may have sent megabytes of it.
    return message if len(message) <= limit else message[: limit - 1] + "…"


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
