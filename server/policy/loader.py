"""Loading a policy directory: read every file, validate, merge, cross-check, compile. All or nothing.

Files are ``*.yaml`` and ``*.yml`` directly in the directory (hidden files skipped), merged in
filename order. Every problem found is collected and raised together in one PolicyError.
"""

from __future__ import annotations

import functools
import hashlib
import operator
import os
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from server.policy.compiled import CompiledRule, Policy
from server.policy.declared import compile_value
from server.policy.expressions import ConditionSyntaxError, Reads, compile_condition
from server.policy.model import Defaults, PolicyFile, QueueSpec, ToolEntry
from server.policy.problems import PolicyError, Problem
from server.policy.yamlsource import Position, YamlDocument, YamlProblem, position_in_scalar, read_yaml

SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class _File:
    name: str
    doc: YamlDocument
    model: PolicyFile

    def problem(self, message: str, path: tuple[str | int, ...], rule: str | None = None) -> Problem:
        return _problem(self.name, message, self.doc.position(path), rule)


def policy_files(directory: Path) -> list[Path]:
    """The policy files of a directory, in the order they are merged."""
    return sorted(
        (p for p in directory.iterdir() if p.suffix in SUFFIXES and not p.name.startswith(".") and p.is_file()),
        key=lambda p: p.name,
    )


def load_policy(directory: str | os.PathLike[str]) -> Policy:
    """Load and compile every policy file of ``directory``.

    Raises:
        PolicyError: with every problem found (missing directory, YAML, schema, duplicates,
            unknown references, CEL), each with its file, rule id and position where known.
    """
    root = Path(directory)
    if not root.is_dir():
        raise PolicyError([Problem(str(root), "policy directory does not exist or is not a directory")])
    try:
        paths = policy_files(root)
    except OSError as exc:
        raise PolicyError([Problem(str(root), f"cannot list the directory: {exc.strerror or exc}")]) from exc
    if not paths:
        raise PolicyError([Problem(str(root), f"no policy files ({', '.join('*' + s for s in SUFFIXES)}) here")])
    digest = hashlib.sha256()
    problems: list[Problem] = []
    files: list[_File] = []
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(str(path), f"cannot read: {exc.strerror or exc}"))
            continue
        digest.update(f"{path.name}\0{len(raw)}\0".encode())
        digest.update(raw)
        parsed = _parse(str(path), raw, problems)
        if parsed is not None:
            files.append(parsed)
    if problems:
        raise PolicyError(problems)
    policy = _assemble(files, digest.hexdigest(), tuple(paths), problems)
    if problems or policy is None:
        raise PolicyError(problems)
    return policy


def _parse(name: str, raw: bytes, problems: list[Problem]) -> _File | None:
    try:
        doc = read_yaml(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, f"not UTF-8 text: {exc.reason} at byte {exc.start}"))
        return None
    except YamlProblem as exc:
        problems.append(_problem(name, exc.message, exc.position))
        return None
    if doc.data is None:
        # An emptied file could silently drop blocking rules: refuse it.
        problems.append(Problem(name, "the file is empty; a policy file needs at least `version: 1`"))
        return None
    try:
        model = PolicyFile.model_validate(doc.data)
    except ValidationError as exc:
        problems.extend(_validation_problems(name, doc, exc))
        problems.extend(_raw_condition_problems(name, doc))
        return None
    return _File(name, doc, model)


def _raw_condition_problems(name: str, doc: YamlDocument) -> list[Problem]:
    """Conditions are still checked when the file fails validation, so one pass reports everything."""
    rules = doc.data.get("rules") if isinstance(doc.data, dict) else None
    if not isinstance(rules, list):
        return []
    found = []
    for index, rule in enumerate(rules):
        if isinstance(rule, dict) and isinstance(rule.get("when"), str):
            rule_id = rule.get("id") if isinstance(rule.get("id"), str) else None
            try:
                compile_condition(rule["when"])
            except ConditionSyntaxError as exc:
                found.append(_condition_problem(name, doc, index, rule_id, exc))
    return found


