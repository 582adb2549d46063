"""The template filters that keep agent text inert: hidden-Unicode markers and safe links."""

from __future__ import annotations

import pytest

from web.render import clickable, hidden_codepoints, hidden_paths, link, make_environment, pretty, visible


@pytest.mark.parametrize(
    "char",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200b",
        "\u200c",
        "\u200d",
        "\ufeff",
        "\u2060",
        "\U000e0000",
        "\U000e0041",
        "\U000e007f",
    ],
)
def test_every_hidden_character_gets_a_visible_marker(char: str) -> None:
    shown = str(visible(f"a{char}b"))
    assert char not in shown
    assert f"⟦U+{ord(char):04X}⟧" in shown
    assert hidden_codepoints(f"a{char}b") == [f"U+{ord(char):04X}"]


def test_visible_escapes_html_around_the_markers() -> None:
    assert str(visible("<b>\u202ex</b>")) == (
        '&lt;b&gt;<span class="hidden-char" title="hidden character U+202E">⟦U+202E⟧</span>x&lt;/b&gt;'
    )
    assert str(visible(None)) == ""
    assert hidden_codepoints("plain, accentué, 日本語, emoji 🙂") == []


def test_hidden_paths_walks_keys_values_and_lists() -> None:
    data = {"a": "ok", "b\u200b": ["x", {"c": "y\u202e"}]}
    assert list(hidden_paths(data)) == [("b\u200b (name)", ["U+200B"]), ("b\u200b[1].c", ["U+202E"])]


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/a?b=c", True),
        ("https://xn--pypal-4ve.com/login", False),
        ("https://p\u0430ypal.com/login", False),
        ("https://\u65e5\u672c.jp/", True),
        ("http://example.com", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox", False),
        ("//example.com/x", False),
        ("/relative/path", False),
        ("https://user:pass@example.com/", False),
        ("https://exa\u202emple.com/", False),
        ("https://example.com/\nnext", False),
        ("https:///nohost", False),
        ("ftp://example.com/file", False),
        ("https://[::1", False),
    ],
)
def test_only_plain_http_links_are_clickable(url: str, ok: bool) -> None:
    assert clickable(url) is ok
    html = str(link(url))
    assert html.startswith('<a class="url"') is ok
    if ok:
        assert 'rel="noopener noreferrer"' in html and 'target="_blank"' in html


def test_link_escapes_the_url_in_the_attribute_and_the_text() -> None:
    html = str(link('https://example.com/?q="><script>'))
    assert '"><script>' not in html and "&#34;&gt;&lt;script&gt;" in html


def test_pretty_prints_nested_data_with_markers() -> None:
    assert "⟦U+202E⟧" in str(pretty({"k": "v\u202e"}))
    assert "&lt;" in str(pretty(["<"]))


def test_templates_never_evaluate_data() -> None:
    env = make_environment()
    template = env.from_string("{{ value }}|{{ value|visible }}")
    assert template.render(value="{{ 7*7 }}<i>") == "{{ 7*7 }}&lt;i&gt;|{{ 7*7 }}&lt;i&gt;"
