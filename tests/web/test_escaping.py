"""Agent-supplied text is data: escaped everywhere, never a template, links only when plainly http(s)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from server.runtime import Runtime
from tests.web.support import hold_hostile, sign_in


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: what is checked here does not depend on the database."""
    return f"sqlite:///{tmp_path / 'countersign.db'}"


def _assert_inert(html: str, *, shows_template_text: bool = True) -> None:
    # Only our own script tags (with a src under /static) appear.
    scripts = re.findall(r"<script[^>]*>", html)
    assert all(
        re.fullmatch(r'<script nonce="[A-Za-z0-9_-]+" src="/static/[a-z]+\.js" defer>', tag) for tag in scripts
    ), scripts
    assert "<img" not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "<b>bold</b>" not in html
    assert 'href="javascript:' not in html.lower()
    # Template syntax from the agent is shown, never evaluated.
    assert ("{{ 7*7 }}" in html) is shows_template_text
    assert ">49<" not in html and " 49 " not in html
    # Hidden characters never reach the page raw.
    for hidden in ("\u202e", "\u202c", "\u200b", "\u200d", "\U000e0041"):
        assert hidden not in html


def test_the_packet_escapes_everything_the_agent_wrote(client: TestClient, runtime: Runtime) -> None:
    call = hold_hostile(runtime)
    sign_in(client, "alice")
    html = client.get(f"/calls/{call.id}").text
    _assert_inert(html)
    assert "&lt;script&gt;alert(" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "agent&lt;script&gt;" in html


def test_hidden_unicode_is_shown_as_markers_with_a_warning(client: TestClient, runtime: Runtime) -> None:
    call = hold_hostile(runtime)
    sign_in(client, "alice")
    html = client.get(f"/calls/{call.id}").text
    assert 'id="hidden-warning"' in html
    for marker in ("⟦U+202E⟧", "⟦U+202C⟧", "⟦U+200B⟧", "⟦U+200D⟧", "⟦U+E0041⟧"):
        assert marker in html
    assert "arguments.reason" in html and "justification.reason" in html


def test_only_plain_web_links_are_clickable(client: TestClient, runtime: Runtime) -> None:
    call = hold_hostile(runtime)
    sign_in(client, "alice")
    html = client.get(f"/calls/{call.id}").text
    links = re.findall(r'<a class="url" href="([^"]*)" rel="([^"]*)" target="_blank">', html)
    assert links == [("https://example.com/ticket?id=&lt;script&gt;", "noopener noreferrer")]
    # The javascript: URL and the one hiding a bidi override are shown as text only.
    assert '<span class="url" title="not a web link">javascript:alert(document.cookie)</span>' in html
    assert 'exa<span class="hidden-char"' in html


def test_approving_a_call_with_hidden_characters_needs_an_override_reason(client: TestClient, runtime: Runtime) -> None:
    call = hold_hostile(runtime)
    sign_in(client, "alice")
    html = client.get(f"/calls/{call.id}").text
    assert "the call contains hidden characters" in html


def test_queue_history_and_edit_pages_escape_too(client: TestClient, runtime: Runtime) -> None:
    call = hold_hostile(runtime)
    token = sign_in(client, "alice")
    for page in (client.get("/queue").text, client.get("/queue/rows").text):
        _assert_inert(page, shows_template_text=False)
        assert "agent&lt;script&gt;" in page
    edit = client.get(f"/calls/{call.id}/edit").text
    assert "<script>alert(" not in edit and "&lt;script&gt;alert(" in edit
    assert "hidden characters" in edit
    client.post(f"/calls/{call.id}/reject", data={"csrf_token": token, "reason": "<i>no</i> {{ 7*7 }}"})
    history = client.get("/history").text
    _assert_inert(history)  # the rejection reason is shown, literally
    assert "<i>no</i>" not in client.get(f"/calls/{call.id}").text
