"""In a real Chromium: invisible characters the old hand list missed are visible markers, and a
look-alike domain is named in a warning a reviewer sees."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from server.policy.types import Evidence
from tests.browser.conftest import LiveServer, screenshot
from tests.web.support import refund, submit

MISSED = {"\u034f": "U+034F", "\u180b": "U+180B", "\U000e0100": "U+E0100"}


def test_every_invisible_character_shows_as_a_visible_marker(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    hidden = "".join(MISSED)
    call = submit(live_server.runtime, "issue_refund", refund(reason=f"dam{hidden}aged"), on_behalf_of="fi\u180bona")
    page = open_page("alice")
    page.goto(f"/calls/{call.id}")

    expect(page.locator("#hidden-warning")).to_be_visible()
    expect(page.locator("#hidden-warning")).to_contain_text("on_behalf_of")
    arguments = page.locator("#arguments")
    for name in MISSED.values():
        marker = arguments.locator(".hidden-char", has_text=f"⟦{name}⟧")
        expect(marker).to_be_visible()
        box = marker.bounding_box()
        assert box is not None and box["width"] > 10 and box["height"] > 5, (name, box)
    expect(page.locator(".meta .hidden-char", has_text="⟦U+180B⟧")).to_be_visible()
    screenshot(page, "hidden-markers")


def test_a_look_alike_domain_is_named_in_a_visible_warning(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    call = submit(
        live_server.runtime,
        "issue_refund",
        refund(reason="customer wrote from billing@p\u0430ypal.com"),
        evidence=(Evidence(source="ticket", url="https://xn--pypal-4ve.com/login"),),
    )
    page = open_page("alice")
    page.goto(f"/calls/{call.id}")

    warning = page.locator("#lookalike-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("reads as paypal.com (mixed scripts")
    expect(warning).to_contain_text("xn--pypal-4ve.com reads as paypal.com (punycode")
    screenshot(page, "lookalike-warning")
