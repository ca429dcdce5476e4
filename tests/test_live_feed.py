"""The live feed (issues 12 and 22): the newest page of the feed shows what others write.

In a browser its script polls /api/live (tests/test_web.py) and presses the slot's hidden
Check when the answer differs from the page: that press is a tick. The tick itself
(_live_first, _live_tick) is tested on both backends against the database, the banner
through a script that runs the fragment alone (_live_script; tick() presses Check), and
the whole feed through app_test. The browser test (tests/e2e/test_e2e_live_feed.py) sees
real polls and ticks.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import app
from app import NoteService
from tests.conftest import sent_to_postgresql, statements_of, texts_shown

ALL = {"search": "", "author": None, "tag": None}
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
POSTGRESQL_ONLY = pytest.mark.parametrize("backend", ["postgresql"])


def ids(view: app._LiveView) -> list[int]:
    return [note.id for note in view.notes]


def bodies_shown(at) -> list[str]:
    """The note bodies and other markdown on the page, top to bottom."""
    return texts_shown(at)


def banner(at) -> list[str]:
    """The banner's label, if it is shown."""
    return [b.label for b in at.button if b.key == app._LIVE_SHOW]


# ---------------------------------------------------------------- the tick, on the store


def test_a_tick_counts_new_notes_and_keeps_the_page_as_shown(seeded_db):
    view = app._live_first(seeded_db, ALL)
    assert (ids(view), view.new) == ([4, 3, 2], 0)
    NoteService.create_note(seeded_db, "cy", "new one")
    NoteService.create_note(seeded_db, "cy", "new two")
    ticked = app._live_tick(seeded_db, view)
    assert (ids(ticked), ticked.new) == ([4, 3, 2], 2)
    assert app._live_tick(seeded_db, ticked).new == 2  # counted from the page, not the tick


def test_a_tick_shows_edits_and_drops_deleted_notes(seeded_db):
    view = app._live_first(seeded_db, ALL)
    NoteService.update_note(seeded_db, 3, "bob", "second note, edited")
    NoteService.delete_note(seeded_db, 4)
    ticked = app._live_tick(seeded_db, view)
    assert [(n.id, n.body) for n in ticked.notes] == [
        (3, "second note, edited"),
        (2, "first **note**"),
    ]
    NoteService.restore_note(seeded_db, 4)  # back from the trash: shown again
    assert ids(app._live_tick(seeded_db, ticked)) == [4, 3, 2]


def test_a_tick_of_a_filtered_page_counts_only_new_notes_that_match(seeded_db):
    filters = {**ALL, "search": "note", "author": "alice"}
    view = app._live_first(seeded_db, filters)
    assert ids(view) == [4, 2]
    NoteService.create_note(seeded_db, "bob", "a note by bob")
    NoteService.create_note(seeded_db, "alice", "a note by alice")
    NoteService.create_note(seeded_db, "alice", "no match")
    ticked = app._live_tick(seeded_db, view)
    assert (ids(ticked), ticked.new) == ([4, 2], 1)


def test_a_note_edited_into_a_search_waits_for_the_next_full_run(seeded_db):
    view = app._live_first(seeded_db, {**ALL, "search": "third"})
    NoteService.update_note(seeded_db, 3, "bob", "now the third too")  # below #4: not new
    ticked = app._live_tick(seeded_db, view)
    assert (ids(ticked), ticked.new) == ([4], 0)


def test_an_empty_page_counts_every_note_written_after_it_was_read(seeded_db):
    view = app._live_first(seeded_db, {**ALL, "tag": "zebra"})
    assert (ids(view), view.newest) == ([], 4)
    NoteService.create_note(seeded_db, "cy", "#zebra sighting")
    NoteService.create_note(seeded_db, "cy", "no tag")
    assert app._live_tick(seeded_db, view).new == 1


def test_an_empty_feed_counts_the_first_notes(empty_db):
    view = app._live_first(empty_db, ALL)
    NoteService.create_note(empty_db, "cy", "the first")
    assert app._live_tick(empty_db, view).new == 1


def test_more_new_notes_than_the_banner_counts_read_as_a_hundred_plus(seeded_db):
    view = app._live_first(seeded_db, ALL)
    for i in range(app.LIVE_MAX_NEW + 5):
        NoteService.create_note(seeded_db, "cy", f"flood {i}")
    ticked = app._live_tick(seeded_db, view)
    assert (ids(ticked), ticked.new) == ([4, 3, 2], app.LIVE_MAX_NEW + 1)
    assert app._new_notes(ticked.new) == f"{app.LIVE_MAX_NEW}+ new notes — show"
    assert app._new_notes(1) == "1 new note — show"
    assert app._new_notes(3) == "3 new notes — show"


FILTERS = [ALL, {**ALL, "author": "alice"}, {**ALL, "tag": "python"}, {**ALL, "search": "note"}]


@SQLITE_ONLY
@pytest.mark.parametrize("filters", FILTERS)
def test_a_tick_is_one_statement_on_sqlite(seeded_db, filters):
    view = app._live_first(seeded_db, filters)
    sent = statements_of(seeded_db, lambda: app._live_tick(seeded_db, view))
    assert len(sent) == 1


@POSTGRESQL_ONLY
@pytest.mark.parametrize("filters", FILTERS)
def test_a_tick_is_one_listing_on_postgresql(seeded_db, monkeypatch, filters):
    """One statement; a search or a tag is the listing's two steps (PG_WINDOW): the
    window above the page, then past it (which reads only the newest number once past it)."""
    view = app._live_first(seeded_db, filters)
    sent = sent_to_postgresql(monkeypatch, lambda: app._live_tick(seeded_db, view))
    assert len(sent) == (2 if filters["tag"] or filters["search"] else 1)


