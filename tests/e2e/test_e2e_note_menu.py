"""Acting on a note where it is read: its Actions menu in the feed (issue 11)."""

from __future__ import annotations

import re

from notes_e2e import (
    Server,
    alert,
    db_row,
    db_trash_ids,
    load_app,
    note_body,
    note_box,
    open_page,
    rerun,
    store_notes,
)
from playwright.sync_api import Locator, Page, expect


def open_menu(page: Page, note_id: int) -> Locator:
    """Open the Actions menu of a note in the feed; return the menu's open panel."""
    rerun(page, note_box(page, note_id).get_by_role("button", name="Actions").click)
    panel = page.get_by_test_id("stPopoverBody")
    expect(panel).to_be_visible()
    return panel


def test_edit_from_the_menu_saves_in_place(page: Page, server: Server) -> None:
    [note_id] = store_notes(server.db_path, [("ada", "Lunch at *noon*?")])
    open_page(page, server, "/")
    rerun(page, open_menu(page, note_id).get_by_role("button", name="Edit").click)
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Note", exact=True)).to_have_value("Lunch at *noon*?")
    dialog.get_by_label("Note", exact=True).fill("Lunch at *one*.")
    rerun(page, dialog.get_by_role("button", name="Save changes").click)
    expect(alert(page, f"Note #{note_id} updated.")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(note_body(page, note_id)).to_have_text("Lunch at one.")
    assert db_row(server.db_path, note_id).body == "Lunch at *one*."
    assert page.url == server.url("/")  # edited where it was read: still the feed


def test_an_edit_after_someone_elses_shows_the_conflict_and_keeps_the_text(
    page: Page, server: Server
) -> None:
    [note_id] = store_notes(server.db_path, [("ada", "first text")])
    open_page(page, server, "/")
    rerun(page, open_menu(page, note_id).get_by_role("button", name="Edit").click)
    app = load_app()
    conn = app.connect(server.db_path)
    app.NoteService.update_note(conn, note_id, "bob", "bob's text")  # meanwhile, elsewhere
    conn.close()
    # The live feed sees bob's version (its slot's data) and leaves the page under the dialog
    # alone until it closes: a whole rerun then cut short a Save pressed meanwhile.
    expect(page.locator(".notes-live")).to_have_attribute(
        "data-shown", re.compile(rf"(^|,){note_id}:2(,|$)"), timeout=15_000
    )
    expect(note_body(page, note_id)).to_have_text("first text")
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Note", exact=True).fill("my text")
    rerun(page, dialog.get_by_role("button", name="Save changes").click)
    expect(
        dialog.get_by_text(re.compile(f"Note #{note_id} was changed by someone else"))
    ).to_be_visible()
    expect(dialog.get_by_text("bob's text")).to_be_visible()
    expect(dialog.get_by_label("Note", exact=True)).to_have_value("my text")
    assert db_row(server.db_path, note_id).body == "bob's text"
    rerun(page, dialog.get_by_role("button", name="Cancel").click)
    expect(note_body(page, note_id)).to_have_text("bob's text")  # the page, once it closed


def test_delete_from_the_menu_then_undo(page: Page, server: Server) -> None:
    [note_id] = store_notes(server.db_path, [("ada", "delete me, then undo")])
    open_page(page, server, "/")
    rerun(page, open_menu(page, note_id).get_by_role("button", name="Delete").click)
    expect(
        alert(page, f"Note #{note_id} deleted. It is in the Trash until purged.")
    ).to_be_visible()
    expect(note_box(page, note_id)).to_have_count(0)
    assert note_id in db_trash_ids(server.db_path)
    rerun(page, page.get_by_role("button", name="Undo").click)
    expect(note_body(page, note_id)).to_have_text("delete me, then undo")
    assert db_row(server.db_path, note_id) is not None


def test_the_menu_gives_the_notes_address_and_it_opens_the_note_alone(
    page: Page, server: Server
) -> None:
    [note_id] = store_notes(server.db_path, [("ada", "link to me")])
    open_page(page, server, "/")
    address = open_menu(page, note_id).get_by_test_id("stCode").inner_text().strip()
    assert address == f"{server.base_url}/?note={note_id}"
    open_page(page, server, f"/?note={note_id}")
    expect(note_body(page, note_id)).to_have_text("link to me")
    expect(page.locator("[class*='st-key-note_']")).to_have_count(1)


SCROLLED = """() => Math.max(...[document.scrollingElement,
    ...document.querySelectorAll('[data-testid="stMain"], .stMain')]
    .map(e => e ? e.scrollTop : 0))"""


def test_older_lands_at_the_top_of_the_next_page(page: Page, server: Server) -> None:
    """Streamlit keeps the scroll position across reruns: without help, "Older →" at the
    bottom of a page showed the bottom of the next one."""
    store_notes(server.db_path, [("pager", f"page filler {n}") for n in range(60)])
    page.set_viewport_size({"width": 1280, "height": 700})
    open_page(page, server, "/")
    older = page.locator(".st-key-feed_older button")
    older.scroll_into_view_if_needed()
    assert page.evaluate(SCROLLED) > 500  # reading the bottom of the first page
    rerun(page, older.click)
    expect(page).to_have_url(re.compile(r"[?&]before=\d+"))
    page.wait_for_function(f"({SCROLLED})() === 0")


def test_on_a_phone_an_edited_notes_byline_takes_at_most_two_lines(
    page: Page, server: Server
) -> None:
    name, moderator = "Grace Brewster Murray Hopper of the Navy", "Ada King, Countess of Lovelace"
    [note_id] = store_notes(server.db_path, [(name, "first text")])
    app = load_app()
    conn = app.connect(server.db_path)
    app.NoteService.update_note(conn, note_id, moderator, "edited text")  # open mode: any name
    conn.close()
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, server, "/")
    expect(note_box(page, note_id)).to_contain_text("edited just now")
    page.evaluate("document.fonts.ready.then(() => true)")
    byline = note_box(page, note_id).locator(".notes-byline")
    lines, number, menu = byline.evaluate(
        """(line, id) => [
          line.getBoundingClientRect().height / parseFloat(getComputedStyle(line).lineHeight),
          line.querySelector(`a[href="./?note=${id}"]`).getBoundingClientRect().toJSON(),
          [...line.closest('[class*="st-key-note_"]')
            .querySelectorAll('[data-testid="stPopoverButton"]')]
            .map((button) => button.getBoundingClientRect().toJSON()).find((r) => r.width > 0)]""",
        note_id,
    )
    assert lines <= 2.05, f"the byline takes {lines:.2f} lines at 390 px"
    # Its number is whole and left of the Actions menu (a long name is cut short instead).
    box = byline.bounding_box()
    assert number["width"] > 0 and number["right"] <= box["x"] + box["width"] + 0.5
    assert number["right"] <= menu["left"]
