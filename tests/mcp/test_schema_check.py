"""Argument schemas checked fast (jsonschema-rs) answer exactly as the reference (jsonschema) does."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from referencing.exceptions import Unresolvable

from server.mcp.catalog import JUSTIFICATION_SCHEMA
from server.schema_check import SchemaCheck
from tools import default_registry

SCHEMAS: dict[str, dict[str, Any]] = {spec.name: spec.input_schema for spec in default_registry()} | {
    "justification": JUSTIFICATION_SCHEMA
}

# Values near what agents send: the right shapes, wrong types, edge numbers and hostile text.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, 1.0, 100, 101, 0.5, -1, 10**12, "", "C-1001", "C-1001\n", "O-1001", "EUR", "eur"]),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=5000),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


@st.composite
def arguments_for(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """A tool and arguments that mostly use its own property names (so the interesting checks run)."""
    name = draw(st.sampled_from(sorted(SCHEMAS)))
    known = sorted(SCHEMAS[name].get("properties", {}))
    names = st.sampled_from(known) | st.text(max_size=6) if known else st.text(max_size=6)
    keys = draw(st.lists(names, max_size=len(known) + 1, unique=True))
    return name, {key: draw(VALUES) for key in keys}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arguments_for())
def test_the_fast_check_accepts_and_refuses_exactly_what_the_reference_does(case: tuple[str, dict[str, Any]]) -> None:
    name, arguments = case
    check = SchemaCheck(SCHEMAS[name])
    expected = list(check.reference.iter_errors(arguments))
    problem = check.problem(arguments)
    assert (problem is None) == (not expected), (name, arguments, problem, expected[:1])


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        ({"type": "integer", "maximum": 2**53}, 2**53 + 1),  # past a double's precision
        ({"type": "integer", "minimum": 2**53 + 2}, 2**53 + 1),
        ({"type": "integer", "maximum": 10**30}, 10**30 + 1),
        ({"uniqueItems": True}, [1, 1.0]),
        ({"enum": [1]}, True),  # a bool is not a number
        ({"const": 1.0}, 1),
        ({"exclusiveMaximum": 0.1 + 0.2}, 0.1 + 0.2),
    ],
)
def test_edge_values_get_the_reference_answer(schema: dict[str, Any], value: Any) -> None:
    check = SchemaCheck(schema)
    assert (check.problem(value) is None) == (not list(check.reference.iter_errors(value)))


def test_valid_arguments_pass_and_a_wrong_type_is_named() -> None:
    check = SchemaCheck(SCHEMAS["get_customer"])
    assert check.problem({"customer_id": "C-1001"}) is None
    problem = check.problem({"customer_id": 1001})
    assert problem is not None and list(problem.absolute_path) == ["customer_id"]


def test_a_pattern_python_reads_more_loosely_still_gets_the_reference_answer() -> None:
    # Python's `$` also matches before a final newline, Rust's does not: the reference has the last word.
    check = SchemaCheck({"type": "string", "pattern": "^C-[0-9]+$"})
    assert check.problem("C-1001\n") is None
    assert check.problem("C-1001\nX") is not None


def test_a_lone_surrogate_gets_the_reference_answer_not_a_crash() -> None:
    check = SchemaCheck({"type": "object", "properties": {"text": {"type": "string", "maxLength": 3}}})
    assert check.problem({"text": "\ud800"}) is None
    problem = check.problem({"text": "\ud800" * 4})
    assert problem is not None and problem.validator == "maxLength"


@pytest.mark.parametrize(
    ("pattern", "accepted", "refused"),
    [
        ("^\\s$", " ", "\ufeff"),  # Rust's \s (ECMA-262) takes a byte-order mark for white space; Python's does not
        ("[[:alpha:]]", "a]", "b"),  # a set of characters, then "]" (Python warns it may one day mean a class)
        ("^a{,3}$", "aa", "aaaa"),  # Rust refuses the pattern; Python reads zero to three
        ("(?<!x)y", "ay", "xy"),
    ],
)
def test_patterns_are_read_as_python_reads_them(pattern: str, accepted: str, refused: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # Python's "possible nested set": it means what it says
        check = SchemaCheck({"type": "string", "pattern": pattern})
        assert check.problem(accepted) is None
        problem = check.problem(refused)
    assert problem is not None and problem.validator == "pattern"


def test_multiple_of_is_decided_by_the_reference() -> None:
    # 0.3 / 0.1 is 2.9999999999999996 in floats: the reference refuses it; a decimal reading would not.
    check = SchemaCheck({"type": "number", "multipleOf": 0.1})
    expected_refused = bool(list(check.reference.iter_errors(0.3)))
    assert (check.problem(0.3) is not None) == expected_refused
    assert check.problem(0.5) is None


def test_pattern_properties_are_decided_by_the_reference() -> None:
    # A name of one Arabic-Indic digit: Python's \d matches it (so the property is forbidden), ECMA's does not.
    check = SchemaCheck({"type": "object", "patternProperties": {"^\\d$": False}})
    assert check.problem({"\u0663": 1}) is not None
    assert check.problem({"x": 1}) is None


def test_a_schema_naming_a_local_file_never_reads_it(tmp_path: Path) -> None:
    # An upstream's schema is a stranger's text: a `$ref` to a file must not make us read the file.
    secret = tmp_path / "accepts-only-this.json"
    secret.write_text(json.dumps({"const": "read from disk"}), encoding="utf-8")
    check = SchemaCheck({"$ref": secret.as_uri()})
    with pytest.raises(Unresolvable):
        check.problem("read from disk")
