"""Reviewers in a real browser: live queue, approve and see the result, reject, edit, two people, self-approval."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from playwright.sync_api import Dialog, Page, expect

from tests.browser.conftest import LiveServer, screenshot
from tests.web.support import hold_hostile, hold_refund, hold_two_person_payment, status_of


def test_a_held_call_appears_live_and_approving_shows_the_result(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    page = open_page("alice")
    expect(page.locator("#queue-rows")).to_contain_text("Nothing is waiting")
    expect(page).to_have_title(re.compile(r"^Review queue"))

    call = hold_refund(live_server.runtime, amount=60.0)  # submitted while the page is open

    row = page.locator(f'tr[data-call-id="{call.id}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("Refund 60.00 EUR to customer C-1001")
    expect(page).to_have_title(re.compile(r"^\(1\) Review queue"))
    expect(page.locator("#queue-count")).to_have_text("1")
    expect(page.locator("#queue-total")).to_have_text("1 call waiting.")
    screenshot(page, "queue")

    row.locator(".call-link").click()
    page.wait_for_url(f"**/calls/{call.id}")
    expect(page.locator("#preview")).to_contain_text("What it would change")
    expect(page.locator("#arguments")).to_contain_text("parcel arrived damaged")
    screenshot(page, "packet")

    page.fill("input[name=reason]", "photos in the ticket")
    page.click("#approve-button")
    expect(page.locator("#done")).to_have_text("Approved.")
    expect(page.locator("#outcome")).to_contain_text("Executed")
    expect(page.locator("#result")).to_contain_text("R-")
    assert status_of(live_server.runtime, call.id) == "succeeded"
    screenshot(page, "outcome")


def test_reject_with_a_preset_and_a_reason(open_page: Callable[[str], Page], live_server: LiveServer) -> None:
    call = hold_refund(live_server.runtime)
    page = open_page("alice")
    page.goto(f"/calls/{call.id}")
    page.select_option("#reject-preset", "Not enough evidence")
    page.fill("#reject-reason", "ask the customer for photos")
    page.click("#reject-button")
    expect(page.locator("#outcome")).to_contain_text("Rejected")
    expect(page.locator("#outcome")).to_contain_text("Not enough evidence - ask the customer for photos")
    assert status_of(live_server.runtime, call.id) == "rejected"
    page.goto("/history")
    expect(page.locator("#history")).to_contain_text("rejected")
    expect(page.locator("#history")).to_contain_text("alice")
    screenshot(page, "history")


def test_edit_the_amount_see_the_diff_then_approve(open_page: Callable[[str], Page], live_server: LiveServer) -> None:
    call = hold_refund(live_server.runtime, amount=60.0)
    page = open_page("alice")
    page.goto(f"/calls/{call.id}")
    page.keyboard.press("e")  # the shortcut opens the edit form
    page.wait_for_url(f"**/calls/{call.id}/edit")
    page.fill("input[name='arg.amount']", "45.5")
    live = page.locator("#live-diff")
    expect(live).to_be_visible()  # the script previews the change as it is typed
    expect(live).to_contain_text("45.5")
    screenshot(page, "edit")
    page.click("#review-edit")
    expect(page.locator("#changes")).to_contain_text("60.0")
    expect(page.locator("#changes")).to_contain_text("45.5")
    screenshot(page, "edit-confirm")
    page.click("#confirm-approve")
    expect(page.locator("#done")).to_contain_text("waits for another person")  # never the editor alone
    expect(page.locator("h1.summary")).to_contain_text("45.50")  # re-titled with the new amount
    bob = open_page("bob")
    bob.goto(f"/calls/{call.id}")
    bob.click("#approve-button")
    expect(bob.locator("#outcome")).to_contain_text("Executed")
    expect(bob.locator("#arguments")).to_contain_text("45.5")
    stored = live_server.runtime.gateway.get_call(call.id)
    assert stored is not None and json.loads(stored.arguments)["amount"] == 45.5


def test_two_people_approve_a_large_payment(open_page: Callable[[str], Page], live_server: LiveServer) -> None:
    call = hold_two_person_payment(live_server.runtime)
    alice, bob = open_page("alice"), open_page("bob")

    alice.goto(f"/calls/{call.id}")
    alice.fill("#override-reason", "vendor confirmed the invoice by phone")
    alice.click("#approve-button")
    expect(alice.locator("#done")).to_contain_text("waits for another person")
    expect(alice.locator("#already-approved")).to_be_visible()
    expect(alice.locator("#approve-button")).to_have_count(0)
    assert status_of(live_server.runtime, call.id) == "held"

    bob.goto(f"/calls/{call.id}")
    expect(bob.locator("#decisions")).to_contain_text("alice")
    bob.fill("#override-reason", "checked the IBAN against last year's payments")
    bob.click("#approve-button")
    expect(bob.locator("#outcome")).to_contain_text("Executed")
    assert status_of(live_server.runtime, call.id) == "succeeded"


def test_the_requester_cannot_approve_their_own_call(open_page: Callable[[str], Page], live_server: LiveServer) -> None:
    call = hold_refund(live_server.runtime, on_behalf_of="alice")
    page = open_page("alice")
    page.goto(f"/calls/{call.id}")
    expect(page.locator("#self-request")).to_be_visible()
    expect(page.locator("#approve-button")).to_have_count(0)
    expect(page.locator("#reject-button")).to_be_visible()
    # Forging the form anyway is refused by the server.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(
        f"/calls/{call.id}/approve",
        form={"csrf_token": token or "", "args_hash": call.args_hash},
        headers={"origin": live_server.url},
    )
    assert response.status == 403
    assert status_of(live_server.runtime, call.id) == "held"


def test_hostile_content_renders_inertly(open_page: Callable[[str], Page], live_server: LiveServer) -> None:
    call = hold_hostile(live_server.runtime)
    page = open_page("alice")
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    page.goto(f"/calls/{call.id}")
    expect(page.locator("#hidden-warning")).to_be_visible()
    reason = page.locator("#agent-reason")
    expect(reason).to_contain_text("{{ 7*7 }}")
    expect(reason).to_contain_text("<script>alert('xss')</script>")
    expect(reason).to_contain_text("⟦U+202E⟧")
    assert "49" not in (reason.text_content() or "")
    assert page.locator("#evidence a[href^='javascript']").count() == 0
    assert page.locator("#evidence a").count() == 1
    assert page.locator("img").count() == 0
    page.locator("#evidence .url").first.click()  # the javascript: URL is text: clicking does nothing
    page.goto("/queue")
    page.goto(f"/calls/{call.id}/edit")
    assert dialogs == []
    assert page.evaluate("document.cookie") == ""  # the session cookie is HttpOnly
    page.goto(f"/calls/{call.id}")
    screenshot(page, "hostile-packet")


def test_keyboard_moves_through_the_queue(open_page: Callable[[str], Page], live_server: LiveServer) -> None:
    first = hold_refund(live_server.runtime, amount=900.0)
    second = hold_refund(live_server.runtime, amount=60.0)
    page = open_page("alice")
    page.reload()
    page.keyboard.press("j")
    expect(page.locator(f'tr[data-call-id="{first.id}"]')).to_have_class(re.compile("selected"))
    page.keyboard.press("j")
    expect(page.locator(f'tr[data-call-id="{second.id}"]')).to_have_class(re.compile("selected"))
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/calls/{first.id}")
    page.keyboard.press("a")  # focuses the override reason (this big refund needs one)
    expect(page.locator("#override-reason")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("n")
    page.wait_for_url(f"**/calls/{second.id}")
    page.keyboard.press("a")
    expect(page.locator("#approve-button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#outcome")).to_contain_text("Executed")


def test_the_queue_keeps_keyboard_focus_on_the_selected_call_when_new_calls_arrive(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    first = hold_refund(live_server.runtime, amount=60.0)
    page = open_page("alice")
    expect(page.locator(f'tr[data-call-id="{first.id}"]')).to_be_visible()
    page.keyboard.press("j")
    focused_link = page.locator(f'tr[data-call-id="{first.id}"] .call-link')
    expect(focused_link).to_be_focused()

    later = hold_refund(live_server.runtime, amount=75.0)  # the rows are fetched again and replaced

    expect(page.locator(f'tr[data-call-id="{later.id}"]')).to_be_visible()
    expect(page.locator(f'tr[data-call-id="{first.id}"]')).to_have_class(re.compile(r"\bselected\b"))
    expect(focused_link).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/calls/{first.id}")


def test_every_control_of_the_decision_panel_has_a_label_and_shows_its_whole_hint(
    open_page: Callable[[str], Page], live_server: LiveServer
) -> None:
    call = hold_two_person_payment(live_server.runtime)  # with an override reason to give
    page = open_page("alice")
    page.goto(f"/calls/{call.id}")
    controls = page.locator("#decide input:not([type=hidden]), #decide select, #decide textarea")
    assert controls.count() >= 4
    unlabelled = controls.evaluate_all(
        "els => els.filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)"
    )
    assert unlabelled == []
    # A placeholder wider than its field is cut mid-word ("...and the ticke").
    clipped = controls.evaluate_all(
        """els => els.filter(e => e.tagName === 'INPUT' && e.placeholder).filter(e => {
            const probe = document.createElement('span');
            probe.style.font = getComputedStyle(e).font;
            probe.style.cssText += 'white-space: pre; position: absolute; display: inline-block';
            probe.textContent = e.placeholder;
            document.body.appendChild(probe);
            const wide = probe.getBoundingClientRect().width;
            probe.remove();
            const style = getComputedStyle(e);
            return wide > e.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
        }).map(e => e.placeholder)"""
    )
    assert clipped == []
