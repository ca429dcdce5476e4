"""Opening a notes.db made by the seed's original schema upgrades it in place."""

from __future__ import annotations

import sqlite3

import app
from app import NoteService
from tests.conftest import stored_rows


def test_every_seed_row_and_rowid_is_kept(seed_schema_db):
    app.connect(seed_schema_db).close()
    assert stored_rows(seed_schema_db) == [
        (1, 1_600_000_000, 1_600_000_000, "Littlest Notes", "Welcome!"),
        (3, 1_600_000_100, 1_600_000_500, "alice", "edited **once**"),
        (7, 1_600_000_200, 1_600_000_200, "bob", "float stamps\nsecond line"),
    ]


def test_an_upgraded_database_gets_no_welcome_note_and_the_current_schema(seed_schema_db):
    conn = app.connect(seed_schema_db)
    assert NoteService.count_notes(conn) == 3
    assert conn.execute("PRAGMA user_version").fetchone() == (app.SCHEMA_VERSION,)
    columns = [row[1] for row in conn.execute("PRAGMA table_info(notes)")]
    assert columns == [
        "id",
        "created_timestamp",
        "updated_timestamp",
        "username",
        "body",
        "version",
        "owner_subject",
        "owner_issuer",
        "editor",
        "editor_subject",
        "editor_issuer",
    ]


def test_new_notes_after_the_upgrade_never_reuse_an_old_number(seed_schema_db):
    conn = app.connect(seed_schema_db)
    NoteService.delete_note(conn, 7)
    assert NoteService.create_note(conn, "carol", "after the upgrade").id == 8


def test_a_seed_row_that_breaks_todays_rules_is_kept_aside_not_dropped(seed_schema_db):
    with sqlite3.connect(seed_schema_db) as conn:
        conn.execute(
            "INSERT INTO notes (rowid, created_timestamp, updated_timestamp, username, body)"
            " VALUES (9, 1600000300, 1600000300, 'eve', ?)",
            ("z" * 300,),
        )
    conn = app.connect(seed_schema_db)
    assert [row[0] for row in stored_rows(seed_schema_db)] == [1, 3, 7]
    rejected = conn.execute(
        "SELECT rowid_was, username, body, reason FROM legacy_rejected_notes"
    ).fetchall()
    assert rejected == [
        (9, "eve", "z" * 300, "Note is 300 characters; the limit is 140 (160 over).")
    ]


def test_opening_an_upgraded_database_again_changes_nothing(seed_schema_db):
    app.connect(seed_schema_db).close()
    before = stored_rows(seed_schema_db)
    app.connect(seed_schema_db).close()
    assert stored_rows(seed_schema_db) == before
