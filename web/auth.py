"""Sessions for people signed in through the web pages, and throttling of failed sign-ins.

A session is a row in ``web_session``; the browser holds a random 256-bit token in a cookie that is
``HttpOnly`` (scripts cannot read it), ``SameSite=Strict`` (never sent on cross-site requests),
``Path=/`` and ``Secure`` when the server is reached over https. Only the token's SHA-256 is stored,
so a leaked database does not leak live sessions.

- A session is created at sign-in with a fresh token (never reused: signing in rotates it, and the
  old session, if any, is ended), and ended at sign-out.
- It ends after ``session_idle_minutes`` without a request and ``session_absolute_hours`` after
  sign-in, whatever happens; an expired row is deleted when it is next presented.
- A disabled or deleted user's sessions stop working at their next request (the user is read on
  every request, so role and queue changes apply at once too).

Throttling: after ``per_name`` failed attempts for one name, or ``per_address`` from one address,
within ``window``, sign-in is refused without checking the password until the window has passed.
Unknown names are throttled like real ones, so the answer never tells which names exist.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, delete, func, select

from server.config import Settings
from server.lifecycle.actors import Person
from server.people import person_from_user
from server.store.db import Store
from server.store.models import LoginAttempt, User, WebSession

SESSION_COOKIE = "countersign_session"
# Writing last_seen_at on every request would make every page view a write; a minute is precise enough.
TOUCH_EVERY = timedelta(seconds=60)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class ActiveSession:
    """A session that passed its timeouts, with the person it belongs to."""

    id: str
    person: Person
    csrf_token: str
    created_at: datetime


class Sessions:
    """Server-side sessions on the store. Thread-safe (each method is one transaction)."""

    def __init__(self, store: Store, *, idle: timedelta, absolute: timedelta) -> None:
        self.store = store
        self.idle = idle
        self.absolute = absolute

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> Sessions:
        return cls(
            store,
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
        )

    def start(self, user: str, *, replacing: str | None = None) -> str:
        """Create a session for ``user`` and return the cookie token; ends the ``replacing`` session."""
        token = secrets.token_urlsafe(32)
        now = self.store.now()
        with self.store.write() as session:
            if replacing:
                session.exec(delete(WebSession).where(col(WebSession.id) == _digest(replacing)))
            session.add(
                WebSession(
                    id=_digest(token),
                    user_name=user,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=now,
                    last_seen_at=now,
                )
            )
        return token

    def resume(self, token: str | None, *, touch: bool = True) -> ActiveSession | None:
        """The live session for a cookie token, or None (unknown, timed out, or its user disabled).

        ``touch=False`` checks without counting as activity (live streams, background refreshes).
        """
        if not token:
            return None
        key = _digest(token)
        now = self.store.now()
        with self.store.read() as session:
            row = session.get(WebSession, key)
            user = session.exec(select(User).where(User.name == row.user_name)).first() if row is not None else None
        if row is None:
            return None
        person = person_of(user)
        if person is None or self._expired(row, now):
            self._drop(key)
            return None
        if touch and now - row.last_seen_at >= TOUCH_EVERY:
            with self.store.write() as session:
                fresh = session.get(WebSession, key)
                if fresh is not None:
                    fresh.last_seen_at = now
                    session.add(fresh)
        return ActiveSession(id=key, person=person, csrf_token=row.csrf_token, created_at=row.created_at)

    def _expired(self, row: WebSession, now: datetime) -> bool:
        return now - row.last_seen_at >= self.idle or now - row.created_at >= self.absolute

    def end(self, token: str | None) -> None:
        if token:
            self._drop(_digest(token))

    def _drop(self, key: str) -> None:
        with self.store.write() as session:
            session.exec(delete(WebSession).where(col(WebSession.id) == key))


def person_of(user: User | None) -> Person | None:
    """The Person a user row acts as; None when missing or disabled."""
    if user is None or user.disabled:
        return None
    return person_from_user(user)


class Throttle:
    """Counts failed sign-ins per name and per address in a sliding window."""

    def __init__(
        self, store: Store, *, window: timedelta = timedelta(minutes=15), per_name: int = 5, per_address: int = 20
    ) -> None:
        self.store = store
        self.window = window
        self.per_name = per_name
        self.per_address = per_address

    def retry_after(self, name: str, address: str) -> timedelta | None:
        """How long until this name and address may try again, or None if they may now."""
        now = self.store.now()
        since = now - self.window
        waits = [
            self._wait(col(LoginAttempt.name) == _key(name), self.per_name, since, now),
            self._wait(col(LoginAttempt.address) == address, self.per_address, since, now),
        ]
        longest = max((w for w in waits if w is not None), default=None)
        return longest

    def _wait(self, who: sa.ColumnElement[bool], limit: int, since: datetime, now: datetime) -> timedelta | None:
        with self.store.read() as session:
            last_success = session.exec(
                select(func.max(LoginAttempt.at)).where(who, col(LoginAttempt.succeeded).is_(True))
            ).one()
            start = max(since, last_success) if last_success is not None else since
            failures = list(
                session.exec(
                    select(LoginAttempt.at)
                    .where(who, col(LoginAttempt.succeeded).is_(False), col(LoginAttempt.at) > start)
                    .order_by(col(LoginAttempt.at).desc())
                    .limit(limit)
                ).all()
            )
        if len(failures) < limit:
            return None
        # The oldest of the last `limit` failures leaving the window brings the count below the limit.
        return max(failures[-1] + self.window - now, timedelta(seconds=1))

    def record(self, name: str, address: str, *, succeeded: bool) -> None:
        now = self.store.now()
        with self.store.write() as session:
            session.add(LoginAttempt(name=_key(name), address=address[:100], succeeded=succeeded, at=now))
            # Keep the table small: attempts older than a day no longer matter.
            session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < now - max(self.window, timedelta(days=1))))


def _key(name: str) -> str:
    return name.strip().lower()[:200]
