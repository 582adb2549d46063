"""Rule conditions: CEL expressions compiled once at load, evaluated against one context per call.

The context (see policies/README.md, "Variables") is built once per call by :func:`build_context`
and every compiled condition runs against it. Absent values never look like safe values:

- missing text (``customer``, ``category``, ``justification.reason``, evidence ``excerpt``/``url``) is ``""``;
- missing confidence is ``0.0`` (the least sure), with ``justification.has_confidence`` false;
- missing exposure is ``null``: reading ``exposure.amount`` then is an evaluation error, so the call
  blocks unless the rule guards with ``exposure != null && ...``. Money we could not read is never zero.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import cel
from cel import stdlib

from server.policy.matches import METHOD_ALIAS, InvalidPattern, regex_matches, route_matches
from server.policy.types import CallFacts
from server.text import is_ascii_tree, readable, readable_tree, tree_facts

VARIABLES = ("tool", "args", "agent", "server", "justification", "exposure", "customer", "category", "text")
TEXT_FIELDS = frozenset({"args", "reason", "evidence", "on_behalf_of", "hidden", "mixed_script"})
# Much longer expressions have crashed the CEL parser (a Rust panic while formatting a syntax error).
MAX_EXPRESSION_LENGTH = 10_000

# cel-go's string extensions (lowerAscii, split, trim...) and a `matches` that compiles each pattern
# once (see matches.py). The dotted extensions (strings.quote) are left out: the parser reads
# `strings` as a variable.
FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {name: func for name, func in stdlib.EXTENSIONS["strings"].items() if "." not in name}
    | {"matches": regex_matches, METHOD_ALIAS: regex_matches}
)

# What the cel library raises while evaluating: missing keys (KeyError), type mismatches (TypeError),
# undefined variables or functions and failures inside Python functions such as `matches`
# (RuntimeError), index and arithmetic errors, and values it cannot convert (ValueError).
EVALUATION_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    RuntimeError,
    ArithmeticError,
)

_CEL_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*)")
# Comprehension macros bind a name: `evidence.exists(e, e.source == "crm")` binds `e`.
_MACRO_BINDING = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
# The variable `text` (not a field of that name, `args.text`), and `text.<field>`.
_TEXT_NAME = re.compile(r"(?<![\w.])text\b")
_TEXT_FIELD = re.compile(r"(?<![\w.])text\s*\.\s*([A-Za-z_]\w*)")


class ConditionSyntaxError(ValueError):
    """A condition does not compile. ``line``/``column`` are 1-based inside the expression, when known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


class ConditionResultError(TypeError):
    """A condition returned something other than a bool."""


# Everything evaluating a condition may raise; each one blocks the call (fail closed).
CONDITION_ERRORS: tuple[type[Exception], ...] = (ConditionResultError, *EVALUATION_ERRORS)


@dataclass(frozen=True)
class Reads:
    """What conditions take from a call's context. A call's context holds only that: every variable
    (and field of ``text``) costs a conversion and every function a wrapper, on every call."""

    variables: frozenset[str] = frozenset()
    # The fields of `text` (its args, evidence... are converted only for rules that read them).
    text_fields: frozenset[str] = frozenset()
    # The functions of ours (FUNCTIONS) called.
    functions: frozenset[str] = frozenset()

    def __or__(self, other: Reads) -> Reads:
        return Reads(
            self.variables | other.variables, self.text_fields | other.text_fields, self.functions | other.functions
        )


EVERYTHING = Reads(frozenset(VARIABLES), TEXT_FIELDS, frozenset(FUNCTIONS))


@dataclass(frozen=True)
class Condition:
    # What the admin wrote; ``program`` runs it with `matches` routed to the cached function.
    source: str
    program: cel.Program
    reads: Reads

    def matches(self, context: cel.Context) -> bool:
        """Evaluate against a call's context.

        Raises:
            Any of CONDITION_ERRORS: the expression failed (missing key, wrong type...) or did not
                return a bool.
        """
        result = self.program.execute(context)
        if not isinstance(result, bool):
            raise not_a_bool(result)
        return result


def not_a_bool(result: object) -> ConditionResultError:
    return ConditionResultError(f"condition returned {_cel_type(result)} {result!r}, not a bool")


