"""The SSO claim mapping (server/sso.py) and signing in as an identity-provider account (People.sso_sign_in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from pydantic import ValidationError

from server.config import Settings
from server.people import People, PeopleError
from server.sso import Grant, SsoConfigError, load_mapping
from server.store.db import Store

FAST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
SUBJECT = "https://idp.example.com u-1"


@pytest.fixture
def people(database_url: str) -> Iterator[People]:
    store = Store.open(database_url)
    yield People(store, hasher=FAST)
    store.close()


def _mapping(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sso.yaml"
    path.write_text(text)
    return path


RULES = """
rules:
  - group: admins
    role: admin
  - group: pay
    role: reviewer
    queues: [payments]
  - group: refunds
    role: reviewer
    queues: [refunds]
  - claim: department
    equals: audit
    role: auditor
"""


def test_matching_rules_give_the_strongest_role_and_the_union_of_its_queues(tmp_path: Path) -> None:
    mapping = load_mapping(_mapping(tmp_path, RULES))
    assert mapping.grant({"groups": ["pay", "refunds"]}) == Grant("reviewer", frozenset({"payments", "refunds"}))
    assert mapping.grant({"groups": ["pay", "admins"]}) == Grant("admin", None)
    assert mapping.grant({"department": "audit"}) == Grant("auditor", None)
    assert mapping.grant({"groups": ["marketing"]}) is None
    assert mapping.grant({}) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("rules: [{group: a, role: owner}]", "role"),
        ("rules: [{role: admin}]", "either `group` or `claim`"),
        ("rules: [{claim: dept, role: admin}]", "needs `equals`"),
        ("rulez: []", "rulez"),
        ("rules: [", "not valid YAML"),
    ],
    ids=["unknown-role", "no-condition", "claim-without-value", "unknown-key", "not-yaml"],
)
def test_a_bad_mapping_is_refused_with_the_file_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    path = _mapping(tmp_path, text)
    with pytest.raises(SsoConfigError) as caught:
        load_mapping(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_without_a_mapping_nobody_gets_a_role() -> None:
    assert load_mapping(None).grant({"groups": ["admins"]}) is None


def test_a_first_sign_in_creates_the_person_and_later_ones_follow_the_mapping(people: People) -> None:
    person = people.sso_sign_in(SUBJECT, ["rita"], Grant("reviewer", frozenset({"payments"})), email="Rita@Example.com")
    assert person is not None and person.name == "rita" and person.queues == frozenset({"payments"})
    user = people.get_user("rita")
    assert user is not None and user.email == "rita@example.com" and user.password_hash is None
    # A renamed account at the provider keeps its name here (the audit trail names it).
    again = people.sso_sign_in(SUBJECT, ["rita.renamed"], Grant("admin", None))
    assert again is not None and again.name == "rita" and again.role == "admin"


def test_no_role_disables_the_person_and_a_role_again_enables_them(people: People) -> None:
    people.sso_sign_in(SUBJECT, ["rita"], Grant("reviewer", None))
    assert people.sso_sign_in(SUBJECT, ["rita"], None) is None
    assert people.get_user("rita").disabled  # type: ignore[union-attr]
    assert people.sso_sign_in(SUBJECT, ["rita"], Grant("reviewer", None)) is not None
    assert not people.get_user("rita").disabled  # type: ignore[union-attr]


def test_an_admin_disable_is_not_undone_by_signing_in(people: People) -> None:
    people.sso_sign_in(SUBJECT, ["rita"], Grant("reviewer", None))
    people.set_disabled("rita", True)
    assert people.sso_sign_in(SUBJECT, ["rita"], Grant("admin", None)) is None
    user = people.get_user("rita")
    assert user is not None and user.disabled and user.role == "reviewer"


def test_a_provider_account_never_takes_a_local_persons_name(people: People) -> None:
    people.create_user("ada", "admin", password="ada-long-password")
    with pytest.raises(PeopleError, match="ada"):
        people.sso_sign_in(SUBJECT, ["ada"], Grant("admin", None))
    assert people.get_user("ada").sso_subject is None  # type: ignore[union-attr]


def test_a_person_without_a_role_is_not_created(people: People) -> None:
    assert people.sso_sign_in(SUBJECT, ["rita"], None) is None
    assert people.get_user("rita") is None


def test_a_name_that_is_not_an_identifier_falls_back_to_the_next_claim(people: People) -> None:
    person = people.sso_sign_in(SUBJECT, ["Rita Smith", "rita@example.com"], Grant("auditor", None))
    assert person is not None and person.name == "rita@example.com" and not person.may_decide


def test_a_sso_person_has_no_password_to_reset(people: People) -> None:
    people.sso_sign_in(SUBJECT, ["rita"], Grant("reviewer", None))
    with pytest.raises(PeopleError, match="single sign-on"):
        people.reset_password("rita")


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"oidc_issuer": "https://idp.example.com"}, "needs both"),
        ({"oidc_issuer": "http://idp.example.com", "oidc_client_id": "c"}, "https"),
        ({"oidc_issuer": "http://localhost.evil.example", "oidc_client_id": "c"}, "https"),
        ({"local_passwords": False}, "needs single sign-on"),
    ],
    ids=["issuer-without-client", "plain-http-issuer", "lookalike-loopback", "no-way-to-sign-in"],
)
def test_settings_refuse_an_incomplete_or_unsafe_sign_in_setup(values: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(**values)  # type: ignore[arg-type]
