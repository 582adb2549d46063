"""Error pages a person meets in a browser: they are pages (title, navigation, a way back), not JSON."""

from __future__ import annotations

from fastapi.testclient import TestClient

from server.runtime import Runtime
from tests.web.support import hold_refund, sign_in, status_of

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_an_unknown_address_opened_in_a_browser_is_a_not_found_page_with_the_navigation(client: TestClient) -> None:
    sign_in(client, "alice")
    response = client.get("/no-such-page", headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Page not found" in response.text
    assert 'href="/history"' in response.text  # the signed-in navigation
    assert 'href="/queue">Back to the queue' in response.text


def test_an_unknown_api_address_still_answers_json(client: TestClient) -> None:
    sign_in(client, "alice")
    for headers in (HTML, {"accept": "application/json"}):
        response = client.get("/api/no-such-thing", headers=headers)
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}


def test_an_unknown_address_asked_for_without_html_answers_json(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"accept": "*/*"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_a_refused_csrf_token_is_explained_in_sentences_and_keeps_the_navigation(
    client: TestClient, runtime: Runtime
) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    response = client.post(f"/calls/{call.id}/reject", data={"csrf_token": "forged", "reason": "no"}, headers=HTML)
    assert response.status_code == 403
    sentence = "does not match your session; reload the page and try again. Nothing was changed."
    assert "The form&#39;s CSRF token " + sentence in response.text
    assert 'href="/history"' in response.text
    assert status_of(runtime, call.id) == "held"


def test_opening_a_decision_address_in_a_browser_is_a_page_that_changes_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    call = hold_refund(runtime)
    sign_in(client, "alice")
    for action in ("approve", "reject"):
        response = client.get(f"/calls/{call.id}/{action}", headers=HTML)
        assert response.status_code == 405
        assert response.headers["content-type"].startswith("text/html")
        assert "opening it does nothing" in response.text
    assert status_of(runtime, call.id) == "held"
