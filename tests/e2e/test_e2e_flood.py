"""Flood limits follow the person, not the tab (issue 19): browsers that come from one
address, through a proxy that names it in X-Forwarded-For, share one count of new notes
however many sessions and names they use; another address is not slowed by them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notes_e2e import Server, db_rows, fill_note_form, open_page, rerun, saved_alert
from playwright.sync_api import Browser, BrowserContext, Page, expect

NOTES_PER_MINUTE = 10  # the default the app states on its About page


@pytest.fixture(scope="module")
def server_secrets() -> str:
    """The operator says which header their proxy sets with the client's address."""
    return 'client_ip_header = "X-Forwarded-For"\n'


@pytest.fixture
def from_address(browser: Browser) -> Iterator:
    """A factory: a new browser (its own sessions and cookies) whose every request, the
    websocket too, arrives as the proxy would send it for a client at address."""
    contexts: list[BrowserContext] = []

    def make(address: str) -> Page:
        # The client may send its own header; the proxy appends the address it saw.
        forwarded = f"10.9.9.9, {address}"
        contexts.append(browser.new_context(extra_http_headers={"X-Forwarded-For": forwarded}))
        return contexts[-1].new_page()

    yield make
    for context in contexts:
        context.close()


def save(page: Page, username: str, body: str) -> bool:
    """Press Save with this name and text; True if the page said the note was saved."""
    fill_note_form(page, "create", username, body)
    rerun(page, page.get_by_role("button", name="Save note").click)
    refused = page.get_by_test_id("stAlertContainer").filter(has_text="the most allowed")
    expect(saved_alert(page).or_(refused)).to_be_visible()
    return saved_alert(page).is_visible()


def test_new_tabs_and_new_names_from_one_address_share_the_note_limit(from_address, server: Server):
    results = []
    for tab in range(3):  # three sessions, four notes each, a new name for every note
        page = from_address("203.0.113.7")
        open_page(page, server, "/create")
        results += [save(page, f"sock {tab}.{n}", f"flood {tab}.{n}") for n in range(4)]
    assert results == [True] * NOTES_PER_MINUTE + [False, False]
    expect(page.get_by_test_id("stAlertContainer")).to_contain_text(
        "You have written 10 notes in the last minute"
    )
    flood = [row for row in db_rows(server.db_path) if row.body.startswith("flood")]
    assert len(flood) == NOTES_PER_MINUTE

    neighbour = from_address("198.51.100.4")  # someone else, meanwhile
    open_page(neighbour, server, "/create")
    assert save(neighbour, "neighbour", "not slowed by the flood")
