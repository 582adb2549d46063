"""load_policy(): every problem is reported with its file, rule id and position; nothing half-loads."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from server.policy import Policy, PolicyError, Problem, load_policy
from server.policy.model import parse_duration
from tests.policy.builders import BASE, write


def _problems(directory: Path) -> list[Problem]:
    with pytest.raises(PolicyError) as caught:
        load_policy(directory)
    return list(caught.value.problems)


def _only_problem(tmp_path: Path, text: str, name: str = "policy.yaml") -> Problem:
    write(tmp_path, name, text)
    problems = _problems(tmp_path)
    assert len(problems) == 1, problems
    return problems[0]


def _with_rules(rules: str) -> str:
    return BASE + "rules:\n" + textwrap.indent(textwrap.dedent(rules), "  ")


def test_valid_directory_loads_tools_and_rules_in_order(tmp_path: Path) -> None:
    policy = _load(tmp_path, _with_rules("- {id: a, action: allow}\n- {id: b, action: hold}\n"))
    assert sorted(policy.tools) == ["lookup", "refund", "wipe"]
    assert [r.id for r in policy.rules] == ["a", "b"]
    assert policy.files == (tmp_path / "policy.yaml",)
    assert len(policy.version) == 64


def _load(directory: Path, text: str, name: str = "policy.yaml") -> Policy:
    write(directory, name, text)
    return load_policy(directory)


def test_missing_directory_is_a_problem(tmp_path: Path) -> None:
    [problem] = _problems(tmp_path / "nowhere")
    assert problem.file == str(tmp_path / "nowhere")
    assert "does not exist" in problem.message


def test_directory_without_policy_files_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a policy")
    [problem] = _problems(tmp_path)
    assert "no policy files" in problem.message


def test_empty_file_is_a_problem_not_an_empty_policy(tmp_path: Path) -> None:
    problem = _only_problem(tmp_path, "# emptied by mistake\n")
    assert "empty" in problem.message


def test_broken_yaml_reports_file_line_and_column(tmp_path: Path) -> None:
    problem = _only_problem(tmp_path, "version: 1\ntools:\n  refund: {action: hold\n")
    assert problem.file == str(tmp_path / "policy.yaml")
    assert (problem.line, problem.column) == (4, 1)
    assert "flow mapping" in problem.message


def test_duplicate_yaml_key_is_a_problem_instead_of_silently_keeping_the_last(tmp_path: Path) -> None:
    problem = _only_problem(tmp_path, BASE + "  refund: {action: allow, risk: low}\n")
    assert problem.message == "duplicate key 'refund' (first at line 8)"
    assert (problem.line, problem.column) == (11, 3)


def test_unknown_key_is_named_with_the_allowed_keys_rule_id_and_position(tmp_path: Path) -> None:
    problem = _only_problem(tmp_path, _with_rules("- id: typo\n  action: hold\n  whenn: 'true'\n"))
    assert problem.rule == "typo"
    assert problem.message == (
        "unknown key 'whenn' in rules[0] (allowed: action, category, customer_impact, decide_in, description, "
        "expires, id, queue, reason, required_approvals, risk, sla, tools, when)"
    )
    assert (problem.line, problem.column) == (14, 5)
    assert str(problem) == f"{tmp_path / 'policy.yaml'}:14:5: [typo] {problem.message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BASE.replace("version: 1", "version: 2"), "version: Input should be 1"),
        (BASE.replace("refund: {action: hold", "refund: {action: maybe"), "tools.refund.action: Input should be"),
        (BASE.replace("sla: 4h", "sla: soon"), "defaults.sla: Value error, 'soon' is not a duration"),
        (BASE.replace("{owner: ops}", "{owner: ops, extra: 1}"), "unknown key 'extra' in queues.general"),
        (_with_rules("- {id: r, action: hold, required_approvals: 0}"), "rules[0].required_approvals:"),
        (_with_rules("- {id: 'bad id!', action: hold}"), "rules[0].id: String should match pattern"),
        (_with_rules("- {id: r, action: hold, tools: refund}"), "rules[0].tools: Input should be a valid tuple"),
    ],
)
def test_schema_problems_name_the_offending_field(tmp_path: Path, text: str, message: str) -> None:
    assert message in _only_problem(tmp_path, text).message


def _position_of(text: str, marker: str, offset: int = 0) -> tuple[int, int]:
    """1-based line and column of ``marker`` (plus ``offset`` characters) in ``text``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if marker in line:
            return number, line.index(marker) + 1 + offset
    raise AssertionError(marker)


@pytest.mark.parametrize(
    "when",
    [
        '    when: "exposure.amount >= 10000.0 &&& true"',  # double-quoted
        "    when: 'exposure.amount >= 10000.0 &&& true'",  # single-quoted
        "    when: exposure.amount >= 10000.0 &&& true",  # plain
        "    when: |\n      exposure.amount >= 1.0\n        && justification.confidence &&& true",  # literal block
    ],
)
def test_cel_syntax_error_points_at_the_character_in_the_file(tmp_path: Path, when: str) -> None:
    text = BASE + f"rules:\n  - id: big\n    action: hold\n{when}\n"
    problem = _only_problem(tmp_path, text)
    assert problem.rule == "big"
    assert problem.message.startswith("when: Syntax error")
    # The parser stops at the third `&`.
    assert (problem.line, problem.column) == _position_of(text, "&&&", offset=2)


