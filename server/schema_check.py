"""Checking arguments against a tool's JSON schema, on every call.

Two validators for one schema (draft 2020-12, formats not asserted): jsonschema-rs (compiled, in
Rust) answers the common question, "is it valid?", in about a microsecond; Python's jsonschema stays
the reference, asked whenever the answer is not a plain yes, so it alone words every refusal and
names the offending field.

The fast side must never accept what the reference refuses. Where the two libraries read a schema
differently it is made to agree or left out:

- ``pattern`` is checked with Python's ``re.search``, as the reference does: the Rust side reads
  patterns as ECMA-262 does (its ``\\s`` takes a byte-order mark, Python's does not; ``$`` and ``\\d``
  differ too);
- a schema with ``patternProperties`` (regexes on names) or ``multipleOf`` (floats divided one way or
  another) is checked by the reference alone, as is one the fast side cannot compile;
- ``$ref`` is resolved offline: an upstream's schema naming a remote or ``file:`` URI reads nothing.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

logger = logging.getLogger(__name__)

# Keywords whose meaning the fast side may not share with the reference: such schemas are not compiled.
_REFERENCE_ONLY = ('"patternProperties"', '"multipleOf"')


class SchemaCheck:
    """One schema, compiled for the fast yes and for the reference's reasons."""

    __slots__ = ("reference", "_fast")

    def __init__(self, schema: dict[str, Any]) -> None:
        self.reference = Draft202012Validator(schema)
        self._fast = _compiled(schema)

    def problem(self, instance: Any) -> ValidationError | None:
        """The most relevant violation (jsonschema's ``best_match``), or None when ``instance`` fits."""
        if self._fast_yes(instance):
            return None
        error: ValidationError | None = best_match(self.reference.iter_errors(instance))
        return error

    def _fast_yes(self, instance: Any) -> bool:
        if self._fast is None:
            return False
        try:
            return bool(self._fast.is_valid(instance))
        except (ValueError, TypeError, OverflowError):  # e.g. a lone surrogate, which Rust cannot hold
            return False


class _PythonPattern:
    """The ``pattern`` keyword for jsonschema-rs, read as the reference reads it (``re.search``)."""

    def __init__(self, parent_schema: Any, value: str, schema_path: Any) -> None:
        self.regex = re.compile(value)

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and self.regex.search(instance) is None:
            raise ValueError("does not match the pattern")


def _compiled(schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator | None:
    try:
        if any(keyword in json.dumps(schema) for keyword in _REFERENCE_ONLY):
            return None
        return jsonschema_rs.Draft202012Validator(
            schema, validate_formats=False, offline=True, keywords={"pattern": _PythonPattern}
        )
    except Exception as exc:  # any schema it cannot take (a pattern Python refuses...): the reference alone
        logger.debug("schema checked by the reference validator only: %s", exc)
        return None
