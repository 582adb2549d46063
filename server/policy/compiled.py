"""A loaded policy: validated, merged and compiled. Immutable; classify() only reads it (and keeps a
memo of each tool's default verdict in it, which a reload starts afresh)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from server.policy.expressions import FUNCTIONS, TEXT_FIELDS, Condition
from server.policy.model import Defaults, QueueSpec, RuleSpec, ToolEntry
from server.policy.types import Action, Verdict


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    file: str
    # None when the rule has no `when`: it matches every call to its tools.
    condition: Condition | None
    # Where the rule starts in its file (1-based), for messages.
    line: int | None = None

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def action(self) -> Action:
        return self.spec.action


@dataclass(frozen=True)
class Policy:
    """The merged contents of a policy directory.

    ``version`` is the sha256 of the files' names and contents, recorded on every verdict.
    ``rules`` keep file order (files sorted by name), then order within each file.
    """

    version: str
    files: tuple[Path, ...]
    defaults: Defaults
    queues: Mapping[str, QueueSpec]
    tools: Mapping[str, ToolEntry]
    rules: tuple[CompiledRule, ...]
    # Computed once so classify() skips the rest: the rules that apply to each tool, in policy order,
    # and the variables they read.
    _rules_by_tool: Mapping[str, tuple[CompiledRule, ...]] = field(repr=False, compare=False)
    _variables_by_tool: Mapping[str, frozenset[str]] = field(repr=False, compare=False)
    # The fields of `text` they read (all, for a tool not listed).
    _text_fields_by_tool: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    # The functions they call (all, for a tool not listed).
    _functions_by_tool: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    # Filled by classify(): a tool's verdict when nothing voted, less what each call's facts add. Not an
    # argument, so a policy made from another (dataclasses.replace) starts with a memo of its own.
    default_verdicts: dict[str, Verdict] = field(default_factory=dict, init=False, repr=False, compare=False)

    def rules_for(self, tool: str) -> tuple[CompiledRule, ...]:
        return self._rules_by_tool.get(tool, ())

    def variables_for(self, tool: str) -> frozenset[str]:
        """The context variables the tool's rules read."""
        return self._variables_by_tool.get(tool, frozenset())

    def text_fields_for(self, tool: str) -> frozenset[str]:
        """The fields of the ``text`` variable the tool's rules read."""
        return self._text_fields_by_tool.get(tool, TEXT_FIELDS)

    def functions_for(self, tool: str) -> frozenset[str]:
        """The functions of ours (``expressions.FUNCTIONS``) the tool's rules call."""
        return self._functions_by_tool.get(tool, _ALL_FUNCTIONS)


_ALL_FUNCTIONS = frozenset(FUNCTIONS)