def test_unknown_variable_in_a_condition_is_caught_at_load(tmp_path: Path) -> None:
    text = _with_rules("- {id: typo, action: hold, when: 'justifcation.confidence < 0.5'}")
    problem = _only_problem(tmp_path, text)
    assert problem.rule == "typo"
    assert "unknown variable 'justifcation'" in problem.message
    assert (problem.line, problem.column) == _position_of(text, "justifcation")


@pytest.mark.parametrize(
    ("when", "message"),
    [("'yes'", "condition returned string 'yes', not a bool"), ("1 / 0", "division by zero")],
)
def test_constant_condition_that_fails_or_is_not_a_bool_is_caught_at_load(
    tmp_path: Path, when: str, message: str
) -> None:
    problem = _only_problem(tmp_path, _with_rules(f'- {{id: const, action: hold, when: "{when}"}}'))
    assert problem.rule == "const"
    assert message in problem.message


def test_comprehension_variables_are_not_unknown_variables(tmp_path: Path) -> None:
    when = "justification.evidence.exists(item, item.source == 'crm')"
    policy = _load(tmp_path, _with_rules(f'- {{id: r, action: allow, when: "{when}"}}'))
    assert policy.rules[0].condition is not None


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("- {id: r, action: hold, tools: [refnud]}", "rule applies to tool 'refnud', which has no entry"),
        ("- {id: r, action: hold, queue: finanse}", "queue 'finanse' is not declared under `queues:`"),
    ],
)
def test_references_to_undeclared_tools_and_queues_are_problems(tmp_path: Path, rules: str, message: str) -> None:
    problem = _only_problem(tmp_path, _with_rules(rules))
    assert problem.rule == "r"
    assert message in problem.message
    assert problem.line == 12


def test_files_merge_in_filename_order(tmp_path: Path) -> None:
    write(tmp_path, "20-rules.yaml", "version: 1\nrules:\n  - {id: second, action: hold}\n")
    write(tmp_path, "10-base.yaml", _with_rules("- {id: first, action: allow}"))
    write(tmp_path, "30-more.yml", "version: 1\ntools:\n  extra: {action: allow, risk: low}\n")
    write(tmp_path, ".#10-base.yaml", "editor lock file: ignored")
    policy = load_policy(tmp_path)
    assert [r.id for r in policy.rules] == ["first", "second"]
    assert "extra" in policy.tools
    assert [p.name for p in policy.files] == ["10-base.yaml", "20-rules.yaml", "30-more.yml"]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        ("version: 1\ntools:\n  refund: {action: allow, risk: low}\n", "tool 'refund' is already defined in"),
        ("version: 1\nrules:\n  - {id: r, action: hold}\n", "rule id 'r' is already used in"),
        ("version: 1\nqueues:\n  finance: {}\n", "queue 'finance' is already defined in"),
        ("version: 1\ndefaults: {queue: general}\n", "defaults are already set in"),
    ],
)
def test_duplicates_across_files_are_problems(tmp_path: Path, second: str, message: str) -> None:
    write(tmp_path, "a.yaml", _with_rules("- {id: r, action: allow}"))
    write(tmp_path, "b.yaml", second)
    [problem] = _problems(tmp_path)
    assert problem.file == str(tmp_path / "b.yaml")
    assert message in problem.message and str(tmp_path / "a.yaml") in problem.message
    assert problem.line is not None


def test_every_problem_of_every_file_is_reported_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "version: 1\ntools: [\n")
    write(tmp_path, "b.yaml", "version: 1\nbogus: 1\n")
    problems = _problems(tmp_path)
    assert [Path(p.file).name for p in problems] == ["a.yaml", "b.yaml"]


def test_version_is_the_hash_of_the_files_and_changes_with_them(tmp_path: Path) -> None:
    first = _load(tmp_path, BASE)
    assert _load(tmp_path, BASE).version == first.version
    assert _load(tmp_path, BASE + "# a comment\n").version != first.version


def test_loaded_policy_is_immutable(tmp_path: Path) -> None:
    policy = _load(tmp_path, _with_rules("- {id: r, action: allow}"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.version = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        policy.tools["new"] = policy.tools["refund"]  # type: ignore[index]
    with pytest.raises(ValueError, match="frozen"):
        policy.rules[0].spec.action = "block"  # type: ignore[misc,assignment]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90), ("45s", 45), ("30m", 1800), ("4h", 14400), ("2d", 172800), ("1h30m", 5400), (" 1d2h ", 93600)],
)
def test_durations_read_as_seconds(text: object, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "4", "4 hours", "h", "0s", 0, -5, True, 1.5, "400d"])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_conditions_are_checked_even_when_the_file_has_schema_problems(tmp_path: Path) -> None:
    write(tmp_path, "p.yaml", _with_rules("- {id: cel, action: hold, when: 'args.x >'}\n- {id: schema, action: maybe}"))
    problems = _problems(tmp_path)
    assert [(p.rule, p.message.split(":")[0]) for p in problems] == [("cel", "when"), ("schema", "rules[1].action")]
