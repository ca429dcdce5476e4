"""Every page through streamlit.testing.v1.AppTest, asserting the page and the stored rows.

Every test that takes app_test (or db_target, fresh_db, empty_db, seeded_db) runs on
SQLite and on PostgreSQL. A fault that only one backend has (a file that is not a
database, a missing folder, SQLite's file lock, chattr) runs on that backend alone,
through SQLITE_ONLY or POSTGRESQL_ONLY, beside its twin on the other backend.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
import streamlit as st
from pg_cluster import GUARDED_PASSWORD, GUARDED_USER
from streamlit.testing.v1 import AppTest

import app
from app import NoteService
from tests.conftest import (
    APP_FILE,
    BOTH_BACKENDS,
    _page_script,
    byline_links,
    bylines_shown,
    create_note,
    exact_times,
    fill_note_form,
    messages,
    notes_html,
    pages_on_sqlite,
    stored_rows,
    text_of,
    texts_shown,
)

# A test-level parametrize of `backend` overrides conftest's parametrised fixture: the
# test (and app_test, db_target, seeded_db... under it) runs once, on that backend.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
POSTGRESQL_ONLY = pytest.mark.parametrize("backend", ["postgresql"])

backend = pages_on_sqlite()


def pg_name(url: str) -> str:
    """The database name at the end of a PostgreSQL URL."""
    return str(url).rsplit("/", 1)[1]


def bodies_shown(at) -> list[str]:
    """The note bodies and other markdown on the page, top to bottom."""
    return texts_shown(at)


# ---------------------------------------------------------------- the whole app


@BOTH_BACKENDS
def test_the_app_opens_on_the_feed_with_the_welcome_note(app_test):
    at = app_test()
    assert not at.exception
    assert at.title[0].value == "Read Note Feed"
    assert bodies_shown(at) == [text_of(app.WELCOME_BODY)]
    assert byline_links(at) == [("Littlest Notes", "./?author=Littlest+Notes"), ("#1", "./?note=1")]


def _list_pages() -> None:
    """AppTest script: write each of the app's pages as "title -> /url" (a Page needs a run)."""
    import streamlit as st

    import app as notes_app

    for page in notes_app.pages():
        st.text(f"{page.title} -> /{page.url_path}")


def test_the_sidebar_offers_every_page_at_its_own_url():
    at = AppTest.from_function(_list_pages, default_timeout=30).run()
    assert not at.exception
    assert [text.value for text in at.text] == [
        "Read Note Feed -> /",
        "Create a Note -> /create",
        "Update a Note -> /update",
        "Delete a Note -> /delete",
        "Trash -> /trash",
        "Activity -> /activity",
        "Export and import -> /data",
        "About -> /about",
    ]


@SQLITE_ONLY
def test_a_database_fault_is_a_message_in_the_page_not_a_traceback(app_test, db_path):
    db_path.write_bytes(b"not a database" * 200)
    at = app_test()
    assert not at.exception
    assert messages(at)["error"] == [app.MSG_DB_NOT_A_DATABASE.format(name="notes.db")]


@SQLITE_ONLY
def test_a_note_whose_text_is_not_utf8_is_a_damaged_database_message_not_a_traceback(
    app_test, db_path
):
    with closing(app.connect(db_path)) as conn:  # damage SQLite's own checks let through
        conn.execute(
            "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
            " VALUES (1, 1, 'al', CAST(x'6e6fb274' AS TEXT))"
        )
    at = app_test()
    assert not at.exception
    assert messages(at)["error"] == [app.MSG_DB_NOT_A_DATABASE.format(name="notes.db")]


@POSTGRESQL_ONLY
def test_another_apps_postgresql_database_is_a_message_in_the_page_not_a_traceback(
    app_test, db_target, pg_database
):
    # Asking for pg_database makes db_target that empty database (conftest.db_target).
    with psycopg.connect(db_target, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, text text)")
        conn.execute("INSERT INTO notes (text) VALUES ('theirs')")
    at = app_test()
    assert not at.exception
    name = f"127.0.0.1/{pg_name(db_target)}"
    assert messages(at)["error"] == [app.MSG_DB_NOT_A_DATABASE.format(name=name)]
    with psycopg.connect(db_target) as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("theirs",)]


@SQLITE_ONLY
def test_a_missing_folder_is_a_message_in_the_page(app_test, monkeypatch, tmp_path):
    monkeypatch.setenv("NOTES_DB", str(tmp_path / "gone" / "notes.db"))
    at = app_test()
    assert not at.exception
    assert messages(at)["error"] == [app.MSG_DB_CANNOT_OPEN.format(name="notes.db")]


@POSTGRESQL_ONLY
def test_a_missing_postgresql_database_is_a_message_in_the_page(app_test, monkeypatch, db_target):
    monkeypatch.setenv("NOTES_DATABASE_URL", f"{db_target}_gone")
    at = app_test()
    assert not at.exception
    name = f"127.0.0.1/{pg_name(db_target)}_gone"
    assert messages(at)["error"] == [app.MSG_PG_NO_DATABASE.format(name=name)]


@POSTGRESQL_ONLY
def test_a_refused_postgresql_password_is_a_message_that_never_shows_it(
    app_test, monkeypatch, pg_cluster, db_target
):
    wrong = GUARDED_PASSWORD[::-1]
    url = pg_cluster.url(pg_name(db_target), user=GUARDED_USER, password=wrong)
    monkeypatch.setenv("NOTES_DATABASE_URL", url)
    at = app_test()
    assert not at.exception
    name = f"127.0.0.1/{pg_name(db_target)}"
    assert messages(at)["error"] == [app.MSG_PG_REFUSED.format(name=name)]


# ---------------------------------------------------------------- feed


