"""Nothing is lost: an edit never silently replaces another, and a deleted note comes back.

Each test writes the note it needs straight into the database with the app's own
NoteService (setup), then does what a person would on the pages, and checks both
the page and the database file.
"""

from __future__ import annotations

import re

from notes_e2e import (
    Server,
    alert,
    choose_note,
    db_query,
    db_row,
    db_rows,
    db_trash_ids,
    expect_notes,
    note_body,
    note_box,
    open_page,
    rerun,
    save_after_another,
    saved_alert,
    saved_number,
    screenshot,
    store_notes,
    stored,
    trash_notes,
    wait_for_idle,
)
from playwright.sync_api import Browser, Page, expect


def test_when_two_people_save_the_same_note_the_second_sees_the_firsts_text_and_keeps_their_own(
    browser: Browser, server: Server
) -> None:
    original, ada_text, bob_text = (
        "Team lunch on Friday at noon",
        "Team lunch on Friday at **one**",
        "Team lunch moved to Thursday",
    )
    [note_id] = store_notes(server.db_path, [("ada", original)])
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in "ab"]
    try:
        ada, bob = (context.new_page() for context in contexts)
        texts = (original, ada_text, bob_text)
        bob_box = save_after_another((ada, server), (bob, server), note_id, texts)
        conflict = bob.get_by_test_id("stAlertContainer").filter(
            has_text=re.compile(rf"^Note #{note_id} was changed by someone else")
        )
        expect(conflict).to_be_visible()
        expect(conflict).to_contain_text("Nothing was saved")
        columns = bob.get_by_test_id("stColumn")
        theirs = columns.filter(has_text="Saved now (version 2)")
        yours = columns.filter(has_text="Your text (still in the form)")
        expect(theirs.locator(f".st-key-saved_{note_id}")).to_contain_text(
            "Team lunch on Friday at one"
        )
        expect(theirs.locator("strong")).to_have_text("one")  # Ada's markdown, rendered
        expect(yours).to_contain_text(bob_text)
        expect(bob_box).to_have_value(bob_text)  # nothing Bob typed was lost
        assert stored(server, note_id) == (ada_text, 2)  # and nothing of Ada's was overwritten
        # The comparison is below the form: a taller window shows all of it (Streamlit
        # scrolls its main area itself, so a "full page" screenshot would not).
        bob.set_viewport_size({"width": 1280, "height": 1500})
        expect(yours).to_be_in_viewport()
        bob.evaluate("document.fonts.ready")
        screenshot(bob, "conflict")

        # Having seen Ada's text, Bob saves again on purpose: now his text is stored.
        rerun(bob, bob.get_by_role("button", name="Save changes").click)
        expect(alert(bob, f"Note #{note_id} updated.")).to_be_visible()
        expect(conflict).to_have_count(0)
        expect(bob_box).to_have_value(bob_text)
        assert stored(server, note_id) == (bob_text, 3)
        history = db_query(
            server.db_path,
            "SELECT version, body FROM note_history WHERE id = ? ORDER BY version",
            (note_id,),
        )
        assert history == [(1, original), (2, ada_text)]  # Ada's text is kept in the history
    finally:
        for context in contexts:
            context.close()


def test_a_deleted_note_comes_back_with_the_same_number_when_undo_is_clicked(
    page: Page, server: Server
) -> None:
    body = "Buy milk and #bread on the way home"
    [note_id] = store_notes(server.db_path, [("bob", body)])
    before = db_row(server.db_path, note_id)

    open_page(page, server, "/delete")
    choose_note(page, server, note_id)
    rerun(page, page.get_by_text(f"Yes, delete note #{note_id}").click)
    rerun(page, page.get_by_role("button", name="Delete note", exact=True).click)
    expect(
        alert(page, f"Note #{note_id} deleted. It is in the Trash until purged.")
    ).to_be_visible()
    assert db_row(server.db_path, note_id) is None
    assert note_id in db_trash_ids(server.db_path)

    rerun(page, page.get_by_role("button", name="Undo").click)
    expect(alert(page, f"Note #{note_id} restored.")).to_be_visible()
    expect(note_body(page, note_id)).to_have_text(body)
    assert db_row(server.db_path, note_id) == before  # same number, text and times
    assert note_id not in db_trash_ids(server.db_path)


