"""NoteService and connect() against a real SQLite file."""

from __future__ import annotations

import re
import sqlite3
import threading
import time

import pytest

import app
from app import InvalidNoteError, Note, NoteNotFoundError, NoteService, StorageError
from tests.conftest import stored_rows


def test_a_new_database_holds_the_welcome_note_only(fresh_db, db_path):
    [note] = NoteService.list_all_notes(fresh_db)
    assert (note.rowid, note.username, note.body) == (1, app.WELCOME_USERNAME, app.WELCOME_BODY)
    assert stored_rows(db_path) == [
        (1, note.created_timestamp, note.created_timestamp, app.WELCOME_USERNAME, app.WELCOME_BODY)
    ]


def test_the_welcome_note_is_not_inserted_again_on_restart(empty_db, db_path):
    empty_db.close()
    app.connect(db_path).close()
    assert stored_rows(db_path) == []


def test_create_note_returns_the_stored_note(empty_db, db_path):
    note = NoteService.create_note(empty_db, " alice ", "  hello **world**\n", now=1_700_000_000)
    assert note == Note(1_700_000_000, 1_700_000_000, "alice", "hello **world**", 2)
    assert stored_rows(db_path) == [(2, 1_700_000_000, 1_700_000_000, "alice", "hello **world**")]


def test_create_note_refuses_a_bad_note_and_writes_nothing(seeded_db, db_path):
    before = stored_rows(db_path)
    with pytest.raises(InvalidNoteError, match="60 over"):
        NoteService.create_note(seeded_db, "alice", "x" * 200)
    assert stored_rows(db_path) == before


def test_list_all_notes_is_newest_first(seeded_db):
    notes = NoteService.list_all_notes(seeded_db)
    assert [n.body for n in notes] == ["third note", "second note", "first **note**"]


def test_list_notes_pages_by_keyset(seeded_db):
    assert [n.rowid for n in NoteService.list_notes(seeded_db, limit=2)] == [4, 3]
    assert [n.rowid for n in NoteService.list_notes(seeded_db, limit=2, before=3)] == [2]
    assert [n.rowid for n in NoteService.list_notes(seeded_db, limit=2, after=2)] == [4, 3]
    assert NoteService.list_notes(seeded_db, limit=2, before=2) == []


def test_get_note_returns_the_note_or_raises_not_found(seeded_db):
    assert NoteService.get_note(seeded_db, 3).body == "second note"
    with pytest.raises(NoteNotFoundError, match=r"^Note #99 does not exist"):
        NoteService.get_note(seeded_db, 99)


def test_update_note_moves_updated_but_not_created(seeded_db, db_path):
    original = NoteService.get_note(seeded_db, 3)
    updated = NoteService.update_note(seeded_db, 3, "bobby", "second, edited", now=1_800_000_000)
    assert updated == Note(
        original.created_timestamp, 1_800_000_000, "bobby", "second, edited", 3, 2
    )
    assert updated.edited and not original.edited
    assert stored_rows(db_path)[1] == (
        3,
        original.created_timestamp,
        1_800_000_000,
        "bobby",
        "second, edited",
    )


def test_update_of_a_missing_note_raises_not_found_and_writes_nothing(seeded_db, db_path):
    before = stored_rows(db_path)
    with pytest.raises(NoteNotFoundError, match="#42"):
        NoteService.update_note(seeded_db, 42, "alice", "hello")
    assert stored_rows(db_path) == before


def test_update_refuses_a_bad_note_and_keeps_the_old_one(seeded_db, db_path):
    before = stored_rows(db_path)
    with pytest.raises(InvalidNoteError):
        NoteService.update_note(seeded_db, 3, "bob", "   ")
    assert stored_rows(db_path) == before


def test_delete_note_removes_it_and_returns_what_it_was(seeded_db, db_path):
    deleted = NoteService.delete_note(seeded_db, 3)
    assert deleted.body == "second note"
    assert [row[0] for row in stored_rows(db_path)] == [2, 4]
    with pytest.raises(NoteNotFoundError):
        NoteService.delete_note(seeded_db, 3)


def test_count_notes_counts_every_note(seeded_db):
    assert NoteService.count_notes(seeded_db) == 3
    NoteService.delete_note(seeded_db, 2)
    assert NoteService.count_notes(seeded_db) == 2


def test_a_deleted_notes_number_is_never_reused(seeded_db):
    NoteService.delete_note(seeded_db, 4)
    assert NoteService.create_note(seeded_db, "carol", "new").rowid == 5


