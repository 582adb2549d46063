"""Signing in and out: cookie flags, rotation, idle and absolute timeouts, throttled guessing, first admin."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from sqlmodel import select

from server.cli import serve
from server.config import Settings
from server.runtime import Runtime, build_runtime
from server.store.models import AuditEvent, WebSession
from tests.web.support import Clock, csrf_of, make_settings, password, sign_in
from web.app import create_app
from web.auth import SESSION_COOKIE

# Where the test client's cookie jar files cookies for http://testserver.
JAR_DOMAIN = "testserver.local"


def _attempt(client: TestClient, name: str, secret: str, **headers: str) -> int:
    client.cookies.clear()
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin", data={"name": name, "password": secret, "csrf_token": token}, headers=headers, follow_redirects=False
    )
    return response.status_code


def test_the_session_cookie_is_http_only_strict_and_holds_no_secret_we_store(
    client: TestClient, runtime: Runtime
) -> None:
    form = client.get("/signin")
    response = client.post(
        "/signin",
        data={"name": "alice", "password": password("alice"), "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "="))
    flags = cookie.lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/" in flags
    assert "secure" not in flags  # plain http in tests; see the https test below
    token = cookie.split(";")[0].split("=", 1)[1]
    with runtime.store.read() as session:
        rows = session.exec(select(WebSession)).all()
    assert len(rows) == 1 and rows[0].id != token  # only the token's hash is stored
    with runtime.store.read() as session:
        events = [e.event_type for e in session.exec(select(AuditEvent)).all()]
    assert "signed_in" in events


def test_over_https_the_cookie_is_secure(database_url: str, clock: Clock) -> None:
    from tests.web.support import make_runtime

    settings = make_settings(database_url, base_url="https://testserver")
    runtime = make_runtime(settings, clock)
    try:
        with TestClient(create_app(settings, runtime), base_url="https://testserver") as client:
            form = client.get("/signin")
            response = client.post(
                "/signin",
                data={"name": "alice", "password": password("alice"), "csrf_token": csrf_of(form.text)},
                follow_redirects=False,
            )
            assert response.status_code == 303
            cookies = response.headers.get_list("set-cookie")
            session = [c for c in cookies if c.startswith(f"__Host-{SESSION_COOKIE}=")]
            assert session  # the prefix: browsers refuse it unless Secure, Path=/ and no Domain
            assert all(any(part.strip().lower() == "secure" for part in c.split(";")[1:]) for c in session)
            assert all("domain=" not in c.lower() and "path=/" in c.lower() for c in session)
            # The signed-in session works under that name, and a cookie without the prefix is ignored.
            assert client.get("/queue", follow_redirects=False).status_code == 200
            token = client.cookies.get(f"__Host-{SESSION_COOKIE}")
            client.cookies.clear()
            client.cookies.set(SESSION_COOKIE, token or "")
            assert client.get("/queue", follow_redirects=False).status_code == 303
    finally:
        runtime.close()


def test_signing_in_never_keeps_a_session_token_the_browser_already_had(client: TestClient) -> None:
    """Session fixation: a token planted in the browser before sign-in is never the signed-in session."""
    client.cookies.set(SESSION_COOKIE, "planted-by-an-attacker", domain=JAR_DOMAIN)
    sign_in(client, "alice")
    assert client.cookies.get(SESSION_COOKIE) not in (None, "planted-by-an-attacker")


def test_signing_in_again_ends_the_previous_session(client: TestClient) -> None:
    sign_in(client, "alice")
    first = client.cookies.get(SESSION_COOKIE)
    # A second sign-in from the same browser (the form's double-submit token set by hand).
    client.cookies.set("countersign_signin", "same-value", domain=JAR_DOMAIN, path="/signin")
    response = client.post(
        "/signin",
        data={"name": "alice", "password": password("alice"), "csrf_token": "same-value"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    second = client.cookies.get(SESSION_COOKIE)
    assert first and second and first != second
    client.cookies.set(SESSION_COOKIE, first, domain=JAR_DOMAIN)
    assert client.get("/queue", follow_redirects=False).status_code == 303  # the old session ended


def test_wrong_passwords_and_unknown_names_get_the_same_answer(client: TestClient) -> None:
    wrong = client.post("/signin", data={"name": "alice", "password": "nope-nope", "csrf_token": "x"})
    assert wrong.status_code == 403  # the form token check comes first
    assert _attempt(client, "alice", "nope-nope") == 401
    assert _attempt(client, "nobody", "nope-nope") == 401
    assert SESSION_COOKIE not in client.cookies


def test_repeated_failures_throttle_sign_in_for_that_name(client: TestClient, clock: Clock) -> None:
    for _ in range(5):
        assert _attempt(client, "alice", "guess-guess") == 401
    # Even the right password is refused now, without being checked.
    assert _attempt(client, "alice", password("alice")) == 429
    assert SESSION_COOKIE not in client.cookies
    # Other people are not locked out by someone guessing alice's password.
    assert _attempt(client, "bob", password("bob")) == 303
    clock.advance(minutes=16)
    assert _attempt(client, "alice", password("alice")) == 303


def test_one_address_guessing_many_names_is_throttled(client: TestClient) -> None:
    for i in range(20):
        assert _attempt(client, f"someone{i}", "guess-guess") == 401
    assert _attempt(client, "alice", password("alice")) == 429


def test_the_throttle_answer_says_when_to_retry(client: TestClient) -> None:
    for _ in range(5):
        _attempt(client, "alice", "guess-guess")
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"name": "alice", "password": "x" * 9, "csrf_token": token})
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 15 * 60
    assert "Too many failed sign-ins" in response.text


def test_an_idle_session_ends(client: TestClient, clock: Clock, settings: Settings) -> None:
    sign_in(client, "alice")
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert client.get("/queue", follow_redirects=False).status_code == 200
    clock.advance(minutes=settings.session_idle_minutes - 1)
    assert client.get("/queue", follow_redirects=False).status_code == 200  # activity keeps it alive
    clock.advance(minutes=settings.session_idle_minutes + 1)
    response = client.get("/queue", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/signin")


def test_a_busy_session_still_ends_at_the_absolute_limit(client: TestClient, clock: Clock, settings: Settings) -> None:
    sign_in(client, "alice")
    step = settings.session_idle_minutes - 5
    elapsed = 0
    while elapsed + step < settings.session_absolute_hours * 60:
        clock.advance(minutes=step)
        elapsed += step
        assert client.get("/queue", follow_redirects=False).status_code == 200
    clock.advance(minutes=step)
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_the_live_stream_does_not_keep_a_session_alive(client: TestClient, clock: Clock, settings: Settings) -> None:
    sign_in(client, "alice")
    for _ in range(2):
        clock.advance(minutes=settings.session_idle_minutes / 2 - 1)
        assert client.get("/queue/rows").status_code == 200  # background refreshes are not activity
    clock.advance(minutes=3)
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(client: TestClient) -> None:
    for target, expected in (
        ("/history?q=x", "/history?q=x"),
        ("//evil.example/", "/queue"),
        ("https://evil", "/queue"),
    ):
        client.cookies.clear()
        token = csrf_of(client.get("/signin").text)
        response = client.post(
            "/signin",
            data={"name": "alice", "password": password("alice"), "csrf_token": token, "next": target},
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_first_serve_on_an_empty_database_creates_an_admin(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = build_runtime(make_settings(database_url))
    try:
        serve._first_admin(runtime)
        printed = capsys.readouterr().out.strip().splitlines()
        secret = printed[-1]  # secrets come last, once
        assert runtime.people.verify_password("admin", secret) is not None
        serve._first_admin(runtime)  # a second start creates nothing and prints nothing
        assert capsys.readouterr().out == ""
    finally:
        runtime.close()


def test_the_first_admin_can_take_its_password_from_the_environment(database_url: str, tmp_path: Path) -> None:
    runtime = build_runtime(make_settings(database_url, admin_password="from-the-environment"))
    try:
        serve._first_admin(runtime)
        assert runtime.people.verify_password("admin", "from-the-environment") is not None
    finally:
        runtime.close()


def test_a_too_short_admin_password_stops_the_server(database_url: str) -> None:
    runtime = build_runtime(make_settings(database_url, admin_password="short"))
    try:
        with pytest.raises(typer.Exit):
            serve._first_admin(runtime)
    finally:
        runtime.close()


def test_sign_in_page_when_signed_in_goes_to_the_queue(new_client: Callable[[], TestClient]) -> None:
    client = new_client()
    sign_in(client, "alice")
    response = client.get("/signin", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/queue"


def _from(app: object, address: str) -> TestClient:
    """A browser at ``address`` (the TCP peer the app sees)."""
    return TestClient(app, base_url="http://testserver", client=(address, 50000))  # type: ignore[arg-type]


def test_a_password_spray_with_made_up_forwarded_addresses_is_still_throttled(client: TestClient) -> None:
    statuses = [
        _attempt(client, f"someone{i}", "guess-guess", **{"X-Forwarded-For": f"198.51.100.{i}"}) for i in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429


def test_signing_in_to_ones_own_account_between_guesses_does_not_reset_the_address_count(
    client: TestClient,
) -> None:
    statuses = []
    for i in range(57):
        statuses.append(_attempt(client, f"victim{i % 3}", "guess-guess"))
        if i % 4 == 3:
            _attempt(client, "bob", password("bob"))  # the attacker's own account
    assert 429 in statuses
    assert statuses.index(429) <= 20


def test_an_attacker_guessing_the_owners_password_does_not_lock_the_owner_out(
    settings: Settings, runtime: Runtime, client: TestClient
) -> None:
    app = client.app
    owner, attackers = _from(app, "192.0.2.10"), [_from(app, f"203.0.113.{i}") for i in range(1, 4)]
    assert _attempt(owner, "alice", password("alice")) == 303  # her usual address, known good from now on
    statuses = [_attempt(attacker, "alice", "guess-guess") for attacker in attackers for _ in range(6)]
    assert statuses.count(429) >= 3  # each attacking address, and the name from unknown addresses, is throttled
    assert _attempt(owner, "alice", password("alice")) == 303


def test_behind_a_configured_proxy_the_forwarded_address_is_the_one_throttled(database_url: str, clock: Clock) -> None:
    from tests.web.support import make_runtime

    settings = make_settings(database_url, trusted_proxies=["10.0.0.0/8"])
    runtime = make_runtime(settings, clock)
    try:
        app = create_app(settings, runtime)
        with _from(app, "10.1.2.3") as proxy:
            sprayer = {"X-Forwarded-For": "203.0.113.9"}
            statuses = [_attempt(proxy, f"someone{i}", "guess-guess", **sprayer) for i in range(21)]
            other_user = _attempt(proxy, "bob", password("bob"), **{"X-Forwarded-For": "192.0.2.44"})
    finally:
        runtime.close()
    assert statuses[20] == 429
    assert other_user == 303  # the proxy's other clients are not throttled with the sprayer