def compile_condition(source: str) -> Condition:
    """Compile and statically check one condition.

    Raises:
        ConditionSyntaxError: a syntax error, an unknown variable, or a constant expression that
            fails or is not a bool.
    """
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ConditionSyntaxError(f"the expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    try:
        checked = cel.compile(source)
    except ValueError as exc:
        raise _syntax_error(str(exc)) from exc
    bound = set(_MACRO_BINDING.findall(source))
    for name in checked.variables():
        if name not in VARIABLES and name not in bound:
            line, column = _locate(source, name)
            raise ConditionSyntaxError(
                f"unknown variable {name!r}; the variables are {', '.join(VARIABLES)}", line, column
            )
    try:
        routed = route_matches(source)
    except InvalidPattern as exc:
        line, column = _line_column(source, exc.offset)
        raise ConditionSyntaxError(str(exc), line, column) from exc
    program = cel.compile(routed) if routed != source else checked
    variables = frozenset(checked.variables()) & frozenset(VARIABLES)
    text_fields = text_fields_read(source) if "text" in variables else frozenset()
    condition = Condition(
        source, program, Reads(variables, text_fields, frozenset(program.functions()) & FUNCTIONS.keys())
    )
    if not checked.variables():
        # A constant (`true`, `1/0`, `"yes"`) is checked now rather than failing every call.
        try:
            condition.matches(cel.Context({}, dict(FUNCTIONS)))
        except CONDITION_ERRORS as exc:
            raise ConditionSyntaxError(str(exc)) from exc
    return condition


def text_fields_read(source: str) -> frozenset[str]:
    """The fields of ``text`` an expression reads: all of them unless every use is ``text.<field>``."""
    found = _TEXT_FIELD.findall(source)
    fields = frozenset(found)
    if len(found) != len(_TEXT_NAME.findall(source)) or not fields <= TEXT_FIELDS:
        return TEXT_FIELDS  # `text` passed whole, or a name we cannot place: build everything
    return fields


def build_context(facts: CallFacts, reads: Reads = EVERYTHING) -> cel.Context:
    """The one evaluation context of a call, holding only what the rules ``reads`` (converting costs
    ~1 µs a value; wrapping all our functions doubles the cost of a context whose rules call none).

    Raises:
        ValueError: an argument value cannot be converted to CEL (not JSON-like).
    """
    values = {name: _READERS[name](facts) for name in reads.variables if name != "text"}
    if "text" in reads.variables:
        values["text"] = _text(facts, reads.text_fields)
    if not reads.functions:
        return cel.Context(values)
    return cel.Context(values, {name: FUNCTIONS[name] for name in reads.functions})


def _justification(facts: CallFacts) -> dict[str, Any]:
    justification = facts.justification
    return {
        "reason": justification.reason or "",
        "evidence": [
            {"source": item.source, "excerpt": item.excerpt or "", "url": item.url or ""}
            for item in justification.evidence
        ],
        "confidence": justification.confidence if justification.confidence is not None else 0.0,
        "has_confidence": justification.confidence is not None,
    }


def _exposure(facts: CallFacts) -> dict[str, Any] | None:
    exposure = facts.exposure
    return {"amount": exposure.amount, "currency": exposure.currency} if exposure is not None else None


def _text(facts: CallFacts, fields: frozenset[str] = TEXT_FIELDS) -> dict[str, Any]:
    """Text as a person reads it (server/text): only built for the rules that read ``text``, and only
    the ``fields`` they read (each costs a conversion to CEL)."""
    justification = facts.justification
    evidence = [
        {"source": item.source, "excerpt": item.excerpt or "", "url": item.url or ""} for item in justification.evidence
    ]
    reason = justification.reason or ""
    on_behalf_of = facts.on_behalf_of or ""
    everything = [facts.args, reason, evidence, on_behalf_of]
    if is_ascii_tree(everything):  # the common case: nothing to normalise, nothing hidden
        plain = {
            "args": facts.args,
            "reason": reason,
            "evidence": evidence,
            "on_behalf_of": on_behalf_of,
            "hidden": False,
            "mixed_script": False,
        }
        return {name: value for name, value in plain.items() if name in fields}
    found = tree_facts(everything)
    readers: dict[str, Callable[[], Any]] = {
        "args": lambda: readable_tree(facts.args),
        "reason": lambda: readable(reason),
        "evidence": lambda: readable_tree(evidence),
        "on_behalf_of": lambda: readable(on_behalf_of),
        "hidden": lambda: found.hidden,
        "mixed_script": lambda: found.mixed_script,
    }
    return {name: read() for name, read in readers.items() if name in fields}


_READERS: Mapping[str, Callable[[CallFacts], Any]] = MappingProxyType(
    {
        "tool": lambda facts: facts.tool,
        "args": lambda facts: facts.args,
        "agent": lambda facts: facts.agent,
        "server": lambda facts: facts.server,
        "justification": _justification,
        "exposure": _exposure,
        "customer": lambda facts: facts.customer or "",
        "category": lambda facts: facts.category or "",
        # and "text": _text, which also takes the fields the rules read (build_context)
    }
)


def _syntax_error(text: str) -> ConditionSyntaxError:
    # The library's message: "Failed to parse expression '...': ERROR: <input>:1:9: Syntax error: ...\n| ..."
    found = _CEL_POSITION.search(text)
    if found is None:
        return ConditionSyntaxError(text.splitlines()[0] if text else "invalid expression")
    return ConditionSyntaxError(found.group(3).strip(), int(found.group(1)), int(found.group(2)))


def _locate(source: str, name: str) -> tuple[int | None, int | None]:
    found = re.search(rf"(?<![\w.]){re.escape(name)}\b", source)
    return _line_column(source, found.start()) if found else (None, None)


def _line_column(source: str, offset: int) -> tuple[int, int]:
    before = source[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1


def _cel_type(value: object) -> str:
    names = {int: "int", float: "double", str: "string", bytes: "bytes", list: "list", dict: "map"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
