"""Opening the app: the feed, the sidebar, each page's own URL, and screenshots of them."""

from __future__ import annotations

import os
import re
import shutil

from notes_e2e import (
    PAGES,
    REPO_ROOT,
    Server,
    create_note,
    db_rows,
    note_body,
    open_page,
    screenshot,
    title,
    wait_for_idle,
)
from playwright.sync_api import Page, expect


def test_the_feed_opens_with_the_welcome_note_and_a_sidebar_of_every_page(
    page: Page, server: Server
) -> None:
    open_page(page, server, "/")

    expect(note_body(page, 1)).to_have_text(re.compile(r"^Welcome to Littlest Notes"))
    links = page.get_by_test_id("stSidebarNavLink")
    # Every page of PAGES, in this order (a page added later may stand between them).
    expect(links.get_by_test_id("stMarkdownContainer")).to_contain_text(list(PAGES.values()))
    # A person can move between pages with the sidebar.
    links.filter(has_text="About").click()
    expect(title(page)).to_have_text("About")
    expect(page).to_have_url(server.url("/about"))

    [welcome] = db_rows(server.db_path)
    assert welcome.id == 1
    assert welcome.username == "Littlest Notes"
    assert welcome.body.startswith("Welcome to **Littlest Notes**")
    assert welcome.created_timestamp == welcome.updated_timestamp


def test_every_page_opens_directly_from_its_own_url(page: Page, server: Server) -> None:
    for path, page_title in PAGES.items():
        page.goto(server.url(path))
        expect(title(page)).to_have_text(page_title)
        wait_for_idle(page)
        expect(page.get_by_test_id("stException")).to_have_count(0)


def test_the_feed_create_and_update_pages_are_photographed(page: Page, server: Server) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    note_id = create_note(
        page,
        server,
        "ada",
        "Shipped the **markdown** feed:\n\n- bold\n- lists\n- [links](https://example.com)",
    )
    # Screenshots show the page after fonts and icons have loaded, not half-drawn.
    open_page(page, server, "/")
    expect(note_body(page, note_id)).to_contain_text("Shipped the markdown feed")
    page.evaluate("document.fonts.ready")
    feed = screenshot(page, "feed")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        (REPO_ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(feed, REPO_ROOT / "docs" / "feed.png")

    open_page(page, server, "/create")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Note", exact=True).fill("Coffee at **10**, then the demo.")
    page.evaluate("document.fonts.ready")
    screenshot(page, "create")

    open_page(page, server, "/update")
    expect(page.get_by_label("Note number")).to_have_value(str(note_id))
    expect(page.get_by_label("Note", exact=True)).to_have_value(re.compile("^Shipped the"))
    page.evaluate("document.fonts.ready")
    screenshot(page, "update")
