"""NoteService and open_database() against a real database: a SQLite file and a real
PostgreSQL server (every test taking fresh_db, empty_db or seeded_db runs on both);
then what only SQLite has (files, locks, WAL) and what only PostgreSQL has."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from contextlib import closing

import psycopg
import pytest

import app
from app import InvalidNoteError, Note, NoteNotFoundError, NoteService, StorageError
from tests.conftest import (
    all_notes,
    query_plan,
    sent_to_postgresql,
    sql,
    statements_of,
    stored_rows,
)

DATABASE_NOW = {
    "sqlite": "SELECT unixepoch() AS now",
    "postgresql": "SELECT CAST(extract(epoch FROM now()) AS bigint) AS now",
}


def insert_row(db, username, body) -> None:
    """INSERT a note past NoteService, as a script would (on PostgreSQL with the tags
    and words the app would compute: none, so that only the CHECKs are tested)."""
    columns, values = "created_timestamp, updated_timestamp, username, body", "1, 1, ?, ?"
    params: tuple = (username, body)
    if app._dialect(db) == "postgresql":
        columns = f"{columns}, tags, words"
        values = f"{values}, ?, array_to_tsvector(CAST(? AS text[]))"
        params = (*params, [], [])
    sql(db, f"INSERT INTO notes ({columns}) VALUES ({values})", params)


def test_a_new_database_holds_the_welcome_note_only(fresh_db, db_target):
    [note] = all_notes(fresh_db)
    assert (note.id, note.username, note.body) == (1, app.WELCOME_USERNAME, app.WELCOME_BODY)
    assert stored_rows(db_target) == [
        (1, note.created_timestamp, note.created_timestamp, app.WELCOME_USERNAME, app.WELCOME_BODY)
    ]


def test_the_welcome_note_is_not_inserted_again_on_restart(empty_db, db_target):
    empty_db.close()
    app.open_database(db_target).close()
    assert stored_rows(db_target) == []


def test_create_note_returns_the_stored_note(empty_db):
    note = NoteService.create_note(empty_db, " alice ", "  hello **world**\n", now=1_700_000_000)
    assert note == Note(1_700_000_000, 1_700_000_000, "alice", "hello **world**", 2)
    assert stored_rows(empty_db) == [(2, 1_700_000_000, 1_700_000_000, "alice", "hello **world**")]


def test_create_note_refuses_a_bad_note_and_writes_nothing(seeded_db):
    before = stored_rows(seeded_db)
    with pytest.raises(InvalidNoteError, match="60 over"):
        NoteService.create_note(seeded_db, "alice", "x" * 200)
    assert stored_rows(seeded_db) == before


def test_list_notes_is_newest_first(seeded_db):
    notes = NoteService.list_notes(seeded_db)
    assert [n.body for n in notes] == ["third note", "second note", "first **note**"]


def test_list_notes_pages_by_keyset(seeded_db):
    assert [n.id for n in NoteService.list_notes(seeded_db, limit=2)] == [4, 3]
    assert [n.id for n in NoteService.list_notes(seeded_db, limit=2, before=3)] == [2]
    assert [n.id for n in NoteService.list_notes(seeded_db, limit=2, after=2)] == [4, 3]
    assert NoteService.list_notes(seeded_db, limit=2, before=2) == []


def test_get_note_returns_the_note_or_raises_not_found(seeded_db):
    assert NoteService.get_note(seeded_db, 3).body == "second note"
    with pytest.raises(NoteNotFoundError, match=r"^Note #99 does not exist"):
        NoteService.get_note(seeded_db, 99)


def test_update_note_moves_updated_but_not_created(seeded_db):
    original = NoteService.get_note(seeded_db, 3)
    updated = NoteService.update_note(seeded_db, 3, "bobby", "second, edited", now=1_800_000_000)
    assert updated == Note(
        original.created_timestamp, 1_800_000_000, "bobby", "second, edited", 3, 2
    )
    assert updated.edited and not original.edited
    assert stored_rows(seeded_db)[1] == (
        3,
        original.created_timestamp,
        1_800_000_000,
        "bobby",
        "second, edited",
    )


def test_update_of_a_missing_note_raises_not_found_and_writes_nothing(seeded_db):
    before = stored_rows(seeded_db)
    with pytest.raises(NoteNotFoundError, match="#42"):
        NoteService.update_note(seeded_db, 42, "alice", "hello")
    assert stored_rows(seeded_db) == before


def test_update_refuses_a_bad_note_and_keeps_the_old_one(seeded_db):
    before = stored_rows(seeded_db)
    with pytest.raises(InvalidNoteError):
        NoteService.update_note(seeded_db, 3, "bob", "   ")
    assert stored_rows(seeded_db) == before


def test_delete_note_removes_it_and_returns_what_it_was(seeded_db):
    deleted = NoteService.delete_note(seeded_db, 3)
    assert deleted.body == "second note"
    assert [row[0] for row in stored_rows(seeded_db)] == [2, 4]
    with pytest.raises(NoteNotFoundError):
        NoteService.delete_note(seeded_db, 3)


def test_count_notes_counts_every_note(seeded_db):
    assert NoteService.count_notes(seeded_db) == 3
    NoteService.delete_note(seeded_db, 2)
    assert NoteService.count_notes(seeded_db) == 2


def test_a_deleted_notes_number_is_never_reused(seeded_db):
    NoteService.delete_note(seeded_db, 4)
    assert NoteService.create_note(seeded_db, "carol", "new").id == 5


def test_timestamps_are_utc_epoch_seconds_whatever_the_hosts_time_zone(empty_db, monkeypatch):
    for zone in ["Pacific/Kiritimati", "America/St_Johns", "UTC"]:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        note = NoteService.create_note(empty_db, "alice", f"written in {zone}")
        # The database's own clock, read independently of Python's time module, in UTC.
        [row] = sql(empty_db, DATABASE_NOW[app._dialect(empty_db)])
        assert abs(note.created_timestamp - row["now"]) <= 2
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("username", "body"),
    [
        ("alice", "x" * (app.CODE_POINT_LIMIT + 1)),
        ("alice", ""),
        ("alice", " padded "),
        ("alice", "nul\x00"),
        ("alice", "bell\x07"),
        ("alice", "lone\rreturn"),
        ("alice", "escape\x1b"),
        ("alice", "delete\x7f"),
        ("tab\tname", "hello"),
        ("", "hello"),
        ("two\nlines", "hello"),
        ("u" * (app.CODE_POINT_LIMIT + 1), "hello"),
        ("alice", "Invoice \u202efdp.exe"),
        ("ev\u2066e", "hello"),
        ("alice", b"a blob, not text"),
    ],
)
def test_the_schema_refuses_what_the_validator_refuses(fresh_db, username, body):
    """A row written past the app (a script, a hand-edit) meets the same rules. PostgreSQL
    refuses a NUL or bytes by type before any CHECK: a StorageError, not a CHECK's."""
    if app._dialect(fresh_db) == "postgresql" and isinstance(body, bytes):
        # PostgreSQL turns any value into text on assignment: bytes arrive as hex text.
        insert_row(fresh_db, username, body)
        assert stored_rows(fresh_db)[-1][4] == "\\x" + body.hex()
        return
    refusal = app.InvalidNoteError
    if app._dialect(fresh_db) == "postgresql" and "\x00" in body:
        refusal = app.StorageError  # PostgreSQL text cannot hold NUL at all
    with pytest.raises(refusal):
        insert_row(fresh_db, username, body)