@BOTH_BACKENDS
def test_the_feed_shows_author_time_edited_marker_and_number(app_test, seeded_db):
    NoteService.update_note(seeded_db, 3, "bob", "second note, edited", now=1_800_000_000)
    at = app_test("read")
    assert bodies_shown(at) == ["third note", "second note, edited", "first note"]
    assert byline_links(at)[:2] == [("alice", "./?author=alice"), ("#4", "./?note=4")]
    assert bylines_shown(at)[:2] == [
        "alice · 14 Nov 2023 · #4",
        "bob · 14 Nov 2023 · #3 edited 15 Jan 2027",
    ]
    assert not at.exception


def test_the_feed_escapes_markdown_in_usernames(app_test, empty_db):
    NoteService.create_note(empty_db, "[x](javascript:alert(1)) **me**", "hi")
    at = app_test("read")
    [(name, address)] = byline_links(at)[:1]
    assert name == "[x](javascript:alert(1)) **me**"  # as typed, in the byline's HTML
    assert address == "./?author=%5Bx%5D%28javascript%3Aalert%281%29%29+%2A%2Ame%2A%2A"
    bylines = [n.value.split("notes-byline")[-1] for n in at.main if n.type == "html"]
    assert "<strong>" not in bylines[-1] and 'href="javascript' not in bylines[-1]
    assert not at.exception


def test_an_empty_feed_says_so(app_test, empty_db):
    at = app_test("read")
    assert messages(at)["info"] == [app.MSG_NO_NOTES]
    assert not at.exception


@BOTH_BACKENDS
def test_the_feed_pages_older_and_newer_through_the_url(app_test, empty_db):
    for i in range(app.FEED_PAGE_SIZE + 5):
        NoteService.create_note(empty_db, "alice", f"note {i}")
    at = app_test("read")
    assert len(bodies_shown(at)) == app.FEED_PAGE_SIZE
    assert bodies_shown(at)[0] == f"note {app.FEED_PAGE_SIZE + 4}"
    at.button(key="feed_older").click().run()
    assert bodies_shown(at) == [f"note {i}" for i in range(4, -1, -1)]
    assert at.query_params == {"before": "7"}
    paging = [b.key for b in at.button if b.key.startswith("feed_")]
    assert paging == ["feed_newer"]  # the oldest page has no "Older"
    at.button(key="feed_newer").click().run()
    assert len(bodies_shown(at)) == app.FEED_PAGE_SIZE
    assert at.query_params == {"after": "6"}
    assert not at.exception


def test_a_feed_page_whose_notes_were_deleted_offers_the_newest(app_test, seeded_db):
    at = app_test("read")
    at.query_params["before"] = "2"
    at.run()
    assert messages(at)["info"] == [app.MSG_FEED_PAGE_EMPTY]
    at.button(key="feed_newest").click().run()
    assert bodies_shown(at)[0] == "third note"
    assert not at.exception


def open_raw_table(at):
    """Open the feed's Raw Note Table Data (built only while it is open)."""
    assert not at.dataframe
    at.session_state["feed_raw"] = True
    return at.run()


def test_the_raw_table_shows_the_stored_rows(app_test, seeded_db):
    at = open_raw_table(app_test("read"))
    frame = at.dataframe[0].value
    assert list(frame["id"]) == [4, 3, 2]
    assert list(frame["body"]) == ["third note", "second note", "first **note**"]
    assert not at.exception


# ---------------------------------------------------------------- create


@BOTH_BACKENDS
def test_a_created_note_is_confirmed_shown_and_then_in_the_feed(app_test, db_target):
    at = create_note(app_test("create"), "alice", "hello **world**")
    assert not at.exception
    assert messages(at)["success"] == ["Note #2 saved."]
    assert "hello world" in bodies_shown(at)
    assert at.text_area(key="create_body").value == ""
    assert at.text_input(key="create_username").value == "alice"
    assert stored_rows(db_target)[-1][3:] == ("alice", "hello **world**")
    assert bodies_shown(app_test("read"))[0] == "hello world"


@pytest.mark.parametrize(
    ("username", "body", "message"),
    [
        ("alice", "", app.MSG_BODY_EMPTY),
        ("alice", "  \n  ", app.MSG_BODY_EMPTY),
        ("", "hello", app.MSG_USERNAME_EMPTY),
        ("alice", "x" * 200, "Note is 200 characters; the limit is 140 (60 over)."),
        ("alice", "bell\x07", "control character (U+0007)"),
        ("a" * 150, "hello", "Username is 150 characters; the limit is 140 (10 over)."),
    ],
)
def test_a_bad_note_is_refused_with_its_message_and_the_text_is_kept(
    app_test, db_target, username, body, message
):
    at = create_note(app_test("create"), username, body)
    assert not at.exception
    assert len(messages(at)["error"]) == 1 and message in messages(at)["error"][0]
    assert at.text_area(key="create_body").value == body
    assert at.text_input(key="create_username").value == username
    assert len(stored_rows(db_target)) == 1  # the welcome note only


def test_trimming_an_over_long_note_then_saving_works(app_test, db_target):
    at = create_note(app_test("create"), "alice", "y" * 200)
    assert "60 over" in messages(at)["error"][0]
    at = fill_note_form(at, "create", None, "y" * 140)
    assert messages(at)["success"] == ["Note #2 saved."]
    assert stored_rows(db_target)[-1][4] == "y" * 140
    assert not at.exception


@SQLITE_ONLY
def test_create_on_a_locked_database_says_so_and_keeps_the_text(
    app_test, fresh_db, db_path, monkeypatch
):
    monkeypatch.setattr(app, "BUSY_TIMEOUT_S", 0.2)
    at = app_test("create")
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        at = create_note(at, "alice", "patience")
    finally:
        holder.execute("ROLLBACK")
    assert messages(at)["error"] == [app.MSG_DB_LOCKED.format(seconds=app.BUSY_TIMEOUT_S)]
    assert at.text_area(key="create_body").value == "patience"
    assert len(stored_rows(db_path)) == 1
    assert not at.exception


