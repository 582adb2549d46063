"""Sign-in throttling against a real `countersign serve` process, as the attack ran (issue 10, defect 8).

The in-process test client never honoured X-Forwarded-For; the bypass was uvicorn believing it from loopback.
So these tests talk TCP to a subprocess started as an operator starts it. Loopback is all of 127.0.0.0/8 on
Linux, so a client bound to 127.0.0.2 is a second real address. The limits are web/auth.py's ``Throttle``:
five failures per (name, address) in 15 minutes, twenty per address, ten per name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from tests.mcp.support import ServeProcess, run_cli
from tests.web.support import csrf_of

PASSWORDS = {"alice": "alice-correct-horse", "bob": "bob-correct-horse"}
PER_PAIR = 5  # web/auth.py Throttle.per_pair
TIMEOUT = httpx2.Timeout(15.0)


@contextmanager
def countersign_serve(database_url: str, tmp_path: Path, **env: str) -> Iterator[str]:
    """Alice and Bob with passwords, and `countersign serve` on a free loopback port; yields its URL."""
    for name, secret in PASSWORDS.items():
        run_cli(database_url, "user", "add", name, "--role", "reviewer", "--password-stdin", stdin=secret + "\n")
    server = ServeProcess(database_url, tmp_path / "serve.log", **env).start()
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def browser(url: str, *, from_address: str = "127.0.0.1") -> Iterator[httpx2.Client]:
    """An HTTP client whose TCP connections come from ``from_address``."""
    transport = httpx2.HTTPTransport(local_address=from_address)
    with httpx2.Client(base_url=url, transport=transport, timeout=TIMEOUT, follow_redirects=False) as client:
        yield client


def attempt(client: httpx2.Client, name: str, secret: str, *, forwarded_for: str | None = None) -> int:
    """One sign-in through the form, as a fresh browser; the status code."""
    client.cookies.clear()
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    form = client.get("/signin", headers=headers)
    assert form.status_code == 200, form.text
    response = client.post(
        "/signin", data={"name": name, "password": secret, "csrf_token": csrf_of(form.text)}, headers=headers
    )
    return response.status_code


def test_a_password_guesser_forging_forwarded_addresses_is_throttled_at_its_real_address(
    database_url: str, tmp_path: Path
) -> None:
    with countersign_serve(database_url, tmp_path) as url, browser(url) as attacker:
        for i in range(PER_PAIR):
            assert attempt(attacker, "alice", f"guess-{i}-guess", forwarded_for=f"198.51.100.{i + 1}") == 401
        # A new forged address on every try changes nothing: the server counts the TCP peer.
        assert attempt(attacker, "alice", "guess-x-guess", forwarded_for="198.51.100.99") == 429
        assert attempt(attacker, "alice", PASSWORDS["alice"], forwarded_for="203.0.113.5") == 429
        # The spray locks neither the account's owner elsewhere nor other people at that address.
        with browser(url, from_address="127.0.0.2") as owner:
            assert attempt(owner, "alice", PASSWORDS["alice"]) == 303
        assert attempt(attacker, "bob", PASSWORDS["bob"]) == 303


def test_behind_a_trusted_proxy_each_forwarded_address_is_counted_on_its_own(database_url: str, tmp_path: Path) -> None:
    with (
        countersign_serve(database_url, tmp_path, COUNTERSIGN_TRUSTED_PROXIES='["127.0.0.1"]') as url,
        browser(url) as proxy,
    ):
        for i in range(PER_PAIR):
            assert attempt(proxy, "alice", f"guess-{i}-guess", forwarded_for="198.51.100.7") == 401
        assert attempt(proxy, "alice", PASSWORDS["alice"], forwarded_for="198.51.100.7") == 429
        # The owner behind the same proxy, at her own address, is believed and let in.
        assert attempt(proxy, "alice", PASSWORDS["alice"], forwarded_for="203.0.113.8") == 303
        # A peer that is not a trusted proxy cannot borrow the throttled address, nor escape its own.
        with browser(url, from_address="127.0.0.2") as other:
            assert attempt(other, "alice", PASSWORDS["alice"], forwarded_for="198.51.100.7") == 303
