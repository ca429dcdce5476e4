"""The writing box: a live character count, a preview, and saving from the keyboard."""

from __future__ import annotations

from notes_e2e import Server, db_rows, open_page, rerun, saved_alert, store_notes
from playwright.sync_api import Page, expect


def test_the_count_follows_every_keystroke_and_says_how_far_over(page: Page, server: Server):
    open_page(page, server, "/create")
    box = page.locator(".st-key-create_body textarea")
    counter = page.locator('.notes-counter[data-for="create_body"]')
    box.press_sequentially("hello")
    expect(counter).to_have_text("5 / 140")
    box.fill("👨‍👩‍👧‍👦 " * 3)  # three families: three characters as people see them
    expect(counter).to_have_text("5 / 140")
    box.fill("x" * 150)  # a paste that is too long is kept, and the count says so
    expect(counter).to_have_text("150 / 140: 10 over the limit")
    expect(box).to_have_value("x" * 150)


def test_preview_then_save_from_the_keyboard(page: Page, server: Server):
    store_notes(server.db_path, [("setup", "an earlier note")])
    before = len(db_rows(server.db_path))
    open_page(page, server, "/create")
    page.locator(".st-key-create_username input").fill("kim")
    box = page.locator(".st-key-create_body textarea")
    box.fill("**Preview** me")
    rerun(page, page.locator(".st-key-create_preview button").click)
    preview = page.locator(".st-key-create_preview_box")
    expect(preview.locator("strong")).to_have_text("Preview")
    assert len(db_rows(server.db_path)) == before  # a preview saves nothing
    box.focus()
    rerun(page, lambda: box.press("Control+Enter"))
    expect(saved_alert(page)).to_be_visible()
    assert db_rows(server.db_path)[-1].body == "**Preview** me"
