"""The vocabulary of the policy: what goes into classify() and what comes out.

These types are shared by the policy engine, the store, the MCP surface and the web pages,
so they stay small, frozen and free of I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Action(StrEnum):
    """What happens to a call. Ordered by strictness: block > hold > allow."""

    ALLOW = "allow"
    HOLD = "hold"
    BLOCK = "block"

    @property
    def strictness(self) -> int:
        return _STRICTNESS[self]


_STRICTNESS = {Action.ALLOW: 0, Action.HOLD: 1, Action.BLOCK: 2}


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Impact(StrEnum):
    """How much a call touches a customer or vendor relationship."""

    NONE = "none"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(max_length=500)
    excerpt: str | None = Field(default=None, max_length=5000)
    url: str | None = Field(default=None, max_length=2000)


class Justification(BaseModel):
    """What the model says about its own call: why, on what evidence, how sure."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: str | None = Field(default=None, max_length=5000)
    evidence: tuple[Evidence, ...] = ()
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class Exposure(BaseModel):
    """Money at stake in a call, extracted from its arguments by the tool's metadata."""

    model_config = ConfigDict(frozen=True)

    amount: float
    currency: str


class CallFacts(BaseModel):
    """Everything the policy may look at. Built once per call; classify() does no I/O."""

    model_config = ConfigDict(frozen=True)

    tool: str
    args: dict[str, Any]
    agent: str = "anonymous"
    server: str = "countersign"
    justification: Justification = Justification()
    exposure: Exposure | None = None
    # Identifier of the customer or vendor the call touches, when the tool declares one.
    customer: str | None = None
    # The tool's declared category in tools/ (read, prepare, act), when known.
    category: str | None = None
    # The person the agent says it acts for (MCP _meta "countersign/on_behalf_of"), when it says so.
    on_behalf_of: str | None = None


class ToolOverride(BaseModel):
    """An admin's override of a tool's default, stored in the database."""

    model_config = ConfigDict(frozen=True)

    tool: str
    risk: Risk
    action: Action
    reason: str = ""
    actor: str = ""


class Verdict(BaseModel):
    """The policy's answer for one call."""

    model_config = ConfigDict(frozen=True)

    action: Action
    risk: Risk
    queue: str = "default"
    owner: str | None = None
    required_approvals: int = Field(default=1, ge=1)
    exposure: Exposure | None = None
    customer: str | None = None
    customer_impact: Impact = Impact.NONE
    # Higher is reviewed first; see server/policy/priority.py for the formula.
    priority: float = 0.0
    matched_rules: tuple[str, ...] = ()
    # An admin's tool override voted for the winning action (its reason comes first in ``reasons``).
    override_decided: bool = False
    category: str | None = None
    reasons: tuple[str, ...] = ()
    sla_seconds: int = 4 * 3600
    expires_in_seconds: int = 24 * 3600
    # Identifies the policy files this verdict came from (a hash of their contents).
    policy_version: str = ""
    # An identical call of the same agent that was approved and ran recently (server/lifecycle/duplicates.py).
    duplicate_of: str | None = None

    @property
    def reason(self) -> str:
        """The reasons as one sentence, for people and for models."""
        return "; ".join(self.reasons)