@POSTGRESQL_ONLY
def test_create_on_a_locked_postgresql_database_says_so_and_keeps_the_text(
    app_test, fresh_db, db_target, monkeypatch
):
    """Another session holds a lock that every INSERT waits for (LOCK TABLE, as a
    maintenance script or an ALTER TABLE would) past the timeout: the page says the
    database is busy. The holder gives up after a few seconds anyway, so that a write
    that would wait for ever fails this test instead of hanging it."""
    monkeypatch.setattr(app, "BUSY_TIMEOUT_S", 0.2)
    at = app_test("create")
    holder = psycopg.connect(str(db_target))
    holder.execute("LOCK TABLE notes IN EXCLUSIVE MODE")
    give_up = threading.Timer(app.BUSY_TIMEOUT_S + 3, holder.rollback)
    give_up.start()
    try:
        at = create_note(at, "alice", "patience")
    finally:
        give_up.cancel()
        give_up.join()
        holder.close()  # rolls back, if the timer did not: the lock is released
    assert messages(at)["error"] == [app.MSG_DB_LOCKED.format(seconds=app.BUSY_TIMEOUT_S)]
    assert at.text_area(key="create_body").value == "patience"
    assert len(stored_rows(db_target)) == 1
    assert not at.exception


# ---------------------------------------------------------------- update


@BOTH_BACKENDS
def test_update_offers_the_newest_note_and_saves_an_edit(app_test, seeded_db, db_target):
    at = app_test("update")
    assert at.number_input(key="update_number").value == 4
    assert at.text_area(key="update_body").value == "third note"
    created = stored_rows(db_target)[2][1]
    at = fill_note_form(at, "update", "alicia", "third note, **edited**")
    assert not at.exception
    assert messages(at)["success"] == ["Note #4 updated."]
    row = stored_rows(db_target)[2]
    assert row[0] == 4 and row[1] == created and row[2] >= created
    assert row[3:] == ("alicia", "third note, **edited**")


def test_choosing_another_number_loads_that_note(app_test, seeded_db):
    at = app_test("update")
    at.number_input(key="update_number").set_value(2).run()
    assert at.text_input(key="update_username").value == "alice"
    assert at.text_area(key="update_body").value == "first **note**"
    assert not at.exception


def test_update_with_a_number_that_does_not_exist_says_so(app_test, seeded_db):
    at = app_test("update")
    at.number_input(key="update_number").set_value(99999).run()
    assert not at.exception
    assert messages(at)["warning"] == ["Note #99999 does not exist. It may have been deleted."]
    assert len(at.text_area) == 0


def test_saving_an_edit_of_a_note_deleted_meanwhile_keeps_the_text_on_the_page_once(
    app_test, seeded_db, db_target
):
    at = app_test("update")
    at.text_input(key="update_username").set_value("alicia")
    at.text_area(key="update_body").set_value("my careful edit")
    NoteService.delete_note(seeded_db, 4)  # someone else, meanwhile
    at.button(key="update_submit").click().run()
    assert not at.exception
    assert messages(at)["error"] == [app.MSG_EDIT_GONE.format(id=4)]
    assert messages(at)["warning"] == []  # said once, not again by the picker
    assert [code.value for code in at.code] == ["my careful edit"]
    assert len(at.text_area) == 0  # no form for some other note under the rescued text
    assert [row[0] for row in stored_rows(db_target)] == [2, 3]
    at.button(key="update_save_as_new").click().run()
    assert not at.exception
    assert messages(at)["success"] == ["Note #5 saved."]
    assert at.number_input(key="update_number").value == 5  # and it is the note in the form
    assert at.text_area(key="update_body").value == "my careful edit"
    note_id, _, _, username, body = stored_rows(db_target)[-1]
    assert (note_id, username, body) == (5, "alicia", "my careful edit")


def test_an_invalid_edit_is_refused_and_the_note_is_unchanged(app_test, seeded_db, db_target):
    before = stored_rows(db_target)
    at = fill_note_form(app_test("update"), "update", None, "x" * 141)
    assert messages(at)["error"] == ["Note is 141 characters; the limit is 140 (1 over)."]
    assert at.text_area(key="update_body").value == "x" * 141
    assert stored_rows(db_target) == before
    assert not at.exception


def test_update_on_an_empty_database_says_there_are_no_notes(app_test, empty_db):
    at = app_test("update")
    assert messages(at)["info"] == [app.MSG_NO_NOTES]
    assert not at.exception


# ---------------------------------------------------------------- delete


@BOTH_BACKENDS
def test_delete_shows_the_note_and_needs_a_confirmation(app_test, seeded_db, db_target):
    at = app_test("delete")
    assert bodies_shown(at) == ["third note"]
    assert at.button(key="delete_submit").disabled
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete_submit").click().run()
    assert not at.exception
    assert messages(at)["success"] == ["Note #4 deleted. It is in the Trash until purged."]
    assert [row[0] for row in stored_rows(db_target)] == [2, 3]
    assert at.number_input(key="delete_number").value == 3
    assert at.checkbox(key="delete_confirm").value is False


def test_deleting_a_note_deleted_meanwhile_says_so(app_test, seeded_db, db_target):
    at = app_test("delete")
    at.checkbox(key="delete_confirm").check().run()
    NoteService.delete_note(seeded_db, 4)
    at.button(key="delete_submit").click().run()
    assert not at.exception
    assert messages(at)["error"] == ["Note #4 does not exist. It may have been deleted."]
    assert [row[0] for row in stored_rows(db_target)] == [2, 3]