def test_timestamps_are_utc_epoch_seconds_whatever_the_hosts_time_zone(empty_db, monkeypatch):
    for zone in ["Pacific/Kiritimati", "America/St_Johns", "UTC"]:
        monkeypatch.setenv("TZ", zone)
        time.tzset()
        expected = int(time.time())
        note = NoteService.create_note(empty_db, "alice", f"written in {zone}")
        assert abs(note.created_timestamp - expected) <= 2
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("username", "body"),
    [
        ("alice", "x" * 141),
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
        ("u" * 141, "hello"),
        ("alice", b"a blob, not text"),
    ],
)
def test_the_schema_refuses_what_the_validator_refuses(fresh_db, username, body):
    with pytest.raises(sqlite3.IntegrityError):
        fresh_db.execute(
            "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
            " VALUES (1, 1, ?, ?)",
            (username, body),
        )


def test_the_schema_refuses_an_update_earlier_than_creation(fresh_db):
    with pytest.raises(sqlite3.IntegrityError):
        fresh_db.execute("UPDATE notes SET updated_timestamp = created_timestamp - 1")


def test_the_database_is_in_wal_mode_with_a_busy_timeout_and_current_schema(fresh_db):
    assert fresh_db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert fresh_db.execute("PRAGMA busy_timeout").fetchone() == (int(app.BUSY_TIMEOUT_S * 1000),)
    assert fresh_db.execute("PRAGMA user_version").fetchone() == (app.SCHEMA_VERSION,)


def test_newest_first_listing_needs_no_sort(fresh_db):
    plan = " ".join(
        row[-1]
        for row in fresh_db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM notes WHERE id < ? ORDER BY id DESC LIMIT 25", (9,)
        )
    )
    assert "USING INTEGER PRIMARY KEY" in plan and "TEMP B-TREE" not in plan


def test_eight_threads_writing_at_once_lose_nothing(db_path, monkeypatch):
    """The app's own getter, from 8 threads: every acknowledged note is stored once."""
    monkeypatch.setenv("NOTES_DB", str(db_path))
    per_thread, errors, acknowledged = 40, [], []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def writer(n: int) -> None:
        conn = app.get_connection()
        start.wait()
        for i in range(per_thread):
            try:
                note = NoteService.create_note(conn, f"writer{n}", f"note {n}-{i}")
                if i % 4 == 0:
                    NoteService.update_note(conn, note.rowid, f"writer{n}", f"note {n}-{i}!")
            except Exception as error:  # collected, then asserted empty
                errors.append(error)
            else:
                with lock:
                    acknowledged.append(note.rowid)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = stored_rows(db_path)
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
    assert NoteService.create_note(conn, "alice", "after the lock").rowid == 2


def test_a_read_only_database_is_a_clear_error_and_reads_still_work(fresh_db):
    fresh_db.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError, match=app.MSG_DB_READ_ONLY):
        NoteService.create_note(fresh_db, "alice", "hello")
    assert NoteService.count_notes(fresh_db) == 1


def test_a_failed_write_leaves_no_open_transaction(fresh_db):
    fresh_db.execute("PRAGMA query_only = ON")
    with pytest.raises(StorageError):
        NoteService.delete_note(fresh_db, 1)
    assert not fresh_db.in_transaction


def test_threads_of_one_process_queue_for_writes_on_one_lock_per_file(db_path, tmp_path):
    assert app.connect(db_path).write_queue is app.connect(db_path).write_queue
    assert app.connect(db_path).write_queue is not app.connect(tmp_path / "other.db").write_queue


def test_a_write_queued_past_the_timeout_is_a_clear_error(fresh_db, db_path, monkeypatch):
    monkeypatch.setattr(app, "BUSY_TIMEOUT_S", 0.2)
    fresh_db.write_queue.acquire()  # another thread of this process is writing, for too long
    try:
        with pytest.raises(StorageError, match="The database is busy"):
            NoteService.create_note(fresh_db, "alice", "waiting")
    finally:
        fresh_db.write_queue.release()
    assert len(stored_rows(db_path)) == 1


def test_the_schema_accepts_tabs_and_newlines_inside_a_body(fresh_db):
    fresh_db.execute(
        "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
        " VALUES (1, 1, 'zoë', ?)",
        ("- one\n- two\n\tindented é🙂",),
    )
