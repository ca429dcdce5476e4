"""Search, filters, tags, maintained counts and the command line (the feed at scale)."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app
from app import NoteService, extract_tags
from tests.conftest import query_plan, statements_of


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
    return [note.id for note in notes]


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
def test_any_text_searches_without_error_and_finds_only_notes_with_every_word(notes_db, query):
    found = NoteService.list_notes(notes_db, search=query)
    if query and not app.search_terms(query):
        assert found == []  # only symbols: nothing can match
    # The text is reduced to its words, every one of which must match: a word no note
    # has, first (only the first SEARCH_MAX_TERMS words count), leaves nothing.
    assert NoteService.list_notes(notes_db, search=f"zzzqqq {query}") == []
    stored = {note.id: note for note in NoteService.list_all_notes(notes_db)}
    assert [note.id for note in found] == sorted((n.id for n in found), reverse=True)
    assert all(stored[note.id] == note for note in found)


def test_search_results_page_by_keyset(empty_db):
    for i in range(30):
        NoteService.create_note(empty_db, "alice", f"match number {i}")
    first = NoteService.list_notes(empty_db, search="match", limit=25)
    rest = NoteService.list_notes(empty_db, search="match", before=first[-1].id)
    assert len(first) == 25 and len(rest) == 5
    assert set(ids(first)).isdisjoint(ids(rest))
    assert NoteService.list_notes(empty_db, search="match", after=rest[0].id) == first


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


@pytest.mark.parametrize(
    ("filters", "driver"),
    [
        ({}, "SEARCH n USING INTEGER PRIMARY KEY (rowid"),
        ({"author": "alice"}, "SEARCH n USING INDEX notes_by_author (username=? AND id"),
        ({"tag": "python"}, "SEARCH t USING PRIMARY KEY (tag=? AND id"),
        ({"tag": "python", "author": "bob"}, "SEARCH t USING PRIMARY KEY (tag=? AND id"),
        ({"search": "python"}, "SCAN notes_fts VIRTUAL TABLE INDEX"),
        ({"search": "python", "tag": "til", "author": "bob"}, "SCAN notes_fts VIRTUAL TABLE INDEX"),
    ],
)
@pytest.mark.parametrize("page", [{}, {"before": 5}, {"after": 2}])
def test_every_listing_is_driven_by_its_index_in_id_order_without_a_sort(
    notes_db, filters, driver, page
):
    """The plans of the statements list_notes really sends (traced), not of copies."""
    sent = statements_of(notes_db, lambda: NoteService.list_notes(notes_db, **filters, **page))
    assert len(sent) == 1
    plan = query_plan(notes_db, *sent[0])
    assert plan.startswith(driver)
    assert "TEMP B-TREE" not in plan


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
            NoteService.update_note(empty_db, newest[0].id, username, "edited")
        else:
            NoteService.delete_note(empty_db, newest[0].id)
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