@dataclass
class _Merged:
    defaults: Defaults | None = None
    defaults_from: _File | None = None
    queues: dict[str, tuple[QueueSpec, _File]] = field(default_factory=dict)
    tools: dict[str, tuple[ToolEntry, _File]] = field(default_factory=dict)
    rule_ids: dict[str, _File] = field(default_factory=dict)


def _merge(files: list[_File], problems: list[Problem]) -> _Merged:
    """Put the files together; the same defaults, queue, tool or rule id in two places is an error."""
    merged = _Merged()
    for f in files:
        if f.model.defaults is not None:
            if merged.defaults_from is not None:
                problems.append(f.problem(f"defaults are already set in {merged.defaults_from.name}", ("defaults",)))
            merged.defaults, merged.defaults_from = f.model.defaults, f
        for name, queue in f.model.queues.items():
            if name in merged.queues:
                message = f"queue {name!r} is already defined in {merged.queues[name][1].name}"
                problems.append(f.problem(message, ("queues", name)))
            merged.queues.setdefault(name, (queue, f))
        for name, tool in f.model.tools.items():
            if name in merged.tools:
                message = f"tool {name!r} is already defined in {merged.tools[name][1].name}"
                problems.append(f.problem(message, ("tools", name)))
            merged.tools.setdefault(name, (tool, f))
        for index, rule in enumerate(f.model.rules):
            if rule.id in merged.rule_ids:
                message = f"rule id {rule.id!r} is already used in {merged.rule_ids[rule.id].name}"
                problems.append(f.problem(message, ("rules", index, "id"), rule.id))
            merged.rule_ids.setdefault(rule.id, f)
    return merged


def _check_references(merged: _Merged, files: list[_File], problems: list[Problem]) -> None:
    """Every queue named must be declared and every tool a rule names must have an entry (typos)."""

    def check_queue(queue: str | None, f: _File, path: tuple[str | int, ...], rule: str | None = None) -> None:
        if queue is not None and queue not in merged.queues:
            problems.append(f.problem(f"queue {queue!r} is not declared under `queues:`", path, rule))

    if merged.defaults is not None and merged.defaults_from is not None:
        check_queue(merged.defaults.queue, merged.defaults_from, ("defaults", "queue"))
    for name, (tool, f) in merged.tools.items():
        check_queue(tool.queue, f, ("tools", name, "queue"))
        problems.extend(_declaration_problems(name, tool, f))
    for name, (queue, f) in merged.queues.items():
        if queue.notify is not None:
            check_queue(queue.notify.escalation_queue, f, ("queues", name, "notify", "escalate_to"))
    for f in files:
        for index, spec in enumerate(f.model.rules):
            check_queue(spec.queue, f, ("rules", index, "queue"), spec.id)
            for at, tool_name in enumerate(spec.tools or ()):
                if tool_name not in merged.tools:
                    message = f"rule applies to tool {tool_name!r}, which has no entry under `tools:`"
                    problems.append(f.problem(message, ("rules", index, "tools", at), spec.id))


def _declaration_problems(name: str, tool: ToolEntry, f: _File) -> list[Problem]:
    """An upstream tool's declared exposure and preview arguments must compile (CEL over ``args``)."""
    expressions: list[tuple[tuple[str, ...], str]] = []
    if tool.exposure is not None:
        expressions += [
            (("exposure", "amount"), tool.exposure.amount),
            (("exposure", "currency"), tool.exposure.currency),
        ]
    if tool.preview is not None:
        expressions.append((("preview", "arguments"), tool.preview.arguments))
    found = []
    for path, source in expressions:
        try:
            compile_value(source)
        except ValueError as exc:
            message = f"{'.'.join(path)}: {str(exc).splitlines()[0]}"
            found.append(f.problem(message, ("tools", name, *path)))
    return found


