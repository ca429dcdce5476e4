"""Schemas and upgrades: a new database has exactly the schema that replaying every
development version made (tests/schema_v7.json, described from commit fbf2aa5's new
databases); the tutorial's notes.db and version 6 are upgraded to it in place; a
development build's version (1-5) is refused with the commit that upgrades it."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

import app
from app import NoteService, StorageError
from tests.conftest import BOTH_BACKENDS, run_cli, stored_rows
from tests.schema_description import describe_postgresql, describe_sqlite

GOLDEN = json.loads((Path(__file__).parent / "schema_v7.json").read_text())
ALICE = app.Actor(name="Alice", subject="alice", issuer="https://id.example.com")


def schema_of(target) -> dict:
    """The description of the schema at target (a file path or a URL), as in GOLDEN."""
    if app.is_database_url(target):
        with psycopg.connect(str(target)) as conn:
            return describe_postgresql(conn)
    with closing(sqlite3.connect(target)) as conn:
        return describe_sqlite(conn)


@BOTH_BACKENDS
def test_a_new_database_has_exactly_the_schema_the_replay_of_every_version_made(
    fresh_db, db_target
):
    assert schema_of(db_target) == GOLDEN[app._dialect(fresh_db)]


# The tutorial's own notes.db (version 0: one notes table, an implicit rowid) ----------


def test_every_seed_row_and_rowid_is_kept(seed_schema_db):
    app.connect(seed_schema_db).close()
    assert stored_rows(seed_schema_db) == [
        (1, 1_600_000_000, 1_600_000_000, "Littlest Notes", "Welcome!"),
        (3, 1_600_000_100, 1_600_000_500, "alice", "edited **once**"),
        (7, 1_600_000_200, 1_600_000_200, "bob", "float stamps\nsecond line"),
    ]


def test_an_upgraded_seed_database_gets_no_welcome_note_and_todays_schema(seed_schema_db):
    conn = app.connect(seed_schema_db)
    assert NoteService.count_notes(conn) == 3
    assert conn.execute("PRAGMA user_version").fetchone() == (app.SCHEMA_VERSION,)
    described = schema_of(seed_schema_db)
    kept_aside = "legacy_rejected_notes"  # the one table a new database lacks
    assert described.pop(f"table {kept_aside}")
    described["objects"] = [entry for entry in described["objects"] if entry[1] != kept_aside]
    assert described == GOLDEN["sqlite"]


def test_an_upgraded_seed_database_is_searched_filtered_and_counted(seed_schema_db):
    with closing(sqlite3.connect(seed_schema_db)) as conn, conn:
        conn.execute(
            "INSERT INTO notes (rowid, created_timestamp, updated_timestamp, username, body)"
            " VALUES (9, 1600000300, 1600000300, 'alice', 'old note about #gardening')"
        )
    upgraded = app.connect(seed_schema_db)
    assert [n.id for n in NoteService.list_notes(upgraded, search="garden")] == [9]
    assert [n.id for n in NoteService.list_notes(upgraded, tag="gardening")] == [9]
    assert (NoteService.count_notes(upgraded), NoteService.count_notes(upgraded, "alice")) == (4, 2)
    activity = NoteService.activity(upgraded, 1_599_000_000, 1_700_000_000)
    assert activity.top_tags == (("gardening", 1),)
    assert sum(notes for _, notes in activity.hours) == 4
    assert app.check_database(upgraded).problems == []


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


# Version 6 -> 7 ---------------------------------------------------------------------

LONG = "a" * 200 + " #long"  # over version 7's limit of ASCII characters, fine in version 6
VERSION_7_ADDED = {  # what version 7 added to version 6, undone
    "sqlite": [
        "DROP TRIGGER notes_before_insert",
        "DROP TRIGGER notes_before_update",
        "DROP TABLE sign_outs",
        "PRAGMA user_version = 6",
    ],
    "postgresql": [
        "ALTER TABLE notes DROP CONSTRAINT notes_ascii_limit",
        "DROP TABLE sign_outs",
        "UPDATE notes_schema SET version = 6",
    ],
}


def _raw_note(body: str) -> dict:
    """A note for _insert_notes, which writes past the app's checks as another writer would."""
    return {"created_timestamp": 1_700_000_000, "updated_timestamp": 1_700_000_000,
            "username": "ann", "body": body}  # fmt: skip


