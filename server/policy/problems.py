"""What is wrong with a policy directory, said so that an admin can find and fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the policy. ``line`` and ``column`` are 1-based, None when unknown."""

    file: str
    message: str
    rule: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{where}:{rule} {self.message}"


class PolicyError(Exception):
    """The policy cannot be used. Carries every problem found, not just the first."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        # In reading order: by file, then position (problems without one first).
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0)))
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid policy")