def test_the_schema_refuses_an_update_earlier_than_creation(fresh_db):
    with pytest.raises(app.InvalidNoteError):
        sql(fresh_db, "UPDATE notes SET updated_timestamp = created_timestamp - 1")


def test_the_sqlite_file_is_in_wal_mode_with_a_busy_timeout_and_current_schema(sqlite_db):
    assert sqlite_db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert sqlite_db.execute("PRAGMA busy_timeout").fetchone() == (int(app.BUSY_TIMEOUT_S * 1000),)
    assert sqlite_db.execute("PRAGMA user_version").fetchone() == (app.SCHEMA_VERSION,)


def test_postgresql_records_the_schema_version_in_the_database(pg_db):
    assert sql(pg_db, "SELECT version FROM notes_schema") == [{"version": app.SCHEMA_VERSION}]


def test_newest_first_listing_needs_no_sort(sqlite_db):
    [(statement, params)] = statements_of(
        sqlite_db, lambda: NoteService.list_notes(sqlite_db, before=9)
    )
    plan = query_plan(sqlite_db, statement, params)
    assert "USING INTEGER PRIMARY KEY" in plan and "TEMP B-TREE" not in plan


def test_newest_first_listing_on_postgresql_walks_the_primary_key_backwards(pg_db, monkeypatch):
    app.seed_notes(pg_db, 2000)
    sql(pg_db, "ANALYZE notes")
    [(listing, params)] = sent_to_postgresql(  # what list_notes really sends, traced
        monkeypatch, lambda: NoteService.list_notes(pg_db, before=1500)
    )
    rows = sql(pg_db, f"EXPLAIN {listing}", params)
    plan = " ".join(row["QUERY PLAN"] for row in rows)
    assert "Index Scan Backward using notes_pkey" in plan and "Sort" not in plan


