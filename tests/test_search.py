"""Search, filters, tags, maintained counts and the command line (the feed at scale)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app
from app import NoteService, extract_tags
from tests.conftest import APP_FILE


@pytest.fixture
def notes_db(empty_db):
    """Notes #2..#7 with authors, tags and words to search for."""
    for username, body in [
        ("alice", "Coffee with **Bob** at the market #coffee"),
        ("bob", "Learning python and sqlite today #til #Python"),
        ("carol", "Café au lait, naïve résumé"),
        ("alice", "Garden plans: tomatoes, basil #garden"),
        ("bob", "python tip: use pathlib #python"),
        ("dave", "Nothing to see here"),
    ]:
        NoteService.create_note(empty_db, username, body)
    return empty_db


def ids(notes) -> list[int]:
    return [note.rowid for note in notes]


def test_search_finds_words_in_bodies_and_usernames_newest_first(notes_db):
    assert ids(NoteService.list_notes(notes_db, search="python")) == [6, 3]
    assert ids(NoteService.list_notes(notes_db, search="carol")) == [4]


def test_the_last_word_matches_as_a_prefix_while_typing(notes_db):
    assert ids(NoteService.list_notes(notes_db, search="pyth")) == [6, 3]
    assert ids(NoteService.list_notes(notes_db, search="python pathl")) == [6]


def test_every_word_must_match(notes_db):
    assert ids(NoteService.list_notes(notes_db, search="python sqlite")) == [3]
    assert NoteService.list_notes(notes_db, search="python garden") == []


def test_search_ignores_case_and_accents(notes_db):
    assert ids(NoteService.list_notes(notes_db, search="CAFE resume")) == [4]


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"python',
        "*",
        "python*",
        "-python",
        "NEAR(",
        "NEAR(python sqlite)",
        "python AND OR NOT",
        "AND",
        "^python",
        "col:python",
        "username:bob",
        "(((",
        "'; DROP TABLE notes; --",
        "🙂",
        "🙂 python",
        "\x00",
        "x" * 10_000,
        "python " * 5_000,
    ],
)
def test_any_string_a_person_can_type_searches_without_error(notes_db, query):
    NoteService.list_notes(notes_db, search=query)  # must not raise
    assert NoteService.count_notes(notes_db) == 6


def test_search_operators_are_read_as_words(notes_db):
    assert ids(NoteService.list_notes(notes_db, search="-python")) == [6, 3]
    assert ids(NoteService.list_notes(notes_db, search="python OR garden")) == []


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=300))
def test_search_never_fails_for_any_text(notes_db, query):
    notes = NoteService.list_notes(notes_db, search=query)
    assert len(notes) <= app.FEED_PAGE_SIZE


def test_search_results_page_by_keyset(empty_db):
    for i in range(30):
        NoteService.create_note(empty_db, "alice", f"match number {i}")
    first = NoteService.list_notes(empty_db, search="match", limit=25)
    rest = NoteService.list_notes(empty_db, search="match", before=first[-1].rowid)
    assert len(first) == 25 and len(rest) == 5
    assert set(ids(first)).isdisjoint(ids(rest))
    assert NoteService.list_notes(empty_db, search="match", after=rest[0].rowid) == first


def test_tags_are_extracted_lower_cased_and_deduplicated():
    assert extract_tags("#TIL: #python, #Python and a#b, # heading, #1, url/#frag") == [
        "til",
        "python",
    ]


def test_the_tag_filter_follows_creates_updates_and_deletes(notes_db):
    assert ids(NoteService.list_notes(notes_db, tag="python")) == [6, 3]
    NoteService.update_note(notes_db, 6, "bob", "no tags any more")
    NoteService.delete_note(notes_db, 3)
    assert NoteService.list_notes(notes_db, tag="python") == []
    assert ids(NoteService.list_notes(notes_db, tag="GARDEN")) == [5]


def test_the_author_filter_shows_only_their_notes(notes_db):
    assert ids(NoteService.list_notes(notes_db, author="alice")) == [5, 2]
    assert ids(NoteService.list_notes(notes_db, author="alice", search="garden")) == [5]
    assert ids(NoteService.list_notes(notes_db, author="bob", tag="python", search="tip")) == [6]


def test_listing_an_author_or_a_tag_uses_an_index_not_a_scan(fresh_db):
    for sql, params in [
        ("SELECT id FROM notes WHERE username = ? AND id < ? ORDER BY id DESC LIMIT 25", ("a", 9)),
        (
            "SELECT notes.id FROM note_tags JOIN notes ON notes.id = note_tags.note_id"
            " WHERE note_tags.tag = ? AND note_tags.note_id < ? ORDER BY note_tags.note_id DESC",
            ("t", 9),
        ),
    ]:
        plan = " ".join(row[-1] for row in fresh_db.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert "SCAN" not in plan.replace("SCAN notes_fts", "") and "TEMP B-TREE" not in plan


def _counts_by_query(conn) -> dict[str, int]:
    rows = conn.execute("SELECT username, count(*) FROM notes GROUP BY username").fetchall()
    return {"": sum(n for _, n in rows), **dict(rows)}


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(["create", "update", "delete"]), st.sampled_from("abc")),
        max_size=25,
    )
)
def test_maintained_counts_always_equal_a_full_count(empty_db, steps):
    empty_db.execute("DELETE FROM notes")
    for action, username in steps:
        newest = NoteService.list_notes(empty_db, limit=1)
        if action == "create" or not newest:
            NoteService.create_note(empty_db, username, "note")
        elif action == "update":
            NoteService.update_note(empty_db, newest[0].rowid, username, "edited")
        else:
            NoteService.delete_note(empty_db, newest[0].rowid)
    stored = dict(empty_db.execute("SELECT username, notes FROM note_counts").fetchall())
    assert stored == _counts_by_query(empty_db)
    assert NoteService.count_notes(empty_db) == stored[""]


def test_a_version_1_database_gains_search_tags_and_counts(db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    app._migrate_to_v1(conn)
    conn.execute(
        "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
        " VALUES (1, 1, 'alice', 'old note about #gardening')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    upgraded = app.connect(db_path)
    assert ids(NoteService.list_notes(upgraded, search="garden")) == [2]
    assert ids(NoteService.list_notes(upgraded, tag="gardening")) == [2]
    assert NoteService.count_notes(upgraded) == 2
    assert NoteService.count_notes(upgraded, "alice") == 1


def test_the_seed_command_adds_realistic_notes_quickly(db_path):
    result = subprocess.run(
        [sys.executable, APP_FILE, "--db", str(db_path), "seed", "--count", "500"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "added 500 notes" in result.stdout
    conn = app.connect(db_path)
    assert NoteService.count_notes(conn) == 501
    assert len(conn.execute("SELECT DISTINCT username FROM notes").fetchall()) > 100
    assert conn.execute("SELECT count(*) FROM note_tags").fetchone()[0] > 100
    assert NoteService.list_notes(conn, search="coffee")
    assert dict(conn.execute("SELECT username, notes FROM note_counts")) == _counts_by_query(conn)
    stats = subprocess.run(
        [sys.executable, APP_FILE, "--db", str(db_path), "stats"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "501 notes" in stats.stdout


def test_the_command_line_reports_a_bad_database_without_a_traceback(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"garbage" * 1000)
    result = subprocess.run(
        [sys.executable, APP_FILE, "--db", str(bad), "stats"], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: " + app.MSG_DB_NOT_A_DATABASE.format(name="notes.db")
