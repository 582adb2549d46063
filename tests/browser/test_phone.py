"""On a phone (390 px wide) the tables turn into cards: no page is wider than the screen."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import LiveServer, screenshot
from tests.web.support import hold_hostile, hold_refund, hold_two_person_payment

PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("path", ["/queue", "/history", "/admin/tools", "/admin/audit"])
def test_on_a_phone_the_page_is_no_wider_than_the_screen(
    open_page: Callable[[str], Page], live_server: LiveServer, path: str
) -> None:
    runtime = live_server.runtime
    for amount in (60.0, 75.0):
        hold_refund(runtime, amount=amount)
    hold_two_person_payment(runtime)
    hold_hostile(runtime)  # long, unbroken text in every field
    page = open_page("ada")
    page.set_viewport_size(PHONE)
    page.goto(path)
    width = page.evaluate("document.documentElement.scrollWidth")
    screenshot(page, f"phone{path.replace('/', '-')}")
    assert page.locator("table tbody tr").count() > 0  # there were rows to fit
    assert width <= PHONE["width"], f"{path} is {width}px wide on a {PHONE['width']}px screen"


def test_on_a_phone_each_argument_name_of_a_packet_stays_on_one_line(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    call = hold_two_person_payment(live_server.runtime)
    page = open_page("alice")
    page.set_viewport_size(PHONE)
    page.goto(f"/calls/{call.id}")
    names = page.locator("#arguments th code")
    assert names.count() == 4  # amount, currency, invoice_id, vendor_id
    # An inline element wrapped over several lines has one client rectangle per line.
    lines = names.evaluate_all("els => els.map(e => [e.textContent, e.getClientRects().length])")
    screenshot(page, "phone-packet-arguments")
    assert all(count == 1 for _, count in lines), lines


def test_on_a_phone_a_queue_card_shows_its_action_label_above_the_summary(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    hold_refund(live_server.runtime)
    page = open_page("alice")
    page.set_viewport_size(PHONE)
    page.goto("/queue")
    # Polled (bounded by the context's timeout): the live queue may swap the rows in between.
    page.wait_for_function(
        "() => { const td = document.querySelector('td.action-cell');"
        " return td !== null && getComputedStyle(td, '::before').display === 'block'; }"
    )


def test_on_a_phone_a_card_cell_keeps_its_parts_together_beside_the_label(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    page = open_page("ada")
    page.set_viewport_size(PHONE)
    page.goto("/admin/tools")
    cell = page.locator("#tools tbody tr", has_text="search_customers").locator("td").first
    name, description = cell.locator("code"), cell.locator(".sub")
    # A flex row made the name and its description two columns, the name one syllable a line.
    assert name.evaluate("e => e.getClientRects().length") == 1
    name_box, description_box = name.bounding_box(), description.bounding_box()
    assert name_box is not None and description_box is not None
    assert description_box["y"] >= name_box["y"] + name_box["height"] - 1  # below the name, not beside it
    screenshot(page, "phone-admin-tools-cell")