def test_eight_threads_writing_at_once_lose_nothing(db_target, monkeypatch):
    """The app's own getter, from 8 threads: every acknowledged note is stored once."""
    if app.is_database_url(db_target):
        monkeypatch.setenv("NOTES_DATABASE_URL", str(db_target))
    else:
        monkeypatch.setenv("NOTES_DB", str(db_target))
    per_thread, errors, acknowledged = 40, [], []
    lock = threading.Lock()
    start = threading.Barrier(8, timeout=60)  # a thread that fails to connect breaks it

    def writer(n: int) -> None:
        try:
            conn = app.get_connection()  # eight first connections to a new file at once
        except Exception as error:
            errors.append(error)
            start.abort()
            return
        try:
            start.wait()
        except threading.BrokenBarrierError:
            return
        for i in range(per_thread):
            try:
                note = NoteService.create_note(conn, f"writer{n}", f"note {n}-{i}")
                if i % 4 == 0:
                    NoteService.update_note(conn, note.id, f"writer{n}", f"note {n}-{i}!")
            except Exception as error:  # collected, then asserted empty
                errors.append(error)
            else:
                with lock:
                    acknowledged.append(note.id)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = stored_rows(db_target)
    bodies = {row[4] for row in rows}
    assert len(rows) == 1 + 8 * per_thread == 1 + len(acknowledged)
    for n in range(8):
        for i in range(per_thread):
            assert (f"note {n}-{i}!" if i % 4 == 0 else f"note {n}-{i}") in bodies


def test_each_thread_gets_its_own_connection(db_path, monkeypatch):
    monkeypatch.setenv("NOTES_DB", str(db_path))
    seen = []
    thread = threading.Thread(target=lambda: seen.append(app.get_connection()))
    thread.start()
    thread.join()
    assert app.get_connection() is app.get_connection()
    assert seen[0] is not app.get_connection()


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(
        StorageError, match=re.escape("'notes.db' cannot be opened: its folder is missing")
    ):
        app.connect(tmp_path / "no" / "such" / "folder" / "notes.db")