def test_delete_with_a_number_that_does_not_exist_says_so(app_test, seeded_db):
    at = app_test("delete")
    at.number_input(key="delete_number").set_value(12345).run()
    assert messages(at)["warning"] == ["Note #12345 does not exist. It may have been deleted."]
    assert [b.key for b in at.button] == ["delete_pick_4", "delete_pick_3", "delete_pick_2"]
    assert not at.exception


# ---------------------------------------------------------------- about


@BOTH_BACKENDS
def test_about_says_what_the_app_is_and_where_its_notes_are(app_test, seeded_db, db_target):
    at = app_test("about")
    assert "Littlest Notes" in at.markdown[0].value
    where = {
        "sqlite": "the SQLite file notes.db",
        "postgresql": f"PostgreSQL at 127.0.0.1/{pg_name(db_target)}",
    }[app._dialect(seeded_db)]
    assert at.caption[0].value == f"3 notes stored in {where}."
    assert not at.exception


# ---------------------------------------------------------------- configuration


def test_the_database_path_can_come_from_secrets(tmp_path, monkeypatch):
    monkeypatch.delenv("NOTES_DB", raising=False)
    monkeypatch.delenv("NOTES_DATABASE_URL", raising=False)
    at = AppTest.from_file(APP_FILE, default_timeout=30)
    at.secrets["notes_db"] = str(tmp_path / "from-secrets.db")
    at.run()
    assert not at.exception
    assert bodies_shown(at) == [text_of(app.WELCOME_BODY)]
    assert stored_rows(tmp_path / "from-secrets.db")[0][4] == app.WELCOME_BODY


def test_the_database_url_can_come_from_secrets(pg_database, tmp_path, monkeypatch):
    monkeypatch.delenv("NOTES_DB", raising=False)
    monkeypatch.delenv("NOTES_DATABASE_URL", raising=False)
    at = AppTest.from_file(APP_FILE, default_timeout=30)
    at.secrets["connections"] = {"notes": {"url": pg_database}}
    at.secrets["notes_db"] = str(tmp_path / "not-this.db")  # a URL wins over a file
    at.run()
    assert not at.exception
    assert bodies_shown(at) == [text_of(app.WELCOME_BODY)]
    assert stored_rows(pg_database)[0][4] == app.WELCOME_BODY
    assert not (tmp_path / "not-this.db").exists()


def test_the_environment_wins_over_secrets_and_the_default_is_beside_app_py(tmp_path):
    secrets = {"notes_db": str(tmp_path / "s.db")}
    assert app.resolve_db_path({"NOTES_DB": str(tmp_path / "e.db")}, secrets) == tmp_path / "e.db"
    assert app.resolve_db_path({}, secrets) == tmp_path / "s.db"
    assert app.resolve_db_path({}, {}) == Path(app.__file__).resolve().parent / "notes.db"
    assert app.resolve_db_path({"NOTES_DB": ""}, None) == app.DEFAULT_DB_PATH


def test_the_environment_wins_over_secrets_and_a_url_over_a_file(tmp_path):
    env_url, secret_url = "postgresql://e@h/env", "postgresql://s@h/secret"
    secrets = {"notes_db": str(tmp_path / "s.db"), "database_url": secret_url}
    environ = {"NOTES_DATABASE_URL": env_url, "NOTES_DB": str(tmp_path / "e.db")}
    assert app.resolve_database(environ, secrets) == env_url
    assert app.resolve_database({}, secrets) == secret_url
    assert app.resolve_database({"NOTES_DATABASE_URL": ""}, {}) == app.DEFAULT_DB_PATH
    assert app.resolve_database({"NOTES_DB": str(tmp_path / "e.db")}, {}) == tmp_path / "e.db"
    # the environment wins over secrets, even a file over a URL
    assert app.resolve_database({"NOTES_DB": str(tmp_path / "e.db")}, secrets) == tmp_path / "e.db"


# ---------------------------------------------------------------- search, filters, permalinks


@BOTH_BACKENDS
def test_searching_the_feed_highlights_matches_and_opens_from_the_url(app_test, seeded_db):
    at = app_test("read")
    at.text_input(key="q").input("seco").run()
    assert notes_html(at) == ["<p><mark>second</mark> note</p>"]
    bookmarked = app_test("read", {"q": "thi"})
    assert bookmarked.text_input(key="q").value == "thi"
    assert notes_html(bookmarked) == ["<p><mark>third</mark> note</p>"]
    assert not bookmarked.exception
    assert not at.exception


def test_a_search_that_matches_nothing_says_so(app_test, seeded_db):
    at = app_test("read")
    at.text_input(key="q").input('NEAR( "unclosed').run()
    assert not at.exception
    assert messages(at)["info"] == [app.MSG_NO_MATCHES]


def test_the_author_filter_shows_their_notes_and_count_and_can_be_cleared(app_test, seeded_db):
    at = app_test("read")
    at.query_params["author"] = "alice"
    at.run()
    assert bodies_shown(at) == ["third note", "first note"]
    assert [text.value for text in at.text] == ["Notes by alice (2 in all)"]
    at.button(key="feed_show_all").click().run()
    assert bodies_shown(at) == ["third note", "second note", "first note"]
    assert at.query_params == {}
    assert not at.exception


@BOTH_BACKENDS
def test_a_notes_tags_are_links_in_its_text_that_filter_the_feed(app_test, empty_db):
    NoteService.create_note(empty_db, "alice", "learning #Python today")
    NoteService.create_note(empty_db, "bob", "no tags")
    at = app_test("read")
    assert bodies_shown(at)[1] == "learning #Python today"  # once, in the text
    assert '<a href="./?tag=python"' in notes_html(at)[1]
    assert not [b for b in at.button if b.key.startswith("tag_")]  # no second copy
    at.query_params["tag"] = "python"  # where the link leads (the browser tests follow it)
    at.run()
    assert bodies_shown(at) == ["learning #Python today"]
    assert [text.value for text in at.text] == ["Notes tagged #python (1 in all)"]
    assert not at.exception


