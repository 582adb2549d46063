"""Who a single-sign-on person is here: the mapping from identity-provider claims to role and queues.

The mapping is a YAML file (``COUNTERSIGN_OIDC_MAPPING``), read again at every sign-in and, through
:class:`MappingFile`, whenever the file changes, so an edit applies at each person's next request without a
restart (each single-sign-on session keeps a :meth:`SsoMapping.snapshot` of the claims the mapping reads)::

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

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from server.lifecycle.actors import Role

_STRENGTH: dict[str, int] = {"auditor": 1, "reviewer": 2, "admin": 3}
# A snapshot keeps at most this many values of one claim (a groups claim can be long; the rest is noise).
_SNAPSHOT_VALUES = 1000
logger = logging.getLogger(__name__)


class SsoConfigError(ValueError):
    """The mapping file is missing, not YAML, or not a valid mapping."""


@dataclass(frozen=True)
class Grant:
    """What the mapping gives a person: a role and the queues they review (None: every queue)."""

    role: Role
    queues: frozenset[str] | None

    @property
    def stored_queues(self) -> list[str] | None:
        """The queues as a user row keeps them (sorted), None for every queue."""
        return sorted(self.queues) if self.queues is not None else None


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

    def snapshot(self, claims: Mapping[str, Any]) -> dict[str, str | list[str]]:
        """The part of ``claims`` this mapping reads (its groups claim and the claims its rules name), as text.

        Kept with a single-sign-on session so the mapping can be applied again at each request without
        the ID token. ``grant(snapshot(c)) == grant(c)`` for this mapping; a later mapping that reads a
        claim this one did not sees it only at the next sign-in.
        """
        wanted = {self.groups_claim, *(rule.claim for rule in self.rules if rule.claim is not None)}
        kept: dict[str, str | list[str]] = {}
        for name in sorted(wanted):
            value = claims.get(name)
            if isinstance(value, list):
                kept[name] = [str(v) for v in value[:_SNAPSHOT_VALUES] if v is not None]
            elif value is not None:
                kept[name] = str(value)
        return kept

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
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SsoConfigError(f"{path}{line}: the SSO mapping is not valid YAML") from exc
    try:
        return SsoMapping.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "mapping"
        raise SsoConfigError(f"{path}: {where}: {first['msg']}") from exc


class MappingFile:
    """The mapping in a file, read again only when the file changed (its size, times or inode). Thread-safe.

    :meth:`current` costs one ``stat`` while the file is unchanged. A file that does not load raises
    SsoConfigError at every call until it is fixed, and is logged once per version in one line.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int, int, int] | None = None
        self._mapping: SsoMapping | None = None
        self._error: SsoConfigError | None = None
        self._loaded = False

    def current(self) -> SsoMapping:
        """The mapping as the file says now.

        Raises:
            SsoConfigError: the file is missing, unreadable, not YAML or not a valid mapping.
        """
        if self.path is None:
            return SsoMapping()
        try:
            info = os.stat(self.path)
            seen: tuple[int, int, int, int] | None = (info.st_mtime_ns, info.st_ctime_ns, info.st_size, info.st_ino)
        except OSError:
            seen = None
        with self._lock:
            if not self._loaded or seen != self._seen:
                self._seen, self._loaded = seen, True
                try:
                    self._mapping, self._error = load_mapping(self.path), None
                except SsoConfigError as exc:
                    self._mapping, self._error = None, exc
                    logger.error("%s; single sign-on sessions are refused until it is fixed", exc)
            if self._error is not None:
                raise self._error
            assert self._mapping is not None
            return self._mapping
