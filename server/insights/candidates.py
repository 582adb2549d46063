"""Automation candidates: where the people's decisions say the policy is stricter (or looser) than it
needs to be.

- *Loosen*: a rule or tool whose held calls people approved unchanged at a high rate, over enough
  decisions to mean something. The suggestion is a replay of allowing it, never a change by itself.
- *Tighten*: a rule or tool whose calls people often reject or fix; the agent's instructions (or the
  rule) need work before anything is automated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from server.insights.exceptions import NO_VALUE, ExceptionReport
from server.insights.outcomes import OutcomeCounts

Kind = Literal["rule", "tool"]
Suggestion = Literal["loosen", "tighten"]


@dataclass(frozen=True)
class Thresholds:
    """Shown on the page beside the suggestions, so admins can judge them."""

    # Loosen: at least this many decided calls, and at least this share approved unchanged.
    min_decided: int = 20
    min_unchanged_rate: float = 0.95
    # Tighten: at least this many decided calls, and at least this share rejected or edited.
    min_decided_to_tighten: int = 10
    min_trouble_rate: float = 0.30


@dataclass(frozen=True)
class Candidate:
    kind: Kind
    name: str
    suggestion: Suggestion
    counts: OutcomeCounts

    @property
    def trouble_rate(self) -> float:
        """Share of decided calls that people rejected or had to edit."""
        return (self.counts.rejected + self.counts.edited) / self.counts.decided if self.counts.decided else 0.0


def find_candidates(report: ExceptionReport, thresholds: Thresholds = Thresholds()) -> list[Candidate]:
    """Loosen candidates first (most decided calls first), then tighten candidates."""
    loosen: list[Candidate] = []
    tighten: list[Candidate] = []
    kinds: tuple[Kind, ...] = ("rule", "tool")
    for kind in kinds:
        for name, counts in report.by.get(kind, []):
            if name == NO_VALUE:
                continue
            unchanged = counts.unchanged_rate or 0.0
            if counts.decided >= thresholds.min_decided and unchanged >= thresholds.min_unchanged_rate:
                loosen.append(Candidate(kind, name, "loosen", counts))
            elif counts.decided >= thresholds.min_decided_to_tighten:
                candidate = Candidate(kind, name, "tighten", counts)
                if candidate.trouble_rate >= thresholds.min_trouble_rate:
                    tighten.append(candidate)
    loosen.sort(key=lambda c: (-c.counts.decided, c.kind, c.name))
    tighten.sort(key=lambda c: (-c.trouble_rate, -c.counts.decided, c.kind, c.name))
    return loosen + tighten
