"""Per-agent settings an admin keeps: today, the default inline wait of the agent's held calls.

The wait a held ``tools/call`` spends inline before answering ``pending_approval`` is, first to last:
the call's ``_meta`` ``countersign/inline_wait``, the agent's default (``countersign agent add NAME
--inline-wait S`` or ``agent set-inline-wait NAME S``), the server's ``COUNTERSIGN_INLINE_WAIT_SECONDS``.
A client that gives up after 5 s (the OpenAI Agents SDK's default) needs an agent default below that.
"""

from __future__ import annotations

import math

from server.store import audit
from server.store.db import Store
from server.store.models import AgentProfile

# The longest inline wait anyone may set: below the 60 s at which TypeScript SDK clients give up.
MAX_INLINE_WAIT = 55.0


class ProfileError(ValueError):
    """A setting out of range."""


def check_inline_wait(seconds: float) -> float:
    """Raises ProfileError unless ``seconds`` is a number from 0 to 55."""
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_INLINE_WAIT:
        raise ProfileError(f"an inline wait is 0 to {MAX_INLINE_WAIT:g} seconds, not {seconds:g}")
    return float(seconds)


class AgentProfiles:
    """Agents' settings in the gateway's store. Each method is one transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def inline_wait(self, agent: str) -> float | None:
        """The agent's default inline wait, or None for the server's."""
        with self.store.read() as session:
            profile = session.get(AgentProfile, agent)
        return profile.inline_wait if profile is not None else None

    def set_inline_wait(self, agent: str, seconds: float | None, *, actor: str = "cli") -> None:
        """Set (or, with None, clear) the agent's default inline wait; audited."""
        value = check_inline_wait(seconds) if seconds is not None else None
        with self.store.write() as session:
            profile = session.get(AgentProfile, agent) or AgentProfile(agent=agent)
            profile.inline_wait = value
            profile.updated_at = self.store.now()
            session.add(profile)
            audit.append(
                session,
                at=self.store.now(),
                event_type="agent_inline_wait_set",
                actor=actor,
                actor_kind="system" if actor == "cli" else "person",
                reason=None,
                data={"agent": agent, "inline_wait": value},
            )
