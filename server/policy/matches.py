"""CEL's ``matches`` with the regex compiled once instead of on every call.

The cel library compiles the pattern of ``text.matches(pattern)`` each time it runs (50-100 µs for a
case-insensitive word list), which would dominate classify(). We route ``matches`` to
:func:`regex_matches`, which keeps compiled patterns. It uses the same engine as the cel library,
Rust's ``regex`` crate (through pydantic-core), so the syntax and the answers are the same, and
matching stays linear in the text: agent-supplied text cannot make a pattern backtrack.

- The free-function form ``matches(text, pattern)`` is overridden by registering ``matches``.
- The method form ``text.matches(pattern)`` always reaches the library's own function, so
  :func:`route_matches` rewrites it to ``text._matches(pattern)``, outside string literals.
"""

from __future__ import annotations

import functools
import re

import cel
from pydantic_core import SchemaError, SchemaValidator, core_schema

METHOD_ALIAS = "_matches"

_STRING = r"""
      [rR][bB]?(?:'''.*?'''|\"\"\".*?\"\"\"|'[^'\n]*'|"[^"\n]*")
    | [bB]?(?:'''(?:\\.|[^\\])*?'''|\"\"\"(?:\\.|[^\\])*?\"\"\"|'(?:\\.|[^\\'\n])*'|"(?:\\.|[^\\"\n])*")
"""
# String literals are matched whole, so a `.matches(` inside one is never seen as code.
_TOKENS = re.compile(rf"(?P<literal>{_STRING})|(?P<method>\.\s*matches\s*\()", re.S | re.X)
_LITERAL_ARGUMENT = re.compile(rf"\s*(?P<literal>{_STRING})\s*\)", re.S | re.X)


class InvalidPattern(ValueError):
    """A literal pattern does not compile. ``offset`` is where its literal starts in the source."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> SchemaValidator:
    return SchemaValidator(core_schema.str_schema(pattern=pattern, regex_engine="rust-regex"))


def regex_matches(text: object, pattern: object) -> bool:
    """Whether ``pattern`` matches anywhere in ``text`` (CEL ``matches`` semantics).

    Raises:
        TypeError: either argument is not a string.
        ValueError: the pattern is not a valid regular expression.
    """
    if not isinstance(text, str) or not isinstance(pattern, str):
        raise TypeError(f"matches() takes two strings, not {type(text).__name__} and {type(pattern).__name__}")
    try:
        validator = _compiled(pattern)
    except SchemaError as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {_regex_reason(exc)}") from exc
    return validator.isinstance_python(text)


def route_matches(source: str) -> str:
    """Rewrite method calls of ``matches`` to the cached function; check literal patterns now.

    Raises:
        InvalidPattern: a literal pattern is not a valid regular expression.
    """
    parts: list[str] = []
    end = 0
    for token in _TOKENS.finditer(source):
        if token.lastgroup != "method":
            continue
        parts.append(source[end : token.start()])
        parts.append(token.group().replace("matches", METHOD_ALIAS, 1))
        end = token.end()
        argument = _LITERAL_ARGUMENT.match(source, end)
        if argument is not None:
            literal = argument.group("literal")
            pattern = cel.evaluate(literal)
            if isinstance(pattern, str):
                try:
                    _compiled(pattern)
                except SchemaError as exc:
                    message = f"matches: {pattern!r} is not a valid regular expression: {_regex_reason(exc)}"
                    raise InvalidPattern(message, argument.start("literal")) from exc
    parts.append(source[end:])
    return "".join(parts)


def _regex_reason(exc: SchemaError) -> str:
    # The regex crate's message ends with "error: <what>"; the rest repeats the pattern.
    lines = [line.strip() for line in str(exc).splitlines()]
    return next((line.removeprefix("error: ") for line in reversed(lines) if line.startswith("error:")), lines[-1])
