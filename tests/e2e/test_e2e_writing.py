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


# A page script's way to put text in a box (a real paste or typing cannot carry half of
# a surrogate pair: the browser mends those to U+FFFD itself, and so does Playwright's fill).
_SET_VALUE_JS = """(el, text) => {
  el.focus();
  const type = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement : HTMLInputElement;
  Object.getOwnPropertyDescriptor(type.prototype, "value").set.call(el, text);
  el.dispatchEvent(new Event("input", {bubbles: true}));
}"""


def test_half_a_surrogate_pair_is_mended_said_and_saved_as_shown(page: Page, server: Server):
    """Issue 8: a lone surrogate in a box made Save do nothing at all (the server refused
    the whole message as bad UTF-8). The page mends it to U+FFFD, which the box showed
    anyway, says so under the box, and Save saves the text as the person sees it."""
    store_notes(server.db_path, [("setup", "an earlier note")])  # (the file exists)
    before = len(db_rows(server.db_path))
    open_page(page, server, "/create")
    username = page.locator(".st-key-create_username input")
    box = page.locator(".st-key-create_body textarea")
    username.evaluate(_SET_VALUE_JS, "ki\ud800m")
    box.evaluate(_SET_VALUE_JS, "abc \udc00 def")
    expect(username).to_have_value("ki\ufffdm")
    expect(box).to_have_value("abc \ufffd def")  # the text is kept, every other character too
    expect(page.locator('.notes-counter[data-for="create_body"]')).to_have_text(
        "Username and Note have a broken character (\ufffd): remove it · 9 / 140"
    )
    page.get_by_role("button", name="Save note").click()
    expect(saved_alert(page)).to_be_visible()
    rows = db_rows(server.db_path)
    assert len(rows) == before + 1
    assert (rows[-1].username, rows[-1].body) == ("ki\ufffdm", "abc \ufffd def")
    assert "bad UTF-8" not in server.log_path.read_text()
