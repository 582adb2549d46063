"""``countersign policy check``: the people a policy names under ``notify:`` must be people here.

A warning, not an error: policy files are often deployed before their people are added, and the
policy itself stays valid. At routing time a name that is no enabled person with an e-mail address
becomes a dead delivery whose error names it (visible on /admin/notifications), so nothing is
silently dropped either way.
"""

from __future__ import annotations

from sqlmodel import col, select

from server.policy.compiled import Policy
from server.store.db import Store
from server.store.models import User


def named_people(policy: Policy) -> dict[str, list[str]]:
    """User name -> the queues whose ``notify:`` names them (e-mail entries and escalation targets)."""
    named: dict[str, list[str]] = {}
    for queue, spec in sorted(policy.queues.items()):
        for name in spec.notify.people() if spec.notify is not None else ():
            named.setdefault(name, []).append(queue)
    return named


def people_warnings(store: Store, policy: Policy) -> list[str]:
    """One line per named person who is unknown, disabled or has no e-mail address."""
    named = named_people(policy)
    if not named:
        return []
    with store.read() as session:
        users = {u.name: u for u in session.exec(select(User).where(col(User.name).in_(list(named)))).all()}
    warnings = []
    for name, queues in named.items():
        user = users.get(name)
        problem = (
            "is not a Countersign user"
            if user is None
            else "is disabled"
            if user.disabled
            else "has no e-mail address (countersign user set-email)"
            if not user.email
            else None
        )
        if problem:
            where = ", ".join(queues)
            warnings.append(f"warning: {name!r}, named under notify: of queue(s) {where}, {problem}; they get no mail")
    return warnings
