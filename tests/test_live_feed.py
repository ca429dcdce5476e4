"""The live feed (issue 12): the newest page of the feed rereads itself every few seconds.

Its ticks (`st.fragment(run_every=...)`) never fire in AppTest, which only runs whole
pages. So the tick itself (_live_first, _live_tick) is tested on both backends against
the database, a tick's page through a script that calls the fragment again within one
view (_live_script: every run after the first is a tick), and the whole feed through
app_test. The browser test (tests/e2e/test_e2e_live_feed.py) sees real ticks.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import app
from app import NoteService
from tests.conftest import sent_to_postgresql, statements_of

ALL = {"search": "", "author": None, "tag": None}
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
POSTGRESQL_ONLY = pytest.mark.parametrize("backend", ["postgresql"])


def ids(view: app._LiveView) -> list[int]:
    return [note.id for note in view.notes]


def bodies_shown(at) -> list[str]:
    return [m.value for m in at.markdown]


def banner(at) -> list[str]:
    """The banner's label, if it is shown."""
    return [b.label for b in at.button if b.key == app._LIVE_SHOW]


# ---------------------------------------------------------------- the tick, on the store


def test_a_tick_counts_new_notes_and_keeps_the_page_as_shown(seeded_db):
    view = app._live_first(seeded_db, 1, ALL)
    assert (ids(view), view.new) == ([4, 3, 2], 0)
    NoteService.create_note(seeded_db, "cy", "new one")
    NoteService.create_note(seeded_db, "cy", "new two")
    ticked = app._live_tick(seeded_db, view, ALL)
    assert (ids(ticked), ticked.new) == ([4, 3, 2], 2)
    assert app._live_tick(seeded_db, ticked, ALL).new == 2  # counted from the page, not the tick


def test_a_tick_shows_edits_and_drops_deleted_notes(seeded_db):
    view = app._live_first(seeded_db, 1, ALL)
    NoteService.update_note(seeded_db, 3, "bob", "second note, edited")
    NoteService.delete_note(seeded_db, 4)
    ticked = app._live_tick(seeded_db, view, ALL)
    assert [(n.id, n.body) for n in ticked.notes] == [
        (3, "second note, edited"),
        (2, "first **note**"),
    ]
    NoteService.restore_note(seeded_db, 4)  # back from the trash: shown again
    assert ids(app._live_tick(seeded_db, ticked, ALL)) == [4, 3, 2]


def test_a_tick_of_a_filtered_page_counts_only_new_notes_that_match(seeded_db):
    filters = {**ALL, "search": "note", "author": "alice"}
    view = app._live_first(seeded_db, 1, filters)
    assert ids(view) == [4, 2]
    NoteService.create_note(seeded_db, "bob", "a note by bob")
    NoteService.create_note(seeded_db, "alice", "a note by alice")
    NoteService.create_note(seeded_db, "alice", "no match")
    ticked = app._live_tick(seeded_db, view, filters)
    assert (ids(ticked), ticked.new) == ([4, 2], 1)


def test_a_note_edited_into_a_search_waits_for_the_next_full_run(seeded_db):
    view = app._live_first(seeded_db, 1, {**ALL, "search": "third"})
    NoteService.update_note(seeded_db, 3, "bob", "now the third too")  # below #4: not new
    ticked = app._live_tick(seeded_db, view, {**ALL, "search": "third"})
    assert (ids(ticked), ticked.new) == ([4], 0)


def test_an_empty_page_counts_every_note_written_after_it_was_read(seeded_db):
    view = app._live_first(seeded_db, 1, {**ALL, "tag": "zebra"})
    assert (ids(view), view.newest) == ([], 4)
    NoteService.create_note(seeded_db, "cy", "#zebra sighting")
    NoteService.create_note(seeded_db, "cy", "no tag")
    assert app._live_tick(seeded_db, view, {**ALL, "tag": "zebra"}).new == 1


def test_an_empty_feed_counts_the_first_notes(empty_db):
    view = app._live_first(empty_db, 1, ALL)
    NoteService.create_note(empty_db, "cy", "the first")
    assert app._live_tick(empty_db, view, ALL).new == 1


def test_more_new_notes_than_the_banner_counts_read_as_a_hundred_plus(seeded_db):
    view = app._live_first(seeded_db, 1, ALL)
    for i in range(app.LIVE_MAX_NEW + 5):
        NoteService.create_note(seeded_db, "cy", f"flood {i}")
    ticked = app._live_tick(seeded_db, view, ALL)
    assert (ids(ticked), ticked.new) == ([4, 3, 2], app.LIVE_MAX_NEW + 1)
    assert app._new_notes(ticked.new) == f"{app.LIVE_MAX_NEW}+ new notes — show"
    assert app._new_notes(1) == "1 new note — show"
    assert app._new_notes(3) == "3 new notes — show"


FILTERS = [ALL, {**ALL, "author": "alice"}, {**ALL, "tag": "python"}, {**ALL, "search": "note"}]


@SQLITE_ONLY
@pytest.mark.parametrize("filters", FILTERS)
def test_a_tick_is_one_statement_on_sqlite(seeded_db, filters):
    view = app._live_first(seeded_db, 1, filters)
    sent = statements_of(seeded_db, lambda: app._live_tick(seeded_db, view, filters))
    assert len(sent) == 1


