"""People and credentials: reviewers and admins with passwords, bearer tokens for agents and people.

- Passwords are argon2id hashes (argon2-cffi). An unknown name still costs one verification, so
  timing does not tell which names exist.
- Tokens are ``secrets.token_urlsafe(32)`` behind a prefix that says what they are (``csa_`` for an
  agent, ``csp_`` for a person, so a leaked one is recognisable in logs and secret scanners). Only
  their SHA-256 is stored; the token itself is shown once, when it is made.
- An agent token names an agent: it may submit calls and read its own calls, never decide one.
  A person token acts as that person in the JSON API.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlmodel import Session, select

from server.canonical import sha256_hex
from server.lifecycle.actors import Person, Role
from server.store import audit
from server.store.db import Store
from server.store.models import ApiToken, User
from server.text.identity import identity_key

AGENT_TOKEN_PREFIX = "csa_"  # noqa: S105 - a prefix, not a secret
PERSON_TOKEN_PREFIX = "csp_"  # noqa: S105 - a prefix, not a secret
ROLES: tuple[Role, ...] = ("reviewer", "admin", "auditor")
MIN_PASSWORD = 8
# Who the audit trail names for changes single sign-on makes (the mapping, not a person, decided them).
SSO_ACTOR = "sso"
# Letters, digits and a few separators: names appear in logs, audit events and URLs.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,199}$")
EMAIL_PATTERN = re.compile(r"^[^@\s<>\"']{1,64}@[^@\s<>\"']+\.[^@\s<>\"']+$")
# Writing last_used_at on every request would turn each read into a write; once an hour is enough.
_LAST_USED_EVERY = timedelta(hours=1)

PrincipalKind = Literal["agent", "person"]


class PeopleError(ValueError):
    """A user or token could not be created: a bad name, a duplicate, an unknown user."""


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for. ``person`` is set for person tokens only."""

    kind: PrincipalKind
    name: str
    person: Person | None = None

    @property
    def is_agent(self) -> bool:
        return self.kind == "agent"


def person_from_user(user: User) -> Person:
    """The lifecycle's view of a user: name, role and the queues they review (None: every queue)."""
    role: Role = "admin" if user.role == "admin" else "auditor" if user.role == "auditor" else "reviewer"
    queues = frozenset(user.queues) if user.queues else None
    return Person(name=user.name, role=role, queues=queues)


