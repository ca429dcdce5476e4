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


ALICE = app.Actor(name="Alice", subject="alice", issuer="https://id.example.com")


def _upgraded_keeps_notes_and_records_identities(conn) -> None:
    """After the upgrade to version 5, old notes and history are intact and belong to
    open mode, and new writes record who made them."""
    old = NoteService.get_note(conn, 2)
    assert (old.body, old.version, old.owner_subject, old.made_by) == ("edited", 2, None, "bob")
    [first] = NoteService.note_history(conn, 2)
    assert (first.body, first.made_by) == ("written in version 4", "bob")
    mine = NoteService.create_note(conn, "", "signed in after the upgrade", actor=ALICE)
    assert mine.id == 3 and mine.owner_subject == "alice"
    admin = app.Actor(name="Root", subject="root", issuer="https://id.example.com", admin=True)
    NoteService.update_note(conn, 2, "", "moderated", actor=admin)
    assert [v.made_by for v in NoteService.note_history(conn, 2)] == ["bob", "bob"]
    assert NoteService.get_note(conn, 2).made_by == "Root"


def test_a_version_4_sqlite_database_is_upgraded_to_5(db_path):
    """A notes.db of the previous release (schema 4), made by version 4's own steps."""
    conn = sqlite3.connect(db_path)
    conn.create_function("note_tags_of", 1, app._note_tags_json, deterministic=True)
    with conn:
        for step in app._MIGRATIONS[:4]:
            step(conn)
        conn.execute("PRAGMA user_version = 4")
        conn.execute(
            "INSERT INTO notes (id, created_timestamp, updated_timestamp, username, body)"
            " VALUES (2, 1, 1, 'bob', 'written in version 4')"
        )
        conn.execute("UPDATE notes SET body = 'edited', version = 2 WHERE id = 2")
    conn.close()
    upgraded = app.connect(db_path)
    assert upgraded.execute("PRAGMA user_version").fetchone() == (app.SCHEMA_VERSION,)
    _upgraded_keeps_notes_and_records_identities(upgraded)


def test_a_version_4_postgresql_database_is_upgraded_to_5(pg_database):
    """A PostgreSQL feed of the previous release: made with version 4's statements."""
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        for statement in app._PG_SCHEMA_V4:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO notes (id, created_timestamp, updated_timestamp, username, body, tags,"
            " words) VALUES (2, 1, 1, 'bob', 'written in version 4', '{}', '')"
        )
        conn.execute("UPDATE notes SET body = 'edited', version = 2 WHERE id = 2")
        conn.execute("SELECT setval(pg_get_serial_sequence('notes', 'id'), 2)")
    db = app.open_postgres(pg_database)
    assert app._read(db, "SELECT version FROM notes_schema") == [{"version": app.SCHEMA_VERSION}]
    _upgraded_keeps_notes_and_records_identities(db)


def _version_5_notes() -> list[tuple]:
    """Notes of a version 5 feed: (id, created, author, body), two in one hour."""
    return [
        (2, 1_700_000_000, "ann", "#til one #Idea"),
        (3, 1_700_000_100, "bob", "two #til"),
        (4, 1_700_090_000, "ann", "three"),
    ]


def _upgraded_counts_activity(db) -> None:
    """After the upgrade to version 6 the activity counts hold every old note, and keep
    counting."""
    activity = NoteService.activity(db, 1_699_000_000, 1_800_000_000)
    assert activity.hours == ((472_222, 2), (472_247, 1))
    assert activity.top_tags == (("til", 2), ("idea", 1))
    assert (activity.notes, activity.authors, activity.tags) == (3, 2, 2)
    assert app.check_database(db).problems == []
    NoteService.delete_note(db, 3)
    assert NoteService.activity(db, 1_699_000_000, 1_800_000_000).top_tags == (
        ("idea", 1),
        ("til", 1),
    )


def test_a_version_5_sqlite_database_is_upgraded_to_6_with_activity_counts(db_path):
    conn = sqlite3.connect(db_path)
    conn.create_function("note_tags_of", 1, app._note_tags_json, deterministic=True)
    with conn:
        for step in app._MIGRATIONS[:5]:
            step(conn)
        conn.execute("PRAGMA user_version = 5")
        conn.execute("DELETE FROM notes")
        conn.executemany(
            "INSERT INTO notes (id, created_timestamp, updated_timestamp, username, body)"
            " VALUES (?, ?, ?, ?, ?)",
            [(id, stamp, stamp, author, body) for id, stamp, author, body in _version_5_notes()],
        )
    conn.close()
    upgraded = app.connect(db_path)
    assert upgraded.execute("PRAGMA user_version").fetchone() == (app.SCHEMA_VERSION,)
    _upgraded_counts_activity(upgraded)


def test_a_version_5_postgresql_database_is_upgraded_to_6_with_activity_counts(pg_database):
    """A PostgreSQL feed of the previous release: made with version 4's and 5's statements."""
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        for statement in [*app._PG_SCHEMA_V4, *app._PG_V5]:
            conn.execute(statement)
        for id, stamp, author, body in _version_5_notes():
            conn.execute(
                "INSERT INTO notes (id, created_timestamp, updated_timestamp, username, body,"
                " tags, words) VALUES (%s, %s, %s, %s, %s, %s, '')",
                (id, stamp, stamp, author, body, app.extract_tags(body)),
            )
        conn.execute("SELECT setval(pg_get_serial_sequence('notes', 'id'), 4)")
    db = app.open_postgres(pg_database)
    assert app._read(db, "SELECT version FROM notes_schema") == [{"version": app.SCHEMA_VERSION}]
    _upgraded_counts_activity(db)