def _make_version_6(db) -> None:
    """Turn a new database into one of version 6 with its notes: an edited one (2), a
    deleted one (4, the highest number) and one that version 7 would refuse (3)."""
    NoteService.create_note(db, "bob", "first #draft")
    NoteService.update_note(db, 2, "bob", "second")
    with app._write(db) as tx:
        for statement in VERSION_7_ADDED[app._dialect(db)]:
            app._execute(tx, statement)
        app._insert_notes(tx, [_raw_note(LONG), _raw_note("gone")])
        app._execute(tx, "DELETE FROM notes WHERE id = 4")
    db.close()


@BOTH_BACKENDS
def test_a_version_6_database_is_upgraded_to_7_keeping_its_notes(fresh_db, db_target):
    _make_version_6(fresh_db)
    with pytest.raises(StorageError, match=r"older Littlest Notes \(schema 6\)"):
        app.open_database(db_target, read_only=True)
    db = app.open_database(db_target)
    assert schema_of(db_target) == GOLDEN[app._dialect(db)]
    assert NoteService.get_note(db, 3).body == LONG  # written before the rule: left as it is
    assert [n.id for n in NoteService.list_notes(db, tag="long")] == [3]
    assert [v.body for v in NoteService.note_history(db, 2)] == ["first #draft"]
    assert app.check_database(db).problems == []
    with pytest.raises(app.InvalidNoteError), app._write(db) as tx:  # the rule, by the database
        app._insert_notes(tx, [_raw_note("b" * 200)])
    assert NoteService.create_note(db, "carol", "after the upgrade").id > 4  # 4 was used
    NoteService.record_sign_out(db, ALICE, 1_800_000_000)
    assert NoteService.signed_out_at(db, ALICE.issuer, ALICE.subject) == 1_800_000_000
    db.close()


# A development build's version: refused, naming the commit that upgrades it ----------


def _refusal(name: str, version: int) -> str:
    message = app.MSG_DB_DEVELOPMENT.format(name=name, version=version, oldest=6)
    assert "`git checkout fbf2aa5 && python app.py --db DATABASE migrate`" in message
    return message


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_a_sqlite_file_of_a_development_version_is_refused_and_left_alone(db_path, version):
    app.connect(db_path).close()
    with closing(sqlite3.connect(db_path)) as conn:
        conn.execute(f"PRAGMA user_version = {version}")
    before = db_path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(StorageError) as refused:
            app.connect(db_path, read_only=read_only)
        assert str(refused.value) == _refusal("notes.db", version)
    result = run_cli("--db", str(db_path), "migrate")
    assert result.returncode != 0
    assert result.stderr.strip() == f"error: {_refusal('notes.db', version)}"
    assert db_path.read_bytes() == before


@pytest.mark.parametrize("version", [4, 5])  # PostgreSQL began at version 4
def test_a_postgresql_database_of_a_development_version_is_refused_and_left_alone(
    pg_database, version
):
    app.open_postgres(pg_database).close()
    with psycopg.connect(pg_database) as conn:
        conn.execute("UPDATE notes_schema SET version = %s", (version,))
    before = schema_of(pg_database)
    for upgrade in (True, False):
        with pytest.raises(StorageError) as refused:
            app.open_postgres(pg_database, upgrade=upgrade)
        name = app._pg_url_parts(pg_database)[0]
        assert str(refused.value) == _refusal(name, version)
    assert schema_of(pg_database) == before
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT version FROM notes_schema").fetchall() == [(version,)]