def token_hash(token: str) -> str:
    return sha256_hex(token)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise PeopleError(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > 1000:
        raise PeopleError("the password must have at most 1000 characters")


def check_name(name: str, what: str = "name") -> str:
    """Raises PeopleError when ``name`` is not a plain identifier (letters, digits, ``_.@+-``)."""
    if not NAME_PATTERN.match(name):
        raise PeopleError(f"{what} {name!r}: use letters, digits and _ . @ + - (at most 200 characters)")
    return name


class People:
    """Users and tokens in the gateway's store. Thread-safe (each method is one transaction)."""

    def __init__(self, store: Store, *, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()
        # Verified against when the name is unknown, so a miss costs as much as a wrong password.
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    # --- people --------------------------------------------------------------------------------

    def create_user(
        self,
        name: str,
        role: Role,
        *,
        password: str | None = None,
        queues: Sequence[str] | None = None,
        actor: str = "cli",
        must_change_password: bool = False,
    ) -> User:
        """Add a reviewer, admin or auditor. Raises PeopleError for a bad name or role, or a taken name."""
        check_name(name, "user name")
        if role not in ROLES:
            raise PeopleError(f"role {role!r}: use reviewer, admin or auditor")
        if password is not None:
            _check_password(password)
        user = User(
            name=name,
            role=role,
            password_hash=self.hasher.hash(password) if password is not None else None,
            queues=sorted(set(queues)) if queues else None,
            created_at=self.store.now(),
            must_change_password=must_change_password,
        )
        with self.store.write() as session:
            if session.exec(select(User).where(User.name == name)).first() is not None:
                raise PeopleError(f"a user named {name!r} already exists")
            session.add(user)
            self._audit(session, "user_created", actor, {"user": name, "role": role, "queues": user.queues})
        return user

    def get_user(self, name: str) -> User | None:
        with self.store.read() as session:
            return session.exec(select(User).where(User.name == name)).first()

    def set_email(self, name: str, email: str | None, *, actor: str = "cli") -> None:
        """Record (or clear) a person's e-mail address, which links their Slack account. Audited.

        Raises:
            PeopleError: no such user, or the address belongs to someone else.
        """
        address = email.strip().lower() if email else None
        if address is not None and not EMAIL_PATTERN.match(address):
            raise PeopleError(f"{address[:100]!r} is not an e-mail address")
        with self.store.write() as session:
            user = session.exec(select(User).where(User.name == name)).first()
            if user is None:
                raise PeopleError(f"there is no user named {name!r}")
            if address is not None:
                taken = session.exec(select(User).where(User.email == address, User.name != name)).first()
                if taken is not None:
                    raise PeopleError(f"{address} is already the e-mail address of another user")
            user.email = address
            session.add(user)
            self._audit(session, "user_email_set", actor, {"user": name, "email": address})

    def set_digest(self, name: str, digest: str, *, actor: str = "cli") -> None:
        """Choose how a person gets their queues' mail: ``daily`` (one digest a day) or ``off`` (each event). Audited.

        Raises:
            PeopleError: no such user, an unknown choice, or ``daily`` without an e-mail address.
        """
        if digest not in ("daily", "off"):
            raise PeopleError(f"digest {digest[:20]!r}: use daily or off")
        with self.store.write() as session:
            user = session.exec(select(User).where(User.name == name)).first()
            if user is None:
                raise PeopleError(f"there is no user named {name!r}")
            if digest == "daily" and not user.email:
                raise PeopleError(f"{name} has no e-mail address; set one first")
            user.email_digest = "daily" if digest == "daily" else None
            session.add(user)
            self._audit(session, "user_digest_set", actor, {"user": name, "digest": digest})

    def by_email(self, email: str) -> Person | None:
        """The enabled person with this e-mail address, if any."""
        with self.store.read() as session:
            user = session.exec(select(User).where(User.email == email.strip().lower())).first()
        return person_from_user(user) if user is not None and not user.disabled else None

    def is_known(self, name: str) -> bool:
        """Whether ``name`` is a person here, spelled as a person reads it (identity key)."""
        key = identity_key(name)
        with self.store.read() as session:
            names = session.exec(select(User.name)).all()
        return any(identity_key(known) == key for known in names)

    def verify_password(self, name: str, password: str) -> Person | None:
        """The person if ``password`` is theirs and they are enabled; None otherwise (same cost either way)."""
        user = self.get_user(name)
        stored = user.password_hash if user is not None and user.password_hash else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None or not user.password_hash or user.disabled:
            return None
        if self.hasher.check_needs_rehash(stored):
            self._rehash(user.name, password)
        return person_from_user(user)

    def _rehash(self, name: str, password: str) -> None:
        with self.store.write() as session:
            user = session.exec(select(User).where(User.name == name)).first()
            if user is not None:
                user.password_hash = self.hasher.hash(password)
                session.add(user)

    # --- managing people (CLI) ---------------------------------------------------------------------

    def list_users(self) -> list[User]:
        """Every person, by name."""
        with self.store.read() as session:
            return list(session.exec(select(User).order_by(User.name)).all())

    def set_disabled(self, name: str, disabled: bool, *, actor: str = "cli") -> None:
        """Disable (sessions and API tokens stop at their next request) or enable a person. Audited.

        Raises:
            PeopleError: no such user.
        """
        with self.store.write() as session:
            user = self._require(session, name)
            user.disabled = disabled
            user.disabled_by_sso = False
            session.add(user)
            self._audit(session, "user_disabled" if disabled else "user_enabled", actor, {"user": name})

    def set_role(self, name: str, role: str, *, queues: Sequence[str] | None = None, actor: str = "cli") -> User:
        """Change a person's role and queues (effective at their next request). Audited.

        A single-sign-on person's role comes from the mapping again at their next request (their open
        single-sign-on sessions apply it) or sign-in: edit the mapping instead.

        Raises:
            PeopleError: no such user, or an unknown role.
        """
        if role not in ROLES:
            raise PeopleError(f"role {role!r}: use reviewer, admin or auditor")
        with self.store.write() as session:
            user = self._require(session, name)
            user.role = role
            user.queues = sorted(set(queues)) if queues else None
            session.add(user)
            self._audit(session, "user_role_set", actor, {"user": name, "role": role, "queues": user.queues})
        return user

    def reset_password(self, name: str, *, password: str | None = None, actor: str = "cli") -> str:
        """Set a one-time password (``password`` or a random one, returned) that must be changed at sign-in.

        Raises:
            PeopleError: no such user, a single-sign-on person, or a too-short password.
        """
        new = password if password is not None else secrets.token_urlsafe(12)
        _check_password(new)
        with self.store.write() as session:
            user = self._require(session, name)
            if user.sso_subject is not None:
                raise PeopleError(f"{name} signs in through single sign-on; their password is the identity provider's")
            user.password_hash = self.hasher.hash(new)
            user.must_change_password = True
            session.add(user)
            self._audit(session, "user_password_reset", actor, {"user": name})
        return new

    def change_password(self, name: str, current: str, new: str) -> None:
        """A person changes their own password; clears a pending forced change. Audited.

        Raises:
            PeopleError: the current password is wrong, or the new one is too short or unchanged.
        """
        if self.verify_password(name, current) is None:
            raise PeopleError("the current password is wrong")
        _check_password(new)
        if new == current:
            raise PeopleError("the new password must differ from the current one")
        with self.store.write() as session:
            user = self._require(session, name)
            user.password_hash = self.hasher.hash(new)
            user.must_change_password = False
            session.add(user)
            self._audit(session, "user_password_changed", name, {"user": name})

    def _require(self, session: Session, name: str) -> User:
        user = session.exec(select(User).where(User.name == name)).first()
        if user is None:
            raise PeopleError(f"there is no user named {name!r}")
        return user

    # --- tokens --------------------------------------------------------------------------------

    def create_agent_token(
        self, agent: str, *, label: str = "", actor: str = "cli", for_person: str | None = None
    ) -> str:
        """A new bearer token for ``agent``; returned once, stored only as its hash.

        ``for_person`` binds the agent to the person it works for: every call it makes records them,
        and they can never approve it. Raises PeopleError when there is no such person.
        """
        check_name(agent, "agent name")
        if for_person is not None and self.get_user(for_person) is None:
            raise PeopleError(f"no user named {for_person!r}; add one with `countersign user add`")
        return self._create_token("agent", agent, AGENT_TOKEN_PREFIX, label, actor, person=for_person)

    def create_person_token(self, user: str, *, label: str = "", actor: str = "cli") -> str:
        """A new API token acting as ``user``. Raises PeopleError when there is no such user."""
        if self.get_user(user) is None:
            raise PeopleError(f"no user named {user!r}; add one with `countersign user add`")
        return self._create_token("person", user, PERSON_TOKEN_PREFIX, label, actor)

    def _create_token(
        self, kind: PrincipalKind, principal: str, prefix: str, label: str, actor: str, *, person: str | None = None
    ) -> str:
        token = prefix + secrets.token_urlsafe(32)
        with self.store.write() as session:
            session.add(
                ApiToken(
                    token_hash=token_hash(token),
                    principal_kind=kind,
                    principal=principal,
                    person=person,
                    label=label[:200],
                    created_at=self.store.now(),
                )
            )
            # The audit trail names whose token was made, never the token or its hash.
            data: dict[str, object] = {"kind": kind, "principal": principal, "label": label}
            if person is not None:
                data["for"] = person
            self._audit(session, "token_created", actor, data)
        return token

    def authenticate_token(self, token: str) -> Principal | None:
        """Who ``token`` speaks for, or None when it is unknown, revoked, or its person is disabled."""
        if not token.startswith((AGENT_TOKEN_PREFIX, PERSON_TOKEN_PREFIX)) or len(token) > 200:
            return None
        with self.store.read() as session:
            row = session.exec(
                select(ApiToken).where(ApiToken.token_hash == token_hash(token), ApiToken.revoked == False)  # noqa: E712
            ).first()
            if row is None:
                return None
            user = (
                session.exec(select(User).where(User.name == row.principal)).first()
                if row.principal_kind == "person"
                else None
            )
        self._touch(row)
        if row.principal_kind == "agent":
            return Principal("agent", row.principal)
        if user is None or user.disabled:
            return None
        return Principal("person", user.name, person_from_user(user))

    def token_is_live(self, token: str) -> bool:
        """Whether ``token`` is known and not revoked: one raw indexed read, cheap enough for every request.

        Callers that remember who a token speaks for ask this on each request, so a revocation takes
        effect at the next request on every instance.
        """
        rows = self.store.fetch_raw(
            "SELECT 1 FROM api_token WHERE token_hash = ? AND revoked = ?", (token_hash(token), False)
        )
        return bool(rows)

    def _touch(self, row: ApiToken) -> None:
        now = self.store.now()
        if row.last_used_at is not None and now - row.last_used_at < _LAST_USED_EVERY:
            return
        with self.store.write() as session:
            stored = session.get(ApiToken, row.id)
            if stored is not None:
                stored.last_used_at = now
                session.add(stored)

    def revoke_tokens(self, principal: str, *, kind: PrincipalKind, actor: str = "cli") -> int:
        """Revoke every token of an agent or person; returns how many were live."""
        with self.store.write() as session:
            rows = session.exec(
                select(ApiToken).where(
                    ApiToken.principal == principal,
                    ApiToken.principal_kind == kind,
                    ApiToken.revoked == False,  # noqa: E712
                )
            ).all()
            for row in rows:
                row.revoked = True
                session.add(row)
            if rows:
                self._audit(
                    session, "tokens_revoked", actor, {"kind": kind, "principal": principal, "count": len(rows)}
                )
        return len(rows)

    def _audit(self, session: Session, event_type: str, actor: str, data: dict[str, object]) -> None:
        audit_change(session, self.store.now(), event_type, actor, data)


def audit_change(session: Session, at: datetime, event_type: str, actor: str, data: dict[str, object]) -> None:
    """An audit event for a change to people or credentials, by a person, the CLI or single sign-on."""
    audit.append(
        session,
        at=at,
        event_type=event_type,
        actor=actor,
        actor_kind="system" if actor in ("cli", SSO_ACTOR) else "person",
        reason=None,
        data=dict(data),
    )
