"""The packet shows text as it is: every default-ignorable code point marked, look-alike domains named.

The attack run found nine invisible characters the page rendered as nothing (U+034F, U+180B,
U+E0100...), no scan of on_behalf_of, and no word about punycode or mixed-script domains.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.policy.types import Evidence
from server.runtime import Runtime
from tests.web.support import refund, sign_in, submit

# Invisible characters the old hand list left out, one of each kind.
MISSED = ["\u034f", "\u180b", "\U000e0100", "\u115f", "\u3164", "\ufe0f", "\u2065", "\U0001d173", "\uffa0"]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is checked here does not depend on the database."""
    return f"sqlite:///{tmp_path / 'countersign.db'}"


def _markers(html: str) -> set[str]:
    return set(re.findall(r'<span class="hidden-char" title="hidden character (U\+[0-9A-F]+)">⟦\1⟧</span>', html))


def test_every_invisible_character_in_every_field_gets_a_marker(client: TestClient, runtime: Runtime) -> None:
    hidden = "".join(MISSED)
    call = submit(
        runtime, "issue_refund", refund(reason=f"damaged{hidden}"), on_behalf_of=f"fi{MISSED[0]}ona", reason="ok"
    )
    assert call.status == "held"
    sign_in(client, "alice")
    html = client.get(f"/calls/{call.id}").text

    assert {f"U+{ord(c):04X}" for c in MISSED} <= _markers(html)
    assert not any(c in html for c in MISSED)
    warning = html[html.index('id="hidden-warning"') :]
    warning = warning[: warning.index("</div>")]
    assert "arguments.reason" in warning and "on_behalf_of" in warning
    assert "on behalf of <strong>fi" + '<span class="hidden-char" title="hidden character U+034F">' in html


def test_a_look_alike_email_domain_and_a_punycode_url_are_named(client: TestClient, runtime: Runtime) -> None:
    body = "Please confirm your bank details at billing@p\u0430ypal.com."
    evidence = (Evidence(source="ticket", url="https://xn--pypal-4ve.com/login"),)
    call = submit(
        runtime,
        "send_customer_email",
        {"customer_id": "C-1001", "subject": "Your refund", "body": body},
        evidence=evidence,
    )
    sign_in(client, "ada")  # an admin: the support queue is not alice's
    html = client.get(f"/calls/{call.id}").text

    warning = html[html.index('id="lookalike-warning"') :]
    warning = warning[: warning.index("</div>")]
    assert "p\u0430ypal.com</code> reads as <code>paypal.com</code>" in warning
    assert "mixed scripts" in warning
    assert "xn--pypal-4ve.com</code> reads as <code>paypal.com</code>" in warning and "punycode" in warning
    assert "arguments" in warning and "justification" in warning


def test_plain_addresses_raise_no_look_alike_warning(client: TestClient, runtime: Runtime) -> None:
    call = submit(
        runtime,
        "send_customer_email",
        {"customer_id": "C-1001", "subject": "Your refund", "body": "Write to help@example.com or https://日本.jp"},
    )
    sign_in(client, "ada")
    html = client.get(f"/calls/{call.id}").text
    assert "Your refund" in html
    assert 'id="lookalike-warning"' not in html and 'id="hidden-warning"' not in html
