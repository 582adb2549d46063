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
- A single-sign-on session keeps a snapshot of the claims the mapping reads (``sso_claims``), and every
  request applies the mapping file as it is now to it (``MappingFile``: re-read only when the file
  changed), so a mapping edit takes effect at each person's next request: a new role or queues are
  written (``SsoAccounts.apply_grant``), no role disables them and ends the session at once. A mapping
  file that no longer loads refuses single-sign-on sessions (fail closed) until it is fixed.
- A single-sign-on session also ends ``sso_recheck`` after the identity provider last vouched for the
  person: the next page goes back through the provider (silently while its own session lasts), which
  reads their groups again. A person removed from their groups at the provider loses access then at the
  latest, and at once when an admin disables them or their next sign-in maps to no role.

Throttling (failed sign-ins within ``window``; the address is the TCP peer unless it is a configured
proxy, see :func:`client_address`). Chosen so that an attacker cannot lock the owner out:

- per (name, address): ``per_pair`` failures refuse that name from that address;
- per address: ``per_address`` failures, for any names, refuse that address (a password spray);
- per name, from every address: ``per_name`` failures refuse that name, except from an address where
  that name signed in successfully within ``known_for`` (the owner's known-good address keeps working).

A success never clears a counter other than its own (name, address) pair, so signing in to one's own
account between guesses does not reset the address's count. Unknown names are throttled like real
ones, so the answer never tells which names exist.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, delete, func, select

from server.config import Settings
from server.lifecycle.actors import Person
from server.people import person_from_user
from server.sso import MappingFile, SsoConfigError
from server.sso_accounts import SsoAccounts, holds_grant
from server.store.db import Store
from server.store.models import LoginAttempt, User, WebSession

SESSION_COOKIE = "countersign_session"
# Over https the cookie is named with the __Host- prefix: browsers then accept it only if it is Secure,
# has Path=/ and no Domain, so a sibling subdomain cannot plant (toss) a session cookie for us.
HOST_SESSION_COOKIE = "__Host-" + SESSION_COOKIE


def session_cookie_name(secure: bool) -> str:
    return HOST_SESSION_COOKIE if secure else SESSION_COOKIE


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
    # A printed one-time password: every page but the password change page is refused until it changes.
    must_change_password: bool = False


class Sessions:
    """Server-side sessions on the store. Thread-safe (each method is one transaction)."""

    def __init__(
        self,
        store: Store,
        *,
        idle: timedelta,
        absolute: timedelta,
        sso_recheck: timedelta = timedelta(minutes=5),
        sso_mapping: MappingFile | None = None,
    ) -> None:
        self.store = store
        self.idle = idle
        self.absolute = absolute
        self.sso_recheck = sso_recheck
        # Applied again at each request to sessions that kept a claims snapshot (no mapping: nobody has a role).
        self.sso_mapping = sso_mapping or MappingFile(None)
        self.sso_accounts = SsoAccounts(store)

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> Sessions:
        return cls(
            store,
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours),
            sso_recheck=timedelta(minutes=settings.oidc_recheck_minutes),
            sso_mapping=MappingFile(settings.oidc_mapping),
        )

    def start(
        self,
        user: str,
        *,
        replacing: str | None = None,
        sso: bool = False,
        sso_claims: dict[str, Any] | None = None,
    ) -> str:
        """Create a session for ``user`` and return the cookie token; ends the ``replacing`` session.

        ``sso``: the identity provider vouched for the person just now (see ``sso_recheck``).
        ``sso_claims``: the mapping's snapshot of their claims, applied again at every request.
        """
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
                    sso_checked_at=now if sso else None,
                    sso_claims=sso_claims if sso else None,
                )
            )
        return token

    def end_others(self, user: str, *, keeping: str) -> None:
        """End every session of ``user`` but the one with id ``keeping`` (after a password change)."""
        with self.store.write() as session:
            session.exec(delete(WebSession).where(col(WebSession.user_name) == user, col(WebSession.id) != keeping))

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
        assert user is not None  # person_of returned a person
        if row.sso_claims is not None and user.sso_subject is not None:
            try:
                mapping = self.sso_mapping.current()
            except SsoConfigError:
                return None  # fail closed; MappingFile logged it once. The session resumes once it is fixed.
            grant = mapping.grant(row.sso_claims)
            if not holds_grant(user, grant):
                person = self.sso_accounts.apply_grant(user.sso_subject, grant)
                if person is None:
                    self._drop(key)
                    return None
        if touch and now - row.last_seen_at >= TOUCH_EVERY:
            with self.store.write() as session:
                fresh = session.get(WebSession, key)
                if fresh is not None:
                    fresh.last_seen_at = now
                    session.add(fresh)
        return ActiveSession(
            id=key,
            person=person,
            csrf_token=row.csrf_token,
            created_at=row.created_at,
            must_change_password=user.must_change_password,
        )

    def _expired(self, row: WebSession, now: datetime) -> bool:
        if row.sso_checked_at is not None and now - row.sso_checked_at >= self.sso_recheck:
            return True
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
    """Counts failed sign-ins per (name, address), per address and per name in a sliding window."""

    def __init__(
        self,
        store: Store,
        *,
        window: timedelta = timedelta(minutes=15),
        per_pair: int = 5,
        per_address: int = 20,
        per_name: int = 10,
        known_for: timedelta = timedelta(days=30),
    ) -> None:
        self.store = store
        self.window = window
        self.per_pair = per_pair
        self.per_address = per_address
        self.per_name = per_name
        self.known_for = known_for

    def retry_after(self, name: str, address: str) -> timedelta | None:
        """How long until this name and address may try again, or None if they may now."""
        now = self.store.now()
        since = now - self.window
        name_is = col(LoginAttempt.name) == _key(name)
        address_is = col(LoginAttempt.address) == address[:100]
        waits = [
            self._wait(sa.and_(name_is, address_is), self.per_pair, since, now, reset_by_success=True),
            self._wait(address_is, self.per_address, since, now),
        ]
        if not self._known_good(name, address, now):
            waits.append(self._wait(name_is, self.per_name, since, now))
        return max((w for w in waits if w is not None), default=None)

    def _known_good(self, name: str, address: str, now: datetime) -> bool:
        with self.store.read() as session:
            found = session.exec(
                select(LoginAttempt.id).where(
                    col(LoginAttempt.name) == _key(name),
                    col(LoginAttempt.address) == address[:100],
                    col(LoginAttempt.succeeded).is_(True),
                    col(LoginAttempt.at) > now - self.known_for,
                )
            ).first()
        return found is not None

    def _wait(
        self, who: sa.ColumnElement[bool], limit: int, since: datetime, now: datetime, *, reset_by_success: bool = False
    ) -> timedelta | None:
        with self.store.read() as session:
            start = since
            if reset_by_success:
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
            # Keep the table small: failures older than a day no longer matter; successes mark known-good
            # addresses for `known_for`.
            session.exec(
                delete(LoginAttempt).where(
                    col(LoginAttempt.at) < now - max(self.window, timedelta(days=1)),
                    sa.or_(col(LoginAttempt.succeeded).is_(False), col(LoginAttempt.at) < now - self.known_for),
                )
            )


def _key(name: str) -> str:
    return name.strip().lower()[:200]
