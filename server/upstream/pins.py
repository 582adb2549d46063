"""Pinning upstream tool definitions (rug-pull protection), shared by every instance through the database.

- The first definition seen of a tool (name, description, input schema, annotations) is pinned by
  its hash: trust on first use, audited as ``upstream_tool_pinned``.
- A different definition served later is recorded as pending (``upstream_tool_changed``). The tool
  then runs only once an admin accepts it (``upstream_tool_accepted``); until then it is blocked and
  calls held under the old definition cannot be approved.
- An upstream that goes back to the pinned definition clears the pending one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from server.canonical import canonical_json
from server.store import audit
from server.store.db import Store
from server.store.models import UpstreamPin

# The lookup on every upstream call: one indexed read, no ORM.
_PIN_SQL = "SELECT pinned_hash FROM upstream_pin WHERE tool = ?"


def definition_hash(definition: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(definition).encode()).hexdigest()


@dataclass(frozen=True)
class Observed:
    """What pinning made of a definition just listed: ``pinned`` (new pin), ``same`` or ``changed``."""

    tool: str
    state: str


class Pins:
    def __init__(self, store: Store) -> None:
        self.store = store

    def pinned_hash(self, tool: str) -> str | None:
        rows = self.store.fetch_raw(_PIN_SQL, (tool,))
        return str(rows[0][0]) if rows else None

    def observe(self, upstream: str, upstream_tool: str, tool: str, definition: dict[str, Any]) -> Observed:
        """Record a definition an upstream listed: pin it if new, note it if it differs from the pin."""
        digest = definition_hash(definition)
        now = self.store.now()
        with self.store.write() as session:
            pin = session.get(UpstreamPin, tool, with_for_update=True)
            if pin is None:
                session.add(
                    UpstreamPin(
                        tool=tool,
                        upstream=upstream,
                        upstream_tool=upstream_tool,
                        pinned_hash=digest,
                        pinned_definition=definition,
                        pinned_at=now,
                    )
                )
                _event(session, now, "upstream_tool_pinned", tool, "first definition seen; pinned", digest)
                return Observed(tool, "pinned")
            if pin.pinned_hash == digest:
                if pin.pending_hash is not None:
                    pin.pending_hash, pin.pending_definition, pin.changed_at = None, None, None
                    session.add(pin)
                return Observed(tool, "same")
            if pin.pending_hash != digest:
                pin.pending_hash, pin.pending_definition, pin.changed_at = digest, definition, now
                session.add(pin)
                reason = "the upstream serves a definition that differs from the pinned one; blocked until accepted"
                _event(session, now, "upstream_tool_changed", tool, reason, digest, before=pin.pinned_hash)
            return Observed(tool, "changed")

    def accept(
        self, upstream: str, tools: list[str] | None, *, actor: str, expected: dict[str, str] | None = None
    ) -> list[UpstreamPin]:
        """Make the pending definitions of ``upstream`` (or of the named listed tools) the pins.

        ``expected`` maps a tool to the pending hash the admin was shown; a tool whose pending
        definition changed again since then is left alone (accept only what was seen)."""
        now = self.store.now()
        accepted: list[UpstreamPin] = []
        with self.store.write() as session:
            query = select(UpstreamPin).where(
                UpstreamPin.upstream == upstream, col(UpstreamPin.pending_hash).is_not(None)
            )
            for pin in session.exec(query.with_for_update()).all():
                if tools and pin.tool not in tools and pin.upstream_tool not in tools:
                    continue
                if expected is not None and expected.get(pin.tool) != pin.pending_hash:
                    continue
                before = pin.pinned_hash
                assert pin.pending_hash is not None
                pin.pinned_hash, pin.pinned_definition, pin.pinned_at = pin.pending_hash, pin.pending_definition, now
                pin.pending_hash, pin.pending_definition, pin.changed_at = None, None, None
                session.add(pin)
                _event(
                    session, now, "upstream_tool_accepted", pin.tool, "changed definition accepted", pin.pinned_hash,
                    before=before, actor=actor, actor_kind="person",
                )  # fmt: skip
                accepted.append(pin)
        return accepted

    def all(self, upstream: str | None = None) -> list[UpstreamPin]:
        query = select(UpstreamPin).order_by(col(UpstreamPin.tool))
        if upstream is not None:
            query = query.where(UpstreamPin.upstream == upstream)
        with self.store.read() as session:
            return list(session.exec(query).all())

    def pending(self, upstream: str) -> list[UpstreamPin]:
        return [pin for pin in self.all(upstream) if pin.pending_hash is not None]


def describe_change(pin: UpstreamPin) -> str:
    """A unified diff of the pinned and the pending definition (description and schema), for admins."""
    old = _lines(pin.pinned_definition or {})
    new = _lines(pin.pending_definition or {})
    diff = difflib.unified_diff(old, new, f"{pin.tool} (pinned)", f"{pin.tool} (served now)", lineterm="")
    return "\n".join(diff)


def _lines(definition: dict[str, Any]) -> list[str]:
    shown = {key: definition.get(key) for key in ("description", "input_schema", "annotations")}
    return json.dumps(shown, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def _event(
    session: Any,
    at: Any,
    event_type: str,
    tool: str,
    reason: str,
    digest: str,
    *,
    before: str | None = None,
    actor: str = "countersign",
    actor_kind: str = "system",
) -> None:
    data: dict[str, Any] = {"hash": digest}
    if before is not None:
        data["previous_hash"] = before
    audit.append(
        session, at=at, event_type=event_type, actor=actor, actor_kind=actor_kind, tool=tool, reason=reason, data=data
    )