def test_a_permalink_opens_the_note_alone(app_test, seeded_db):
    at = app_test("read")
    at.query_params["note"] = "3"
    at.run()
    assert bodies_shown(at) == ["second note"]
    at.button(key="feed_all_notes").click().run()
    assert at.query_params == {}
    assert bodies_shown(at) == ["third note", "second note", "first note"]
    assert not at.exception


def test_a_permalink_to_a_deleted_note_says_so(app_test, seeded_db):
    NoteService.delete_note(seeded_db, 3)
    at = app_test("read")
    at.query_params["note"] = "3"
    at.run()
    assert not at.exception
    assert messages(at)["warning"] == ["Note #3 does not exist. It may have been deleted."]


def test_update_finds_a_note_by_search_and_picks_it_with_one_click(app_test, seeded_db):
    at = app_test("update")
    at.text_input(key="update_find").input("second").run()
    assert [b.key for b in at.button if b.key.startswith("update_pick_")] == ["update_pick_3"]
    at.button(key="update_pick_3").click().run()
    assert at.number_input(key="update_number").value == 3
    assert at.text_area(key="update_body").value == "second note"
    assert not at.exception


# ---------------------------------------------------------------- nothing is lost


@BOTH_BACKENDS
def test_two_people_editing_one_note_the_second_gets_a_conflict_and_the_first_text_survives(
    app_test, seeded_db, db_target
):
    first, second = app_test("update"), app_test("update")
    first = fill_note_form(first, "update", None, "first person's edit")
    assert messages(first)["success"] == ["Note #4 updated."]
    second = fill_note_form(second, "update", None, "second person's edit")
    assert not second.exception
    assert messages(second)["error"][0].startswith("Note #4 was changed by someone else")
    assert "first person's edit" in bodies_shown(second)  # the saved text, beside theirs
    assert second.text_area(key="update_body").value == "second person's edit"
    assert stored_rows(db_target)[2][4] == "first person's edit"
    second = fill_note_form(second, "update", None, "second person's edit, on purpose")
    assert messages(second)["success"] == ["Note #4 updated."]
    assert stored_rows(db_target)[2][4] == "second person's edit, on purpose"


def test_deleting_a_note_changed_since_it_was_shown_is_refused(app_test, seeded_db, db_target):
    at = app_test("delete")
    at.checkbox(key="delete_confirm").check().run()
    NoteService.update_note(seeded_db, 4, "alice", "changed meanwhile")
    at.button(key="delete_submit").click().run()
    assert messages(at)["error"][0].startswith("Note #4 was changed by someone else")
    assert [row[0] for row in stored_rows(db_target)] == [2, 3, 4]
    assert not at.exception


@BOTH_BACKENDS
def test_undo_right_after_a_delete_brings_the_note_back(app_test, seeded_db, db_target):
    before = stored_rows(db_target)
    at = app_test("delete")
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete_submit").click().run()
    at.button(key="delete_undo").click().run()
    assert not at.exception
    assert messages(at)["success"] == ["Note #4 restored."]
    assert stored_rows(db_target) == before


def test_the_trash_page_restores_notes_and_offers_no_way_to_destroy_one(
    app_test, seeded_db, db_target
):
    NoteService.delete_note(seeded_db, 3)
    NoteService.delete_note(seeded_db, 4)
    at = app_test("trash")
    assert bodies_shown(at)[:2] == ["third note", "second note"]
    assert app.MSG_TRASH_KEPT in [caption.value for caption in at.caption]
    assert {button.label for button in at.button} == {"Restore"}  # no purge, no "empty"
    at.button(key="trash_restore_3").click().run()
    assert messages(at)["success"] == ["Note #3 restored."]
    assert [row[0] for row in stored_rows(db_target)] == [2, 3]
    assert [n.id for n in NoteService.list_trash(seeded_db)] == [4]
    assert not at.exception


@BOTH_BACKENDS
def test_the_update_page_shows_history_and_restores_an_earlier_version(
    app_test, seeded_db, db_target
):
    NoteService.update_note(seeded_db, 4, "alice", "third note, edited")
    at = app_test("update")
    assert at.expander[0].label == "History: 1 earlier version"
    at.button(key="update_restore_1").click().run()
    assert messages(at)["success"] == ["Note #4 is back to version 1 (saved as version 3)."]
    assert at.text_area(key="update_body").value == "third note"
    assert stored_rows(db_target)[2][4] == "third note"
    assert not at.exception


@SQLITE_ONLY
def test_a_read_only_database_shows_the_feed_and_refuses_a_new_note_clearly(app_test, immutable_db):
    assert bodies_shown(app_test("read")) == ["third note", "second note", "first note"]
    at = create_note(app_test("create"), "alice", "not now")
    assert not at.exception
    assert messages(at)["error"] == [app.MSG_DB_READ_ONLY]
    assert at.text_area(key="create_body").value == "not now"
    assert len(stored_rows(immutable_db)) == 3


@POSTGRESQL_ONLY
def test_a_read_only_postgresql_database_shows_the_feed_and_refuses_a_new_note_clearly(
    app_test, seeded_db, db_target, pg_cluster
):
    pg_cluster.admin(f"ALTER DATABASE {pg_name(db_target)} SET default_transaction_read_only = on")
    st.cache_resource.clear()  # the app reconnects: its new sessions see the setting
    assert bodies_shown(app_test("read")) == ["third note", "second note", "first note"]
    at = create_note(app_test("create"), "alice", "not now")
    assert not at.exception
    assert messages(at)["error"] == [app.MSG_DB_READ_ONLY]
    assert at.text_area(key="create_body").value == "not now"
    assert len(stored_rows(db_target)) == 3


