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
