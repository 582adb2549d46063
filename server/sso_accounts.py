"""Accounts that sign in through single sign-on: created at a first sign-in, kept to what the mapping grants.

The claim mapping itself (claims and groups to role and queues) is server/sso.py; this module applies
what it grants to an account: a first sign-in creates the person, a later sign-in or a request of a
single-sign-on session (web/auth.py) sets role and queues or disables them. Every change is audited,
by ``sso``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.lifecycle.actors import Person
from server.people import EMAIL_PATTERN, NAME_PATTERN, SSO_ACTOR, PeopleError, audit_change, person_from_user
from server.sso import Grant
from server.store.db import Store
from server.store.models import User


class _MadeMeanwhile(Exception):
    """The account a first sign-in was about to create was created by another at the same moment."""


def holds_grant(user: User, grant: Grant | None) -> bool:
    """Whether an enabled user already has exactly the role and queues a single-sign-on ``grant`` gives."""
    if grant is None or user.disabled:
        return False
    return user.role == grant.role and user.queues == grant.stored_queues


class SsoAccounts:
    """Single-sign-on people on the store. Thread-safe (each method is one transaction)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def sign_in(
        self, subject: str, names: Sequence[str], grant: Grant | None, *, email: str | None = None
    ) -> Person | None:
        """The person an identity-provider account signs in as, with the role and queues ``grant`` gives.

        ``subject`` is "<issuer> <sub>", the account's stable identity; ``names`` are candidate sign-in
        names for a first sign-in. With no grant the sign-in is refused (None) and an existing person is
        disabled at once; a later grant enables them again (unless an admin disabled them). A name held
        by a local account is never taken over. Audited.

        Raises:
            PeopleError: no usable name, or the name belongs to a local or another single-sign-on account.
        """
        try:
            return self._sign_in(subject, names, grant, email)
        except (IntegrityError, _MadeMeanwhile):
            # A simultaneous first sign-in of the same account created it after our look by subject (seen
            # at our look by name or at our insert; PostgreSQL, SQLite writers take turns): sign in as it.
            # Another account that took the same name or address at that moment: refused, as it would be
            # a moment later.
            if self._user(subject) is None:
                raise PeopleError(
                    "another account took the same name or e-mail address at the same moment; sign in again"
                ) from None
            return self._sign_in(subject, names, grant, email)

    def _sign_in(self, subject: str, names: Sequence[str], grant: Grant | None, email: str | None) -> Person | None:
        with self.store.write() as session:
            user = session.exec(select(User).where(User.sso_subject == subject)).first()
            if user is None:
                if grant is None:
                    self._audit(session, "sso_refused", {"subject": subject, "why": "no role in the mapping"})
                    return None
                user = self._new_user(session, subject, names, grant, email)
                return person_from_user(user)
            return self._apply_grant(session, user, grant)

    def _user(self, subject: str) -> User | None:
        with self.store.read() as session:
            return session.exec(select(User).where(User.sso_subject == subject)).first()

    def apply_grant(self, name_or_subject: str, grant: Grant | None) -> Person | None:
        """Give a single-sign-on person the role and queues ``grant`` gives now; the one rule for it.

        ``name_or_subject`` is their "<issuer> <sub>" or their sign-in name (single-sign-on people only).
        No grant disables them at once (marked as disabled by single sign-on); a grant sets role and
        queues and enables them again if single sign-on disabled them, never if an admin did. Writes and
        audits only what changed. Returns the person as they may act now, or None (no such single-sign-on
        person, no grant, or disabled).
        """
        with self.store.write() as session:
            user = session.exec(select(User).where(User.sso_subject == name_or_subject)).first()
            if user is None:
                user = session.exec(
                    select(User).where(User.name == name_or_subject, col(User.sso_subject).is_not(None))
                ).first()
            if user is None:
                return None
            return self._apply_grant(session, user, grant)

    def _apply_grant(self, session: Session, user: User, grant: Grant | None) -> Person | None:
        if grant is None:
            if not user.disabled:
                user.disabled = True
                user.disabled_by_sso = True
                session.add(user)
                self._audit(session, "user_disabled", {"user": user.name, "why": "no role in the mapping"})
            return None
        if user.disabled and not user.disabled_by_sso:
            return None  # an admin disabled them; only `user enable` undoes that
        if not holds_grant(user, grant):
            user.role, user.queues = grant.role, grant.stored_queues
            user.disabled = user.disabled_by_sso = False
            session.add(user)
            self._audit(
                session, "user_role_set", {"user": user.name, "role": grant.role, "queues": user.queues, "via": "sso"}
            )
        return person_from_user(user)

    def _new_user(self, session: Session, subject: str, names: Sequence[str], grant: Grant, email: str | None) -> User:
        usable = [name for name in names if NAME_PATTERN.match(name)]
        if not usable:
            raise PeopleError("the identity provider sent no usable name (preferred_username, email or sub)")
        name = usable[0]
        holder = session.exec(select(User).where(User.name == name)).first()
        if holder is not None and holder.sso_subject == subject:
            # PostgreSQL reads each statement afresh: a simultaneous first sign-in of this same account
            # committed between our look by subject and this look by name.
            raise _MadeMeanwhile
        if holder is not None and holder.sso_subject is not None:
            raise PeopleError(f"the name {name!r} belongs to another single-sign-on account")
        if holder is not None:
            raise PeopleError(f"the name {name!r} belongs to an account that does not sign in through single sign-on")
        address = email.strip().lower() if email and EMAIL_PATTERN.match(email.strip()) else None
        if address is not None and session.exec(select(User).where(User.email == address)).first() is not None:
            address = None
        user = User(
            name=name,
            role=grant.role,
            queues=grant.stored_queues,
            sso_subject=subject,
            email=address,
            created_at=self.store.now(),
        )
        session.add(user)
        self._audit(session, "user_created", {"user": name, "role": grant.role, "queues": user.queues, "via": "sso"})
        return user

    def _audit(self, session: Session, event_type: str, data: dict[str, object]) -> None:
        audit_change(session, self.store.now(), event_type, SSO_ACTOR, data)
