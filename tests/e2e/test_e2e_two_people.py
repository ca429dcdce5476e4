"""Two people use the app at the same time, each in their own browser."""

from __future__ import annotations

from notes_e2e import Server, create_note, db_row, note_body, open_page, title, update_note
from playwright.sync_api import Browser, expect


def test_two_people_see_each_others_new_and_edited_notes_after_a_reload(
    browser: Browser, server: Server
) -> None:
    ada_context, bob_context = browser.new_context(), browser.new_context()
    try:
        ada, bob = ada_context.new_page(), bob_context.new_page()
        open_page(bob, server, "/")  # Bob is reading the feed ...
        note_id = create_note(ada, server, "ada", "Lunch at *noon*?")  # ... while Ada writes.

        bob.reload()
        expect(title(bob)).to_have_text("Read Note Feed")
        expect(note_body(bob, note_id)).to_have_text("Lunch at noon?")

        open_page(ada, server, "/")  # Ada is reading the feed ...
        update_note(bob, server, note_id, "ada", "Lunch at *one*, not noon.")  # ... Bob edits.
        ada.reload()
        expect(title(ada)).to_have_text("Read Note Feed")
        expect(note_body(ada, note_id)).to_have_text("Lunch at one, not noon.")

        row = db_row(server.db_path, note_id)
        assert (row.username, row.body) == ("ada", "Lunch at *one*, not noon.")
    finally:
        ada_context.close()
        bob_context.close()