def test_an_author_or_a_number_on_the_feed_leads_to_their_view(app_test, seeded_db):
    at = app_test("read")
    assert ("bob", "./?author=bob") in byline_links(at) and ("#3", "./?note=3") in byline_links(at)
    at.query_params["author"] = "bob"
    at.run()
    assert bodies_shown(at) == ["second note"]
    assert [text.value for text in at.text] == ["Notes by bob (1 in all)"]
    at.query_params.pop("author")
    at.query_params["note"] = "3"
    at.run()
    assert bodies_shown(at) == ["second note"]
    assert not at.exception


def test_links_under_a_note_on_other_pages_lead_to_the_feed(app_test, seeded_db):
    at = app_test("delete")
    assert byline_links(at)[:2] == [("alice", "./?author=alice"), ("#4", "./?note=4")]
    assert not at.exception


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "query",
    [
        {"note": "²"},
        {"note": "①"},
        {"note": "٣"},
        {"before": "²"},
        {"after": "①"},
        {"note": "99999999999999999999"},
        {"before": "-1"},
        {"note": "0"},
        {"before": "3", "after": "2"},
    ],
)
def test_a_crafted_number_in_the_address_bar_never_breaks_the_feed(app_test, seeded_db, query):
    at = app_test("read", query)
    assert not at.exception
    assert at.title[0].value == "Read Note Feed"


def browser_time_zone(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    """Make st.context.timezone report zone, as a browser (or a crafted request) would."""
    monkeypatch.setattr(type(app.st.context), "timezone", property(lambda self: zone))


@pytest.mark.parametrize("zone", ["America", "x" * 5000, "../../etc/passwd", "Europe/Nowhere", ""])
def test_a_crafted_browser_time_zone_falls_back_to_utc(app_test, seeded_db, monkeypatch, zone):
    browser_time_zone(monkeypatch, zone)
    at = app_test("read")
    assert not at.exception
    assert exact_times(at)[0] == "14 Nov 2023, 22:13 UTC"


def test_the_browsers_time_zone_is_used_when_it_is_real(app_test, seeded_db, monkeypatch):
    browser_time_zone(monkeypatch, "Asia/Tokyo")
    at = app_test("read")
    assert not at.exception
    assert exact_times(at)[0] == "15 Nov 2023, 07:13 JST"


def test_a_double_clicked_save_writes_one_note(app_test, db_target):
    at = app_test("create")
    at = create_note(at, "alice", "only once")
    # The second click left the browser before the box was cleared: same text again.
    at = create_note(at, "alice", "only once")
    assert not at.exception
    assert messages(at)["success"] == ["Note #2 saved."]
    assert [row[4] for row in stored_rows(db_target)].count("only once") == 1
    assert at.text_area(key="create_body").value == ""


def test_a_click_on_save_that_arrives_after_the_box_was_cleared_repeats_the_saved_note(
    app_test, db_target
):
    at = create_note(app_test("create"), "alice", "once more")
    at = create_note(at, "alice", "")  # the third click of three: the box is empty now
    assert not at.exception
    assert messages(at)["success"] == ["Note #2 saved."]
    assert messages(at)["error"] == []
    assert len(stored_rows(db_target)) == 2


def test_an_empty_note_long_after_a_save_is_refused_as_empty(app_test, monkeypatch):
    at = create_note(app_test("create"), "alice", "first")
    monkeypatch.setattr(app, "DOUBLE_SUBMIT_S", 0.0)
    at = create_note(at, "alice", "")
    assert not at.exception
    assert messages(at)["error"] == [app.MSG_BODY_EMPTY]


def test_the_same_text_saved_again_later_is_a_new_note(app_test, db_target, monkeypatch):
    at = create_note(app_test("create"), "alice", "good morning")
    monkeypatch.setattr(app, "DOUBLE_SUBMIT_S", 0.0)  # as if the window had passed
    at = create_note(at, "alice", "good morning")
    assert not at.exception
    assert messages(at)["success"] == ["Note #3 saved."]
    assert [row[4] for row in stored_rows(db_target)].count("good morning") == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Invoice \u202efdp.exe", "text-direction control (U+202E)"),
        ("\u200b\u200b", "Note has no visible character"),
    ],
)
def test_hostile_unicode_is_refused_in_the_page_and_kept_in_the_box(
    app_test, db_target, body, message
):
    at = create_note(app_test("create"), "mallory", body)
    assert not at.exception
    assert len(messages(at)["error"]) == 1 and message in messages(at)["error"][0]
    assert at.text_area(key="create_body").value == body
    assert len(stored_rows(db_target)) == 1


def test_a_name_that_impersonates_the_app_is_refused(app_test, db_target):
    at = create_note(app_test("create"), "Littlest Notes\u200b", "official news")
    assert not at.exception
    assert "invisible character (U+200B)" in messages(at)["error"][0]
    assert len(stored_rows(db_target)) == 1


# ---------------------------------------------------------------- trash paging


def test_the_trash_pages_so_every_trashed_note_can_be_restored(app_test, empty_db, db_target):
    ids = [NoteService.create_note(empty_db, "alice", f"note {i}").id for i in range(41)]
    for note_id in ids:
        NoteService.delete_note(empty_db, note_id)
    at = app_test("trash")
    shown = [b.key for b in at.button if b.key.startswith("trash_restore_")]
    assert len(shown) == app.FEED_PAGE_SIZE
    at.button(key="trash_older").click().run()
    shown = [b.key for b in at.button if b.key.startswith("trash_restore_")]
    assert shown[-1] == f"trash_restore_{ids[0]}"  # the 41st, oldest, trashed note
    at.button(key=f"trash_restore_{ids[0]}").click().run()
    assert not at.exception
    assert messages(at)["success"] == [f"Note #{ids[0]} restored."]
    assert [row[0] for row in stored_rows(db_target)] == [ids[0]]
    assert at.button(key="trash_newer")  # and back towards the newest