@POSTGRESQL_ONLY
@pytest.mark.parametrize("filters", FILTERS)
def test_a_tick_is_one_listing_on_postgresql(seeded_db, monkeypatch, filters):
    """One statement; a search or a tag is the listing's two steps (PG_WINDOW): the
    window above the page, then past it (which reads only the newest number once past it)."""
    view = app._live_first(seeded_db, 1, filters)
    sent = sent_to_postgresql(monkeypatch, lambda: app._live_tick(seeded_db, view, filters))
    assert len(sent) == (2 if filters["tag"] or filters["search"] else 1)


# ---------------------------------------------------------------- a tick's page


def _live_script() -> None:
    """The live fragment alone, on the feed's filters: its first run reads the page and
    every later run is a tick (one view), as run_every would rerun it in a browser.
    session_state["fail"] makes the ticks' reads fail as a lost database would."""
    from unittest import mock

    import streamlit as st

    import app as notes_app

    def page() -> None:
        notes_app._live_feed(1, {"search": "", "author": None, "tag": None}, [])

    if st.session_state.get("fail"):
        fault = notes_app.StorageError(notes_app.MSG_DB_OTHER.format(error="disk I/O error"))
        with mock.patch.object(notes_app, "_live_tick", side_effect=fault):
            page()
    else:
        page()


@pytest.fixture
def live(seeded_db, app_test) -> AppTest:
    """The live fragment, run once (the page as first read) on the seeded notes."""
    return AppTest.from_function(_live_script, default_timeout=30).run()


def test_a_tick_shows_the_banner_above_the_same_notes(live, seeded_db):
    assert banner(live) == []
    NoteService.create_note(seeded_db, "cy", "new")
    live.run()
    assert banner(live) == ["1 new note — show"]
    assert bodies_shown(live) == ["third note", "second note", "first **note**"]
    assert not live.exception


def test_a_tick_that_cannot_read_says_so_once_and_keeps_the_notes(live, seeded_db):
    live.session_state["fail"] = True
    for _ in range(3):
        live.run()
    assert [c.value for c in live.caption if "cannot be checked" in c.value] == [
        f":material/sync_problem: {app.MSG_LIVE_PAUSED.format(seconds=app.LIVE_FEED_TICK_S)}"
    ]
    assert bodies_shown(live) == ["third note", "second note", "first **note**"]
    assert not live.exception
    live.session_state["fail"] = False
    NoteService.create_note(seeded_db, "cy", "new")
    live.run()  # the database is back: the next tick works
    assert banner(live) == ["1 new note — show"]
    assert not [c for c in live.caption if "cannot be checked" in c.value]


# ---------------------------------------------------------------- the whole feed


def as_a_tick(at: AppTest) -> AppTest:
    """Run the feed again as within the same full run, as a tick would (a full run of
    the page otherwise reads its newest notes afresh; see _LIVE_RUNS)."""
    at.session_state[app._LIVE_RUNS] -= 1
    return at.run()


def test_show_loads_the_newest_page_and_the_banner_goes(app_test, seeded_db):
    at = app_test("read")
    NoteService.create_note(seeded_db, "cy", "new")
    as_a_tick(at)
    assert banner(at) == ["1 new note — show"]
    assert bodies_shown(at)[0] == "third note"
    at.button(key=app._LIVE_SHOW).click().run()
    assert bodies_shown(at)[:2] == ["new", "third note"]
    assert banner(at) == []
    assert not at.exception


def test_a_full_run_of_the_feed_reads_its_newest_notes(app_test, seeded_db):
    at = app_test("read")
    NoteService.create_note(seeded_db, "cy", "new")
    at.run()
    assert bodies_shown(at)[0] == "new"
    assert banner(at) == []
    assert not at.exception


def test_an_older_page_is_not_live(app_test, empty_db):
    for i in range(app.FEED_PAGE_SIZE + 2):
        NoteService.create_note(empty_db, "alice", f"note {i}")
    at = app_test("read")
    runs = at.session_state[app._LIVE_RUNS]
    at.button(key="feed_older").click().run()
    assert bodies_shown(at) == ["note 1", "note 0"]
    assert at.session_state[app._LIVE_RUNS] == runs  # the live fragment did not run
    NoteService.create_note(empty_db, "cy", "new")
    at.run()
    assert banner(at) == []
    assert not at.exception


def test_a_permalink_is_not_live(app_test, seeded_db):
    at = app_test("read", {"note": "3"})
    assert app._LIVE_RUNS not in at.session_state
    assert not at.exception


def test_widgets_in_the_live_feed_still_filter_open_the_editor_and_delete(app_test, seeded_db):
    """Their callbacks rerun the whole page (a click inside a fragment reruns only it)."""
    at = app_test("read")
    at.button(key="author_of_4").click().run()
    assert at.query_params == {"author": "alice"}
    assert bodies_shown(at) == ["third note", "first **note**"]
    at.session_state["menu_4"] = True
    at.run()
    at.button(key="menu_delete_4").click().run()
    assert [m.value for m in at.success] == [app.MSG_DELETED.format(id=4)]
    assert bodies_shown(at)[-1] == "first **note**"
    assert not at.exception


def test_crafted_feed_state_in_the_url_never_breaks_the_live_feed(app_test, seeded_db):
    for query in ({"q": "*)(\"'"}, {"tag": "<script>"}, {"author": "x" * 5000}):
        at = app_test("read", query)
        assert not at.exception
        assert banner(as_a_tick(at)) == []
        assert not at.exception