# ---------------------------------------------------------------- a tick's slot


def _live_script() -> None:
    """The live banner alone, over the seeded page as first read; a press of its hidden
    Check is a tick, as the page's script presses it in a browser.
    session_state["fail"] makes the ticks' reads fail as a lost database would."""
    from unittest import mock

    import streamlit as st

    import app as notes_app

    state = st.session_state
    if notes_app._LIVE not in state:
        filters = {"search": "", "author": None, "tag": None}
        state[notes_app._LIVE] = notes_app._live_first(notes_app.get_connection(), filters)
    if state.get("fail"):
        fault = notes_app.StorageError(notes_app.MSG_DB_OTHER.format(error="disk I/O error"))
        with mock.patch.object(notes_app, "_live_tick", side_effect=fault):
            notes_app._live_banner()
    else:
        notes_app._live_banner()


def tick(at: AppTest) -> AppTest:
    """What the page's script does when /api/live differs from what the page shows."""
    return at.button(key=app._LIVE_CHECK).click().run()


def is_live(at: AppTest) -> bool:
    return any(b.key == app._LIVE_CHECK for b in at.button)


@pytest.fixture
def live(seeded_db, app_test) -> AppTest:
    """The live banner, run once (the page as first read) on the seeded notes."""
    return AppTest.from_function(_live_script, default_timeout=30).run()


def test_a_tick_shows_the_banner_and_reruns_nothing_else(live, seeded_db):
    assert banner(live) == []
    NoteService.create_note(seeded_db, "cy", "new")
    tick(live)
    assert banner(live) == ["1 new note — show"]
    assert app._LIVE_KEEP not in live.session_state  # the notes shown have not changed
    assert not live.exception


def test_a_tick_that_finds_an_edit_has_the_page_show_it(live, seeded_db):
    NoteService.update_note(seeded_db, 3, "bob", "second note, edited")
    tick(live)
    assert live.session_state[app._LIVE_KEEP] is True
    assert [n.body for n in live.session_state[app._LIVE].notes][1] == "second note, edited"
    assert not live.exception


def test_a_tick_that_cannot_read_says_so_once_and_keeps_the_page(live, seeded_db):
    live.session_state["fail"] = True
    for _ in range(3):
        tick(live)
    assert [c.value for c in live.caption] == [
        f":material/sync_problem: {app.MSG_LIVE_PAUSED.format(seconds=app.LIVE_FEED_TICK_S)}"
    ]
    assert [n.id for n in live.session_state[app._LIVE].notes] == [4, 3, 2]
    assert not live.exception
    live.session_state["fail"] = False
    NoteService.create_note(seeded_db, "cy", "new")
    tick(live)  # the database is back: the next tick works
    assert banner(live) == ["1 new note — show"]
    assert [c.value for c in live.caption] == []


# ---------------------------------------------------------------- the whole feed


def test_after_a_tick_found_an_edit_the_page_shows_it_in_place_with_the_banner(app_test, seeded_db):
    at = app_test("read")
    NoteService.create_note(seeded_db, "cy", "new")
    NoteService.update_note(seeded_db, 3, "bob", "second note, edited")
    NoteService.delete_note(seeded_db, 2)
    # what _live_banner's tick does before it reruns the page
    at.session_state[app._LIVE] = app._live_tick(seeded_db, at.session_state[app._LIVE])
    at.session_state[app._LIVE_KEEP] = True
    at.session_state["feed_raw"] = True  # the raw table, opened
    at.run()
    assert bodies_shown(at) == ["third note", "second note, edited"]
    assert banner(at) == ["1 new note — show"]
    assert list(at.dataframe[0].value["id"]) == [4, 3]
    at.button(key=app._LIVE_SHOW).click().run()
    assert bodies_shown(at) == ["new", "third note", "second note, edited"]
    assert banner(at) == []
    assert not at.exception


def test_any_other_full_run_of_the_feed_reads_its_newest_notes(app_test, seeded_db):
    at = app_test("read")
    NoteService.create_note(seeded_db, "cy", "new")
    at.run()
    assert bodies_shown(at)[0] == "new"
    assert banner(at) == []
    assert not at.exception


def test_a_search_after_a_tick_reads_the_search_not_the_kept_page(app_test, seeded_db):
    at = app_test("read")
    at.session_state[app._LIVE_KEEP] = True
    at.text_input(key="q").input("first").run()
    assert len(bodies_shown(at)) == 1 and "note" in bodies_shown(at)[0]
    assert not at.exception


def test_an_older_page_is_not_live(app_test, empty_db):
    for i in range(app.FEED_PAGE_SIZE + 2):
        NoteService.create_note(empty_db, "alice", f"note {i}")
    at = app_test("read")
    assert is_live(at)
    at.button(key="feed_older").click().run()
    assert bodies_shown(at) == ["note 1", "note 0"]
    assert not is_live(at)  # no slot, so the page's script asks nothing
    assert not at.exception


def test_a_permalink_is_not_live(app_test, seeded_db):
    at = app_test("read", {"note": "3"})
    assert not is_live(at)
    assert not at.exception


@pytest.mark.parametrize(
    "query", [{"q": "*)(\"'"}, {"tag": "<script>"}, {"author": "x" * 5000}, {"q": "\u202e"}]
)
def test_crafted_feed_state_in_the_url_never_breaks_the_live_feed(app_test, seeded_db, query):
    at = app_test("read", query)
    assert banner(at) == []
    assert not at.exception