def test_the_cached_database_keeps_working_on_every_rerun(app_test):
    """`streamlit run` executes app.py again on every rerun, so the pool cached by the
    first run belongs to that run's classes; later runs must still recognise it."""
    at = app_test()
    for _ in range(3):
        at = at.run()
        assert not at.exception
        assert bodies_shown(at) == [text_of(app.WELCOME_BODY)]


def test_the_trash_says_when_each_note_was_deleted(app_test, seeded_db):
    NoteService.delete_note(seeded_db, 3, now=1_700_000_100)
    at = app_test("trash")
    assert "Deleted 14 Nov 2023" in [c.value for c in at.caption]
    assert not at.exception
    assert NoteService.list_trash(seeded_db)[0].deleted_timestamp == 1_700_000_100


def test_counts_read_as_words_one_note_and_thousands_separated(app_test, empty_db):
    NoteService.create_note(empty_db, "solo", "the only note")
    one = app_test("about")
    assert one.caption[0].value.startswith("1 note stored in ")
    app.seed_notes(empty_db, 1233)
    many = app_test("about")
    assert many.caption[0].value.startswith("1,234 notes stored in ")
    assert not one.exception and not many.exception


def test_a_search_in_the_picker_loads_its_best_match_into_the_form(app_test, seeded_db):
    """Typing a search never leaves the form editing a note the matches hide."""
    at = app_test("update")
    assert at.text_area(key="update_body").value == "third note"  # the newest, #4
    at.text_input(key="update_find").input("second").run()
    assert at.number_input(key="update_number").value == 3
    assert at.text_area(key="update_body").value == "second note"
    at.number_input(key="update_number").set_value(2).run()  # then a number still wins
    assert at.text_area(key="update_body").value == "first **note**"
    assert not at.exception


def test_pick_labels_are_plain_text_and_the_chosen_note_is_marked(app_test, seeded_db):
    at = app_test("update")
    picks = {b.key: b for b in at.button if b.key.startswith("update_pick_")}
    assert picks["update_pick_2"].label == "\\#2 alice: first note"  # not **note**
    assert picks["update_pick_4"].proto.type == "secondary"  # the note in the form
    assert picks["update_pick_2"].proto.type == "tertiary"
    assert not at.exception


def test_after_undo_the_delete_page_shows_the_note_brought_back(app_test, seeded_db):
    at = app_test("delete")
    at.number_input(key="delete_number").set_value(3).run()
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete_submit").click().run()
    assert at.number_input(key="delete_number").value == 4  # the newest remaining
    at.button(key="delete_undo").click().run()
    assert at.number_input(key="delete_number").value == 3
    assert bodies_shown(at)[-1] == "second note"
    assert not at.exception


# ---------------------------------------------------------------- a note's menu


def open_menu(at, id: int):
    """Open note id's Actions menu (its contents run only while it is open)."""
    at.session_state[f"menu_{id}"] = True
    return at.run()


def test_the_note_menu_edits_a_note_in_place(app_test, seeded_db):
    at = open_menu(app_test("read"), 4)
    at.button(key="menu_edit_4").click().run()
    assert at.text_area(key="edit_body").value == "third note"
    at.text_area(key="edit_body").set_value("third note, edited in place")
    at.button(key="edit_submit").click().run()
    assert messages(at)["success"] == ["Note #4 updated."]
    assert NoteService.get_note(seeded_db, 4).body == "third note, edited in place"
    assert "edit_body" not in [t.key for t in at.text_area]  # the dialog closed
    assert "third note, edited in place" in bodies_shown(at)
    assert not at.exception


def test_an_in_place_edit_after_someone_elses_shows_both_and_keeps_the_text(app_test, seeded_db):
    at = open_menu(app_test("read"), 4)
    at.button(key="menu_edit_4").click().run()
    NoteService.update_note(seeded_db, 4, "bob", "bob got there first")
    at.text_area(key="edit_body").set_value("mine")
    at.button(key="edit_submit").click().run()
    assert messages(at)["error"][0].startswith("Note #4 was changed by someone else")
    assert at.text_area(key="edit_body").value == "mine"
    assert "bob got there first" in bodies_shown(at)
    assert NoteService.get_note(seeded_db, 4).body == "bob got there first"
    at.button(key="edit_submit").click().run()  # saving again is a deliberate choice
    assert NoteService.get_note(seeded_db, 4).body == "mine"
    assert not at.exception


def test_the_note_menu_deletes_with_undo(app_test, seeded_db):
    at = open_menu(app_test("read"), 3)
    at.button(key="menu_delete_3").click().run()
    assert messages(at)["success"] == [app.MSG_DELETED.format(id=3)]
    assert "second note" not in bodies_shown(at)
    at.button(key="feed_undo").click().run()
    assert messages(at)["success"] == [app.MSG_RESTORED.format(id=3)]
    assert NoteService.get_note(seeded_db, 3).body == "second note"
    assert not at.exception


def test_the_note_menu_opens_history_in_place_and_shows_the_notes_address(app_test, seeded_db):
    NoteService.update_note(seeded_db, 3, "bob", "second note, edited")
    at = app_test("read")
    assert not any(code.value.endswith("?note=3") for code in at.code)  # closed: nothing run
    at = open_menu(at, 3)
    assert any(code.value.endswith("?note=3") for code in at.code)
    at.button(key="menu_history_3").click().run()
    assert at.title[0].value == "Read Note Feed"  # in place: a dialog over the feed
    assert "History: 1 earlier version" in [e.label for e in at.expander]
    assert any(h.value.endswith(">second note</p>\n</div>") for h in at.get("html"))  # version 1
    at.button(key="update_restore_1").click().run()
    assert messages(at)["success"] == [app.MSG_VERSION_RESTORED.format(id=3, old=1, new=3)]
    assert NoteService.get_note(seeded_db, 3).body == "second note"
    assert "History: 2 earlier versions" in [e.label for e in at.expander]
    update = app_test("update", {"note": "3"})  # a note's form and history by its address
    assert update.number_input(key="update_number").value == 3
    assert update.text_area(key="update_body").value == "second note"
    delete = app_test("delete", {"note": "2"})
    assert delete.number_input(key="delete_number").value == 2
    assert not at.exception and not update.exception and not delete.exception


