"""`matches` is routed to a cached regex of the same engine: same answers as the library's, far faster."""

from __future__ import annotations

from pathlib import Path

import cel
import pytest

from server.policy import load_policy
from server.policy.expressions import FUNCTIONS, compile_condition
from server.policy.matches import regex_matches, route_matches
from server.policy.problems import PolicyError
from tests.policy.builders import BASE, write


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("Lost parcel", "parcel"),
        ("Lost parcel", "^parcel"),
        ("Lost parcel", "(?i)^lost"),
        ("We GUARANTEE it", r"(?i)\b(legal|guarantee[ds]?)\b"),
        ("guaranteed", r"\bguarantee\b"),
        ("Überweisung", r"^\w+$"),  # Unicode classes, as in the library
        ("a1b2", r"\d[a-z]\d"),
        ("", "^$"),
        ("line one\nline two", "(?m)^line two$"),
    ],
)
def test_routed_matches_answers_like_the_librarys_own(text: str, pattern: str) -> None:
    variables = {"args": {"text": text, "pattern": pattern}}
    native = cel.compile("args.text.matches(args.pattern)").execute(cel.Context(variables))
    routed = compile_condition("args.text.matches(args.pattern)").program
    assert routed.execute(cel.Context(variables, dict(FUNCTIONS))) is native
    assert regex_matches(text, pattern) is native


@pytest.mark.parametrize(
    ("source", "routed"),
    [
        ("args.body.matches('x')", "args.body._matches('x')"),
        ("args.body . matches ( 'x' )", "args.body . _matches ( 'x' )"),
        ("matches(args.body, 'x')", "matches(args.body, 'x')"),  # the free function is overridden instead
        ("'a.matches(b)' == args.body.matches('c')", "'a.matches(b)' == args.body._matches('c')"),
        ('"""x.matches(""" + r\'\\\' == args.matches', '"""x.matches(""" + r\'\\\' == args.matches'),
    ],
)
def test_only_method_calls_outside_string_literals_are_routed(source: str, routed: str) -> None:
    assert route_matches(source) == routed


def test_condition_with_matches_evaluates_through_the_cached_function() -> None:
    condition = compile_condition("justification.reason.matches('(?i)refund')")
    assert condition.program.source == "justification.reason._matches('(?i)refund')"
    assert condition.source == "justification.reason.matches('(?i)refund')"


def test_invalid_literal_pattern_is_caught_at_load_with_its_position(tmp_path: Path) -> None:
    text = BASE + "rules:\n  - {id: rx, action: hold, when: \"args.body.matches('(unclosed')\"}\n"
    write(tmp_path, "p.yaml", text)
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path)
    [problem] = caught.value.problems
    assert problem.rule == "rx"
    assert "'(unclosed' is not a valid regular expression: unclosed group" in problem.message
    line = text.splitlines()[-1]
    assert (problem.line, problem.column) == (12, line.index("'(unclosed'") + 1)


def test_matches_refuses_non_strings() -> None:
    with pytest.raises(TypeError):
        regex_matches(3, "3")
