"""A loaded policy: validated, merged and compiled. Immutable; classify() only reads it (and keeps a
memo of each tool's default verdict in it, which a reload starts afresh)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from server.policy.expressions import Condition, Reads
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
    # and what they read of a call (a call's context holds only that).
    _rules_by_tool: Mapping[str, tuple[CompiledRule, ...]] = field(repr=False, compare=False)
    _reads_by_tool: Mapping[str, Reads] = field(repr=False, compare=False)
    # Filled by classify(): a tool's verdict when nothing voted, less what each call's facts add. Not an
    # argument, so a policy made from another (dataclasses.replace) starts with a memo of its own.
    default_verdicts: dict[str, Verdict] = field(default_factory=dict, init=False, repr=False, compare=False)

    def rules_for(self, tool: str) -> tuple[CompiledRule, ...]:
        return self._rules_by_tool.get(tool, ())

    def reads_for(self, tool: str) -> Reads:
        """What the tool's rules read of a call: variables, fields of ``text``, our functions."""
        return self._reads_by_tool.get(tool, Reads())