@pytest.mark.parametrize(
    ("seconds_ago", "said"),
    [(20, "just now"), (5 * 60 + 5, "5 min ago"), (3 * 3600 + 5, "3 h ago")],
)
def test_recent_times_read_as_a_feed_says_them(seconds_ago, said):
    now = 1_800_043_200  # 20:00 UTC, so that three hours ago is still today
    assert app._ago(now - seconds_ago, now=now) == said


def test_older_times_say_the_day_then_the_date():
    now = 1_800_014_400  # Fri 15 Jan 2027, 12:00 UTC
    assert app._ago(now - 86_400, now=now) == "yesterday, 12:00"
    assert app._ago(now - 3 * 86_400, now=now) == "Tuesday, 12:00"
    assert app._ago(now - 8 * 86_400, now=now) == "7 Jan 2027"
    assert app._ago(now + 600, now=now) == "15 Jan 2027"  # a clock ahead: the date


def test_the_permalink_page_gives_the_exact_times(app_test, seeded_db):
    NoteService.update_note(seeded_db, 3, "bob", "second note, edited", now=1_800_000_000)
    at = app_test("read", {"note": "3"})
    assert "Written 14 Nov 2023, 22:13 UTC, edited 15 Jan 2027, 08:00 UTC (version 2)" in [
        c.value for c in at.caption
    ]
    assert not at.exception


@pytest.mark.parametrize("page", ["create", "update"])
def test_preview_shows_the_note_as_the_feed_will_and_saves_nothing(app_test, seeded_db, page):
    at = app_test(page)
    at.text_area(key=f"{page}_body").set_value("**bold** and #tag, " + "x" * 150)
    at.button(key=f"{page}_preview").click().run()
    assert "Preview, as the feed will show it:" in [c.value for c in at.caption]
    assert notes_html(at)[-1].startswith('<p><strong>bold</strong> and <a href="./?tag=tag"')
    assert at.text_area(key=f"{page}_body").value.endswith("x" * 150)  # over the limit, kept
    assert [n.body for n in NoteService.list_notes(seeded_db)] == [
        "third note",
        "second note",
        "first **note**",
    ]
    assert not at.exception


def test_the_raw_table_shows_dates_as_dates_in_the_readers_zone(app_test, seeded_db, monkeypatch):
    browser_time_zone(monkeypatch, "Asia/Tokyo")
    at = open_raw_table(app_test("read"))
    frame = at.dataframe[0].value
    assert str(frame["created_timestamp"].iloc[0]) == "2023-11-15 07:13:22+09:00"
    assert list(frame["username"]) == ["alice", "bob", "alice"]
    assert not at.exception


def test_a_second_press_of_save_after_the_dialog_closed_does_nothing(app_test, seeded_db):
    """Clicks 8 ms apart each run their callback: the second finds the dialog closed."""
    at = open_menu(app_test("read"), 4)
    at.button(key="menu_edit_4").click().run()
    at.text_area(key="edit_body").set_value("saved once")
    del at.session_state["edit_note"]  # as the first press left it
    at.button(key="edit_submit").click().run()
    assert not at.exception
    assert NoteService.get_note(seeded_db, 4).body == "third note"


# ---------------------------------------------------------------- the feed's box for a new note


@BOTH_BACKENDS
def test_a_note_written_in_the_feeds_box_is_at_its_top_and_the_name_is_offered_again(
    app_test, seeded_db
):
    at = fill_note_form(app_test("read"), "compose", "zoe", "from the feed #here")
    assert messages(at)["success"] == [app.MSG_CREATED.format(id=5)]
    assert bodies_shown(at)[0] == "from the feed #here"  # the top of the feed, once
    assert bodies_shown(at).count("from the feed #here") == 1
    assert at.text_area(key="compose_body").value == ""
    assert NoteService.get_note(seeded_db, 5).username == "zoe"
    assert at.session_state["writer"] == "zoe"  # the name this session wrote under
    create = AppTest.from_function(_page_script, default_timeout=30, args=("create",))
    create.session_state["writer"] = "zoe"  # (the same session, arriving on the Create page)
    assert create.run().text_input(key="create_username").value == "zoe"  # offered again
    at = fill_note_form(at, "compose", None, "x" * (app.CHAR_LIMIT + 1))
    assert at.text_area(key="compose_body").value == "x" * (app.CHAR_LIMIT + 1)  # kept
    assert messages(at)["error"] and NoteService.count_notes(seeded_db) == 4
    assert at.text_input(key="compose_username").value == "zoe"
    assert not at.exception


def test_the_feeds_box_is_on_its_newest_unfiltered_page_only(app_test, seeded_db):
    for params, shown in (({}, True), ({"tag": "x"}, False), ({"q": "note"}, False),
                          ({"before": "3"}, False), ({"note": "2"}, False)):  # fmt: skip
        at = app_test("read", params)
        assert ("compose_body" in [t.key for t in at.text_area]) is shown, params


@pytest.mark.parametrize("param", ["tag", "author"])
def test_a_text_direction_control_in_a_filter_cannot_turn_its_line_around(
    app_test, seeded_db, param
):
    at = app_test("read", {param: "x\u202e"})
    what = "tagged #x" if param == "tag" else "by x"
    assert [text.value for text in at.text] == [f"Notes {what}\ufffd (0 in all)"]
    assert not at.exception