def test_the_trash_lists_deleted_notes_restores_one_to_the_feed_and_destroys_none(
    page: Page, server: Server
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    keep, drop = store_notes(
        server.db_path,
        [("carol", "Plan for the **garden**: tomatoes, beans"), ("carol", "Typo-ridden draft")],
    )
    trash_notes(server.db_path, [keep, drop])
    trashed = db_trash_ids(server.db_path)
    assert keep in trashed and drop in trashed

    open_page(page, server, "/trash")
    expect_notes(page, trashed[::-1])  # highest number first
    expect(note_body(page, keep)).to_have_text("Plan for the garden: tomatoes, beans")
    expect(note_box(page, keep).locator(".notes-byline")).to_contain_text(f"#{keep}")
    expect(note_box(page, keep).locator(".notes-byline")).to_contain_text("carol")
    expect(note_box(page, keep)).to_contain_text("Deleted just now")  # in the note's box
    page.evaluate("document.fonts.ready")
    screenshot(page, "trash")

    rerun(page, page.locator(f".st-key-trash_restore_{keep}").get_by_role("button").click)
    expect(alert(page, f"Note #{keep} restored.")).to_be_visible()
    expect(page.locator(f".st-key-trash_restore_{keep}")).to_have_count(0)
    assert db_row(server.db_path, keep).body == "Plan for the **garden**: tomatoes, beans"
    assert keep not in db_trash_ids(server.db_path)

    # Nothing on the page destroys a note: the other one waits in the Trash.
    expect(page.get_by_role("button", name=re.compile("for good|Empty", re.I))).to_have_count(0)
    assert drop in db_trash_ids(server.db_path)

    open_page(page, server, "/")
    expect(note_body(page, keep)).to_have_text("Plan for the garden: tomatoes, beans")
    expect(note_box(page, drop)).to_have_count(0)


def test_three_quick_clicks_on_save_write_one_note(page: Page, server: Server) -> None:
    body = "Pressed save three times, impatiently"
    open_page(page, server, "/create")
    page.get_by_label("Username").fill("quinn")
    page.get_by_label("Note", exact=True).fill(body)
    save = page.get_by_role("button", name="Save note")
    for _ in range(3):  # three clicks, each sent before the first save is answered
        save.click(no_wait_after=True)
    expect(saved_alert(page)).to_be_visible()
    expect(page.get_by_label("Note", exact=True)).to_have_value("")
    wait_for_idle(page)
    assert [row.body for row in db_rows(server.db_path)].count(body) == 1


def test_an_edit_saved_after_someone_deleted_the_note_keeps_the_text_to_save_as_new(
    page: Page, server: Server
) -> None:
    [note_id] = store_notes(server.db_path, [("ada", "Meeting moved to *Tuesday*")])
    open_page(page, server, "/update")
    choose_note(page, server, note_id)
    mine = "Meeting moved to *Wednesday*, room 4"
    page.locator(".st-key-update_body textarea").fill(mine)
    trash_notes(server.db_path, [note_id])  # someone else deletes it meanwhile
    rerun(page, page.get_by_role("button", name="Save changes").click)
    gone = (
        f"Note #{note_id} was deleted by someone else before you saved, so nothing was "
        "saved. Your text is below: copy it, or save it as a new note."
    )
    expect(alert(page, gone)).to_have_count(1)  # said once
    expect(page.get_by_text(f"Note #{note_id} does not exist")).to_have_count(0)
    expect(page.get_by_test_id("stCode")).to_contain_text(mine)
    rerun(page, page.get_by_role("button", name="Save as a new note").click)
    expect(saved_alert(page)).to_be_visible()
    new_id = saved_number(page)
    assert db_row(server.db_path, new_id).body == mine
    assert new_id != note_id and note_id in db_trash_ids(server.db_path)


def test_a_double_clicked_delete_deletes_once_and_still_offers_undo(
    page: Page, server: Server
) -> None:
    [note_id] = store_notes(server.db_path, [("bob", "Delete me, twice over")])
    open_page(page, server, "/delete")
    choose_note(page, server, note_id)
    rerun(page, page.get_by_text(f"Yes, delete note #{note_id}").click)
    delete = page.get_by_role("button", name="Delete note", exact=True)
    delete.dblclick()  # the second click is sent before the first is answered
    expect(
        alert(page, f"Note #{note_id} deleted. It is in the Trash until purged.")
    ).to_be_visible()
    wait_for_idle(page)
    # The second click's outcome does not replace the first's: no error, Undo still there.
    expect(page.locator("[data-testid='stAlertContentError']")).to_have_count(0)
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    assert db_trash_ids(server.db_path).count(note_id) == 1
