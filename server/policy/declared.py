"""What the policy file declares about a tool that has no code of ours (an upstream MCP tool).

Expressions are CEL over ``args`` only, compiled once. A value that cannot be read gives None,
never a made-up zero: rules reading ``exposure`` then fail closed (see expressions.py).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cel

from server.policy.expressions import EVALUATION_ERRORS, FUNCTIONS
from server.policy.model import ToolEntry
from server.policy.types import Exposure

DECLARED_VARIABLES = frozenset({"args"})


@lru_cache(maxsize=1024)
def compile_value(source: str) -> cel.Program:
    """Compile a declaration's expression.

    Raises:
        ValueError: a syntax error, or a variable other than ``args``.
    """
    program = cel.compile(source)
    unknown = set(program.variables()) - DECLARED_VARIABLES
    if unknown:
        raise ValueError(f"unknown variable {sorted(unknown)[0]!r}; declarations may read only `args`")
    return program


def evaluate(source: str, args: dict[str, Any]) -> Any:
    """Raises ValueError (or another of EVALUATION_ERRORS) when the expression fails for these args."""
    return compile_value(source).execute(cel.Context({"args": args}, dict(FUNCTIONS)))


def declared_exposure(entry: ToolEntry | None, args: dict[str, Any]) -> Exposure | None:
    if entry is None or entry.exposure is None:
        return None
    try:
        amount = evaluate(entry.exposure.amount, args)
        currency = evaluate(entry.exposure.currency, args)
    except EVALUATION_ERRORS:
        return None
    if isinstance(amount, bool) or not isinstance(amount, int | float) or not isinstance(currency, str):
        return None
    return Exposure(amount=float(amount), currency=currency.upper())


def declared_subject(entry: ToolEntry | None, args: dict[str, Any]) -> str | None:
    if entry is None or entry.subject is None:
        return None
    value = args.get(entry.subject)
    return str(value) if value is not None else None


def preview_arguments(entry: ToolEntry, args: dict[str, Any]) -> dict[str, Any]:
    """The preview tool's arguments. Raises ValueError when they cannot be built."""
    assert entry.preview is not None
    try:
        value = evaluate(entry.preview.arguments, args)
    except EVALUATION_ERRORS as exc:
        raise ValueError(f"preview arguments: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError("preview arguments must be a map")
    return {str(key): item for key, item in value.items()}
