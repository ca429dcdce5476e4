"""A person writes, reads, edits and deletes notes, and gets told what went wrong."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from notes_e2e import (
    Server,
    alert,
    choose_note,
    create_note,
    db_row,
    db_rows,
    note_body,
    note_box,
    open_page,
    rerun,
    update_note,
)
from playwright.sync_api import Locator, Page, expect


def edited_marker(page: Page, note_id: int) -> Locator:
    """The line of note's byline that says it was edited."""
    return (
        note_box(page, note_id)
        .locator(".notes-byline > div")
        .filter(has_text=re.compile(r"\bedited\b"))
    )


MARKDOWN_BODY = "**bold** note\n\n- one\n- two\n\n[link](https://example.com)"


def backdate(db_path: Path, note_id: int, seconds: int) -> None:
    """Move a note's times into the past, as if it had been written `seconds` ago.

    The app marks a note "edited" when updated_timestamp != created_timestamp,
    in whole seconds, so an edit in the same second as the save is not marked.
    Backdating makes the test independent of how fast the browser is.
    """
    with sqlite3.connect(db_path, timeout=5) as conn:
        conn.execute(
            "UPDATE notes SET created_timestamp = created_timestamp - ?,"
            " updated_timestamp = updated_timestamp - ? WHERE id = ?",
            (seconds, seconds, note_id),
        )
    conn.close()


def test_a_markdown_note_is_saved_and_shown_rendered_in_the_feed(
    page: Page, server: Server
) -> None:
    note_id = create_note(page, server, "grace", MARKDOWN_BODY)

    open_page(page, server, "/")
    box = note_box(page, note_id)
    expect(box.locator("strong").first).to_have_text("bold")
    expect(box.locator("li")).to_have_text(["one", "two"])
    expect(box.locator('a[href="https://example.com"]')).to_have_text("link")
    expect(box).to_contain_text("grace")  # the author
    expect(edited_marker(page, note_id)).to_have_count(0)  # a new note is not "edited"
    # Newest first: the new note comes before the welcome note.
    boxes = page.locator("[class*='st-key-note_']")
    expect(boxes.first).to_have_class(re.compile(rf"\bst-key-note_{note_id}\b"))

    row = db_row(server.db_path, note_id)
    assert row is not None
    assert (row.username, row.body) == ("grace", MARKDOWN_BODY)
    assert row.created_timestamp == row.updated_timestamp


def test_an_edited_note_shows_its_new_text_and_a_deleted_note_leaves_the_feed(
    page: Page, server: Server
) -> None:
    note_id = create_note(page, server, "grace", MARKDOWN_BODY)
    backdate(server.db_path, note_id, 60)
    created = db_row(server.db_path, note_id).created_timestamp

    new_body = "**bold** note, now *changed*"
    update_note(page, server, note_id, "grace hopper", new_body)

    open_page(page, server, "/")
    expect(note_body(page, note_id)).to_have_text("bold note, now changed")
    expect(note_body(page, note_id).locator("em")).to_have_text("changed")
    expect(note_box(page, note_id)).to_contain_text("grace hopper")
    expect(edited_marker(page, note_id)).to_have_count(1)
    row = db_row(server.db_path, note_id)
    assert (row.username, row.body) == ("grace hopper", new_body)
    assert row.created_timestamp == created
    assert row.updated_timestamp >= row.created_timestamp
    assert row.updated_timestamp > created  # it was written a minute ago

    open_page(page, server, "/delete")
    choose_note(page, server, note_id)
    expect(note_body(page, note_id)).to_have_text("bold note, now changed")
    delete = page.get_by_role("button", name="Delete note", exact=True)
    expect(delete).to_be_disabled()  # nothing goes without the confirmation
    confirm = page.locator(".st-key-delete_confirm").get_by_text(
        re.compile(rf"^Yes, delete note #{note_id}\b")
    )  # "... for good"
    rerun(page, confirm.click)
    expect(delete).to_be_enabled()
    rerun(page, delete.click)
    # "Note #N deleted." (a sentence about where it went may follow it)
    deleted = page.get_by_test_id("stAlertContainer").filter(
        has_text=re.compile(rf"^Note #{note_id} deleted\.")
    )
    expect(deleted).to_be_visible()

    open_page(page, server, "/")
    expect(note_body(page, 1)).to_be_visible()  # the feed is drawn ...
    expect(note_box(page, note_id)).to_have_count(0)  # ... without the deleted note
    expect(page.get_by_text("bold note, now changed")).to_have_count(0)
    assert db_row(server.db_path, note_id) is None
    assert db_row(server.db_path, 1) is not None  # only that note went


def test_an_empty_note_or_a_missing_number_is_refused_and_nothing_is_written(
    page: Page, server: Server
) -> None:
    open_page(page, server, "/create")
    before = db_rows(server.db_path)
    page.get_by_label("Username").fill("erin")
    save = page.get_by_role("button", name="Save note")
    for body in ["", "   \n\t  \n "]:
        page.get_by_label("Note", exact=True).fill(body)
        rerun(page, save.click)
        expect(alert(page, "Note is empty. Write something to save it.")).to_be_visible()
        expect(page.get_by_text(re.compile(r"^Note #\d+ saved\.$"))).to_have_count(0)
    assert db_rows(server.db_path) == before

    open_page(page, server, "/update")
    choose_note(page, server, 99999)
    expect(alert(page, "Note #99999 does not exist. It may have been deleted.")).to_be_visible()
    expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    assert db_rows(server.db_path) == before


def test_a_200_character_paste_stays_in_the_box_and_is_refused_until_trimmed_to_140(
    page: Page, server: Server
) -> None:
    text = ("Pasted from a long email thread about the launch plan. " * 4)[:199] + "!"
    assert len(text) == 200 and not text[139].isspace()
    open_page(page, server, "/create")
    before = db_rows(server.db_path)
    page.get_by_label("Username").fill("frank")
    box = page.get_by_label("Note", exact=True)
    box.click()
    page.keyboard.insert_text(text)  # one input event with all 200 characters, like a paste
    expect(box).to_have_value(text)  # the browser kept all of it (no max_chars)
    save = page.get_by_role("button", name="Save note")
    rerun(page, save.click)
    expect(alert(page, "Note is 200 characters; the limit is 140 (60 over).")).to_be_visible()
    expect(box).to_have_value(text)  # nothing the person wrote was lost
    assert db_rows(server.db_path) == before

    box.press("Control+End")
    for _ in range(60):
        box.press("Backspace")
    expect(box).to_have_value(text[:140])
    rerun(page, save.click)
    saved = page.get_by_text(re.compile(r"^Note #\d+ saved\.$"))
    expect(saved).to_be_visible()
    note_id = int(re.search(r"#(\d+)", saved.inner_text()).group(1))
    expect(box).to_have_value("")

    row = db_row(server.db_path, note_id)
    assert row is not None
    assert (row.username, row.body) == ("frank", text[:140])
    assert len(db_rows(server.db_path)) == len(before) + 1