def _compile_rules(files: list[_File], problems: list[Problem]) -> list[CompiledRule]:
    rules = []
    for f in files:
        for index, spec in enumerate(f.model.rules):
            condition = None
            if spec.when is not None:
                try:
                    condition = compile_condition(spec.when)
                except ConditionSyntaxError as exc:
                    problems.append(_condition_problem(f.name, f.doc, index, spec.id, exc))
            start = f.doc.keys.get(("rules", index))
            line = start.line if start is not None else None
            rules.append(CompiledRule(spec=spec, file=f.name, condition=condition, line=line))
    return rules


def _assemble(files: list[_File], version: str, paths: tuple[Path, ...], problems: list[Problem]) -> Policy | None:
    merged = _merge(files, problems)
    _check_references(merged, files, problems)
    rules = _compile_rules(files, problems)
    if problems:
        return None
    tools = {name: tool for name, (tool, _) in merged.tools.items()}
    by_tool = {name: tuple(r for r in rules if r.spec.tools is None or name in r.spec.tools) for name in tools}
    reads = {name: _reads_of(applying) for name, applying in by_tool.items()}
    return Policy(
        version=version,
        files=paths,
        defaults=merged.defaults or Defaults(),
        queues=types.MappingProxyType({name: queue for name, (queue, _) in merged.queues.items()}),
        tools=types.MappingProxyType(tools),
        rules=tuple(rules),
        _rules_by_tool=types.MappingProxyType(by_tool),
        _reads_by_tool=types.MappingProxyType(reads),
    )


def _reads_of(rules: tuple[CompiledRule, ...]) -> Reads:
    """What the rules' conditions read of a call, together."""
    return functools.reduce(
        operator.or_, (rule.condition.reads for rule in rules if rule.condition is not None), Reads()
    )


def _condition_problem(
    name: str, doc: YamlDocument, index: int, rule: str | None, exc: ConditionSyntaxError
) -> Problem:
    path = ("rules", index, "when")
    if exc.line is None or exc.column is None:
        return _problem(name, f"when: {exc.message}", doc.position(path), rule)
    position = position_in_scalar(doc, path, exc.line, exc.column)
    message = f"when: {exc.message} (expression {exc.line}:{exc.column})"
    return _problem(name, message, position, rule)


def _problem(file: str, message: str, position: Position | None, rule: str | None = None) -> Problem:
    if position is None:
        return Problem(file, message, rule)
    return Problem(file, message, rule, position.line, position.column)


def _validation_problems(name: str, doc: YamlDocument, exc: ValidationError) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        where = _dotted(loc)
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = f"unknown key {loc[-1]!r}" + (f" in {_dotted(loc[:-1])}" if len(loc) > 1 else "")
            if allowed:
                message += f" (allowed: {', '.join(allowed)})"
        else:
            message = f"{where}: {error['msg']}" if where else error["msg"]
        problems.append(_problem(name, message, doc.position(loc), _rule_id(doc.data, loc)))
    return problems


def _dotted(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _rule_id(data: Any, loc: tuple[str | int, ...]) -> str | None:
    if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int) and isinstance(data, dict):
        rules = data.get("rules")
        if isinstance(rules, list) and loc[1] < len(rules) and isinstance(rules[loc[1]], dict):
            rule_id = rules[loc[1]].get("id")
            return rule_id if isinstance(rule_id, str) else None
    return None


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``loc`` accepts, for "unknown key" messages."""
    current: Any = PolicyFile
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        else:
            args = [a for a in get_args(current) if a is not Ellipsis]
            if not args:
                return []
            current = args[-1]  # dict[K, V] -> V, tuple[X, ...] -> X
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and `X | None` down to X."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            rest = [a for a in get_args(annotation) if a is not type(None)]
            if len(rest) != 1:
                return annotation
            annotation = rest[0]
        else:
            return annotation
