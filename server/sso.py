"""Who a single-sign-on person is here: the mapping from identity-provider claims to role and queues.

The mapping is a YAML file (``COUNTERSIGN_OIDC_MAPPING``), read again at every sign-in, so an edit
applies at each person's next sign-in without a restart::

    name_claim: preferred_username     # the sign-in name for a new person (default; then email, then sub)
    groups_claim: groups               # a list of group names in the ID token (default)
    rules:
      - group: countersign-admins
        role: admin
      - group: payments-approvers
        role: reviewer
        queues: [payments, refunds]    # omitted: every queue
      - claim: department              # any claim, compared as text
        equals: internal-audit
        role: auditor

Among the rules that match, the strongest role wins (admin > reviewer > auditor), and the person
reviews the union of the queues of the matching rules with that role (every queue if one of them names
none). No matching rule: no role, so the sign-in is refused and an existing person is disabled at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from server.lifecycle.actors import Role

_STRENGTH: dict[str, int] = {"auditor": 1, "reviewer": 2, "admin": 3}


class SsoConfigError(ValueError):
    """The mapping file is missing, not YAML, or not a valid mapping."""


@dataclass(frozen=True)
class Grant:
    """What the mapping gives a person: a role and the queues they review (None: every queue)."""

    role: Role
    queues: frozenset[str] | None


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    group: str | None = Field(default=None, min_length=1, max_length=500)
    claim: str | None = Field(default=None, min_length=1, max_length=200)
    equals: str | None = Field(default=None, max_length=500)
    role: Role
    queues: list[str] | None = None

    @model_validator(mode="after")
    def _one_condition(self) -> Rule:
        if (self.group is None) == (self.claim is None):
            raise ValueError("a rule needs either `group` or `claim` (with `equals`)")
        if self.claim is not None and self.equals is None:
            raise ValueError(f"the rule on claim {self.claim!r} needs `equals`")
        return self

    def matches(self, claims: Mapping[str, Any], groups: frozenset[str]) -> bool:
        if self.group is not None:
            return self.group in groups
        value = claims.get(self.claim or "")
        values = value if isinstance(value, list) else [value]
        return any(v is not None and str(v) == self.equals for v in values)


class SsoMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name_claim: str = "preferred_username"
    groups_claim: str = "groups"
    rules: list[Rule] = Field(default_factory=list)

    def groups(self, claims: Mapping[str, Any]) -> frozenset[str]:
        value = claims.get(self.groups_claim)
        if isinstance(value, str):
            return frozenset({value})
        if isinstance(value, list):
            return frozenset(str(v) for v in value)
        return frozenset()

    def grant(self, claims: Mapping[str, Any]) -> Grant | None:
        """The role and queues ``claims`` earn, or None when no rule matches."""
        groups = self.groups(claims)
        matched = [rule for rule in self.rules if rule.matches(claims, groups)]
        if not matched:
            return None
        role = max((rule.role for rule in matched), key=lambda r: _STRENGTH[r])
        queues: set[str] = set()
        for rule in matched:
            if rule.role != role:
                continue
            if not rule.queues:
                return Grant(role, None)
            queues.update(rule.queues)
        return Grant(role, frozenset(queues))

    def name_candidates(self, claims: Mapping[str, Any]) -> list[str]:
        """Claims to try, in order, for a new person's sign-in name."""
        found = [claims.get(self.name_claim), claims.get("email"), claims.get("sub")]
        return [str(value) for value in found if isinstance(value, str) and value]


def load_mapping(path: Path | None) -> SsoMapping:
    """Read the mapping file. Without one, nobody gets a role (every SSO sign-in is refused).

    Raises:
        SsoConfigError: unreadable, not YAML, or not a valid mapping; the message names the file.
    """
    if path is None:
        return SsoMapping()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SsoConfigError(f"{path}: cannot read the SSO mapping ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise SsoConfigError(f"{path}: the SSO mapping is not valid YAML") from exc
    try:
        return SsoMapping.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "mapping"
        raise SsoConfigError(f"{path}: {where}: {first['msg']}") from exc