def test_a_file_that_is_not_a_database_is_a_clear_error_and_is_left_alone(tmp_path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is a shopping list, not a database\n" * 100)
    with pytest.raises(StorageError, match="is not a notes database"):
        app.connect(path)
    assert path.read_bytes() == b"this is a shopping list, not a database\n" * 100


def test_a_database_locked_past_the_timeout_is_a_clear_error_and_nothing_is_written(
    db_path, monkeypatch
):
    monkeypatch.setattr(app, "BUSY_TIMEOUT_S", 0.2)
    conn = app.connect(db_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError, match="The database is busy"):
            NoteService.create_note(conn, "alice", "waiting")
    finally:
        holder.execute("ROLLBACK")
    assert [row[4] for row in stored_rows(db_path)] == [app.WELCOME_BODY]
    assert NoteService.create_note(conn, "alice", "after the lock").id == 2


def test_a_read_only_database_is_a_clear_error_and_reads_still_work(sqlite_db):
    sqlite_db.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError, match=app.MSG_DB_READ_ONLY):
        NoteService.create_note(sqlite_db, "alice", "hello")
    assert NoteService.count_notes(sqlite_db) == 1


def test_a_read_only_postgresql_database_is_a_clear_error_and_reads_still_work(
    pg_cluster, pg_database
):
    name = pg_database.rsplit("/", 1)[1]
    db = app.open_database(pg_database)
    pg_cluster.admin(f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    db.pool.drain()  # connections opened from now on see the setting
    with pytest.raises(StorageError, match=app.MSG_DB_READ_ONLY):
        NoteService.create_note(db, "alice", "hello")
    assert NoteService.count_notes(db) == 1
    db.close()


def test_a_failed_write_leaves_no_open_transaction(sqlite_db):
    sqlite_db.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError):
        NoteService.delete_note(sqlite_db, 1)
    assert not sqlite_db.in_transaction


def test_threads_of_one_process_queue_for_writes_on_one_lock_per_file(db_path, tmp_path):
    assert app.connect(db_path).write_queue is app.connect(db_path).write_queue
    assert app.connect(db_path).write_queue is not app.connect(tmp_path / "other.db").write_queue


def test_a_write_queued_past_the_timeout_is_a_clear_error(sqlite_db, monkeypatch):
    monkeypatch.setattr(app, "BUSY_TIMEOUT_S", 0.2)
    sqlite_db.write_queue.acquire()  # another thread of this process is writing, for too long
    try:
        with pytest.raises(StorageError, match="The database is busy"):
            NoteService.create_note(sqlite_db, "alice", "waiting")
    finally:
        sqlite_db.write_queue.release()
    assert len(stored_rows(sqlite_db)) == 1


def test_the_schema_accepts_tabs_newlines_and_emoji_inside_a_body(fresh_db):
    body = "- one\n- two\n\tindented é🙂 \U0001f469\u200d\U0001f4bb"
    insert_row(fresh_db, "zoë", body)
    assert stored_rows(fresh_db)[-1] == (2, 1, 1, "zoë", body)


def test_a_listing_takes_before_or_after_not_both(seeded_db):
    for kwargs in ({}, {"search": "note"}, {"search": "!!"}, {"author": "bob"}, {"tag": "x"}):
        with pytest.raises(ValueError, match="not both"):
            NoteService.list_notes(seeded_db, before=4, after=2, **kwargs)
    with pytest.raises(ValueError, match="not both"):
        NoteService.list_trash(seeded_db, before=4, after=2)


def test_notes_are_read_by_column_name_not_position(seeded_db):
    [row] = app._read(
        seeded_db,
        "SELECT editor_issuer, editor_subject, editor, owner_issuer, owner_subject, version,"
        " body, id, username, updated_timestamp, created_timestamp FROM notes WHERE id = 3",
    )
    assert app._note(row) == NoteService.get_note(seeded_db, 3)


def test_tags_follow_a_note_whatever_writes_it_on_sqlite(sqlite_db):
    """Triggers keep the tags, so an INSERT that bypasses NoteService still files them."""
    sqlite_db.execute(
        "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
        " VALUES (1, 1, 'script', 'from a #Script with #tags')"
    )
    assert [n.id for n in NoteService.list_notes(sqlite_db, tag="script")] == [2]
    sqlite_db.execute("UPDATE notes SET body = 'no tags now' WHERE id = 2")
    assert NoteService.list_notes(sqlite_db, tag="script") == []


def test_postgresql_refuses_a_note_written_without_its_tags(pg_db):
    """PostgreSQL takes tags from the app (its regexes follow the server's locale): a
    writer that bypasses NoteService and forgets them is refused, never filed wrong."""
    with pytest.raises(app.InvalidNoteError, match="tags"):
        sql(
            pg_db,
            "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
            " VALUES (1, 1, 'script', 'from a #Script')",
        )
    assert NoteService.count_notes(pg_db) == 1


def test_tags_are_the_apps_rule_on_every_backend(fresh_db):
    body = "#Café and #日本 and #x_y-z but not a#b, &#39; or http://x/#frag #2"
    note = NoteService.create_note(fresh_db, "zoë", body)
    for tag in app.extract_tags(body):
        assert [n.id for n in NoteService.list_notes(fresh_db, tag=tag)] == [note.id]
    assert app.extract_tags(body) == ["café", "日本", "x_y-z"]
    NoteService.update_note(fresh_db, note.id, "zoë", "now #other")
    assert NoteService.list_notes(fresh_db, tag="café") == []
    assert [n.id for n in NoteService.list_notes(fresh_db, tag="other")] == [note.id]


def test_a_database_from_a_newer_app_is_refused_and_not_written(fresh_db, db_target):
    if app._dialect(fresh_db) == "postgresql":
        sql(fresh_db, "UPDATE notes_schema SET version = ?", (app.SCHEMA_VERSION + 1,))
    else:
        fresh_db.execute(f"PRAGMA user_version = {app.SCHEMA_VERSION + 1}")
    fresh_db.close()
    before = stored_rows(db_target)
    with pytest.raises(StorageError, match="written by a newer Littlest Notes"):
        app.open_database(db_target)
    assert stored_rows(db_target) == before


def test_another_apps_postgresql_notes_table_is_refused_and_left_alone(pg_database):
    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("CREATE TABLE notes (id serial PRIMARY KEY, text text)")
        conn.execute("INSERT INTO notes (text) VALUES ('theirs')")
    with pytest.raises(StorageError, match="is not a notes database"):
        app.open_database(pg_database)
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT text FROM notes").fetchall() == [("theirs",)]
        assert conn.execute("SELECT to_regclass('notes_schema')").fetchone() == (None,)


def test_another_apps_sqlite_file_is_refused_and_left_alone(tmp_path):
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
        conn.commit()
    before = other.read_bytes()
    with pytest.raises(StorageError, match="is not a notes database"):
        app.connect(other)
    assert other.read_bytes() == before


def test_a_read_only_connection_never_creates_or_migrates(tmp_path, seed_schema_db):
    with pytest.raises(StorageError, match="There is no notes database"):
        app.connect(tmp_path / "missing.db", read_only=True)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(StorageError, match="older Littlest Notes"):
        app.connect(seed_schema_db, read_only=True)
    with closing(sqlite3.connect(seed_schema_db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (0,)


def test_a_writer_without_the_apps_tag_function_is_refused_and_reads_still_work(sqlite_db, db_path):
    """The sqlite3 shell, say: it cannot file tags, so it may not write notes at all."""
    sqlite_db.close()
    with closing(sqlite3.connect(db_path)) as other:
        for body in ("about #cats", "no tags here"):
            with pytest.raises(sqlite3.OperationalError, match="no such function: note_tags_of"):
                other.execute(
                    "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
                    " VALUES (1, 1, 'shell', ?)",
                    (body,),
                )
        assert other.execute("SELECT username FROM notes").fetchall() == [(app.WELCOME_USERNAME,)]
