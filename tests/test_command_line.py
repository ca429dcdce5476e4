"""`python app.py ...`: seed, stats, backup, check, vacuum; every failure one line, no traceback."""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

import app
from app import NoteService
from tests.conftest import all_notes, run_cli, stored_rows


@pytest.fixture
def backend() -> str:
    """These commands are about files (SQLite); tests/test_copy.py runs them on PostgreSQL."""
    return "sqlite"


def assert_one_line_error(result, message: str | None = None) -> None:
    """The command failed with exactly one line on stderr, no traceback, nothing on stdout."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    if message is not None:
        assert lines[0] == f"error: {message}"


def small_file_limit(limit: int):
    """preexec_fn: files the child writes may not grow past limit bytes (a full disk)."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.fixture
def big_db(db_path: Path) -> Path:
    """A database of 3,000 demo notes (about 1 MB), closed (so all in the main file)."""
    with closing(app.connect(db_path)) as conn:
        app.seed_notes(conn, 3000)
    return db_path


# ---------------------------------------------------------------- seed and stats


def test_the_seed_command_adds_realistic_notes_with_search_tags_and_counts(db_path):
    result = run_cli("--db", str(db_path), "seed", "--count", "500")
    assert result.returncode == 0, result.stderr
    assert "added 500 notes" in result.stdout
    conn = app.connect(db_path)
    assert NoteService.count_notes(conn) == 501
    assert len(conn.execute("SELECT DISTINCT username FROM notes").fetchall()) > 100
    assert conn.execute("SELECT count(*) FROM note_tags").fetchone()[0] > 100
    assert NoteService.list_notes(conn, search="coffee")
    assert app.check_database(conn).problems == []
    stats = run_cli("--db", str(db_path), "stats")
    assert stats.stdout.strip() == f"{db_path}: 501 notes, 0 in the trash, 0 earlier versions, " + (
        f"{db_path.stat().st_size / 1e6:.1f} MB"
    )


def test_seeded_tags_are_the_tags_of_the_seeded_bodies(big_db):
    conn = app.connect(big_db)
    stored = set(conn.execute("SELECT tag, id FROM note_tags").fetchall())
    derived = {(tag, note.id) for note in all_notes(conn) for tag in app.extract_tags(note.body)}
    assert stored == derived and len(stored) > 1000


@pytest.mark.parametrize("count", ["-5", "0", "10" + "0" * 22, "12abc", "", "1e3", "²"])
def test_seed_refuses_a_count_out_of_range_and_writes_nothing(db_path, count):
    result = run_cli("--db", str(db_path), "seed", "--count", count)
    assert result.returncode == 2  # argparse: usage, then the one line that says why
    assert "Traceback" not in result.stderr
    assert "argument --count: must be a whole number from 1 to 10,000,000" in result.stderr
    assert not db_path.exists()


# ---------------------------------------------------------------- read-only commands


@pytest.mark.parametrize(
    "command", [["stats"], ["check"], ["backup", "copy.db"], ["vacuum"], ["migrate"]]
)
def test_a_mistyped_path_is_refused_and_no_database_is_created(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)  # where backup's relative copy.db would go
    missing = tmp_path / "notse.db"
    result = run_cli("--db", str(missing), *command)
    assert_one_line_error(result, app.MSG_DB_MISSING.format(path=missing))
    assert sorted(tmp_path.iterdir()) == []


def test_check_on_another_apps_sqlite_file_refuses_and_changes_nothing(tmp_path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices VALUES (1, 9.5)")
    conn.close()
    before = other.read_bytes()
    for command in ("check", "stats"):
        result = run_cli("--db", str(other), command)
        assert_one_line_error(result, app.MSG_DB_NOT_A_DATABASE.format(name="other.db"))
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_check_on_an_empty_file_says_it_is_not_a_notes_database_and_leaves_it_empty(tmp_path):
    empty = tmp_path / "failed-backup.db"
    empty.touch()
    result = run_cli("--db", str(empty), "check")
    assert_one_line_error(result, app.MSG_DB_NOT_A_DATABASE.format(name="failed-backup.db"))
    assert empty.stat().st_size == 0


def test_check_on_a_damaged_file_reports_it_without_a_traceback(big_db):
    data = bytearray(big_db.read_bytes())
    page = 4096
    for offset in range(8 * page, len(data), 3 * page):  # scribble over many pages
        data[offset + 100 : offset + 600] = os.urandom(500)
    big_db.write_bytes(bytes(data))
    result = run_cli("--db", str(big_db), "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip()  # it says what is wrong


def test_check_on_a_file_whose_text_is_not_utf8_says_it_is_damaged(db_path):
    # Damage that SQLite's own checks let through: text bytes that are not UTF-8 (the
    # scribbling test above hit this by chance, in a name kept in note_counts).
    with closing(app.connect(db_path)) as conn:
        conn.execute(
            "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
            " VALUES (1, 1, CAST(x'616cb2' AS TEXT), 'a note')"
        )
    result = run_cli("--db", str(db_path), "check")
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == "text that is not UTF-8 in note #2"
    assert result.stdout.splitlines()[-1].startswith("problems in ")


def test_check_on_a_read_only_file_is_ok_and_says_what_it_could_not_check(immutable_db):
    result = run_cli("--db", str(immutable_db), "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        app.MSG_SEARCH_INDEX_UNCHECKED,
        f"ok: {immutable_db}: 3 notes, 0 in the trash, 0 earlier versions",
    ]


def test_check_reports_counts_that_disagree_with_the_notes(fresh_db, db_path):
    fresh_db.execute("UPDATE note_counts SET notes = 7 WHERE username = ''")
    result = run_cli("--db", str(db_path), "check")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "count for '': stored 7, actual 1",
        f"problems in {db_path}: 1 note, 0 in the trash, 0 earlier versions",
    ]


def test_check_finds_a_search_index_that_no_longer_matches_the_notes(fresh_db, db_path):
    fresh_db.execute(
        "INSERT INTO notes_fts (notes_fts, rowid, body, username) VALUES ('delete', 1, ?, ?)",
        (app.WELCOME_BODY, app.WELCOME_USERNAME),
    )
    result = run_cli("--db", str(db_path), "check")
    assert result.returncode == 1
    assert result.stdout.startswith("search index:")


def test_check_refuses_a_database_from_a_newer_app(fresh_db, db_path):
    fresh_db.execute(f"PRAGMA user_version = {app.SCHEMA_VERSION + 1}")
    result = run_cli("--db", str(db_path), "check")
    assert_one_line_error(
        result,
        app.MSG_DB_NEWER.format(
            name="notes.db", version=app.SCHEMA_VERSION + 1, known=app.SCHEMA_VERSION
        ),
    )


# ---------------------------------------------------------------- backup


def test_backup_copies_a_live_database_and_check_says_ok(seeded_db, db_path, tmp_path):
    NoteService.update_note(seeded_db, 3, "bob", "edited")
    NoteService.delete_note(seeded_db, 2)
    result = run_cli("--db", str(db_path), "backup", str(tmp_path / "copy.db"))
    assert result.returncode == 0, result.stderr
    assert stored_rows(tmp_path / "copy.db") == stored_rows(db_path)
    check = run_cli("--db", str(tmp_path / "copy.db"), "check")
    assert (check.returncode, check.stdout.strip()) == (
        0,
        f"ok: {tmp_path / 'copy.db'}: 2 notes, 1 in the trash, 1 earlier version",
    )


def test_backup_never_overwrites_a_file(fresh_db, db_path, tmp_path):
    (tmp_path / "precious.db").write_text("keep me")
    result = run_cli("--db", str(db_path), "backup", str(tmp_path / "precious.db"))
    assert_one_line_error(result, app.MSG_BACKUP_EXISTS.format(path=tmp_path / "precious.db"))
    assert (tmp_path / "precious.db").read_text() == "keep me"


@pytest.mark.slow  # a process of its own, or a terminal
def test_a_backup_that_runs_out_of_disk_leaves_no_partial_file(big_db, tmp_path):
    target = tmp_path / "backups"
    target.mkdir()
    result = run_cli(
        "--db", str(big_db), "backup", str(target / "copy.db"), preexec_fn=small_file_limit(200_000)
    )
    assert_one_line_error(
        result,
        app.MSG_BACKUP_FAILED.format(path=target / "copy.db", error="disk I/O error"),
    )
    assert list(target.iterdir()) == []


def test_a_backup_into_a_missing_folder_is_one_line(big_db, tmp_path):
    result = run_cli("--db", str(big_db), "backup", str(tmp_path / "nope" / "copy.db"))
    assert_one_line_error(result)
    assert "failed" in result.stderr


# ---------------------------------------------------------------- vacuum


def test_vacuum_compacts_the_file_and_keeps_every_note(big_db):
    conn = app.connect(big_db)
    NoteService.create_note(conn, "alice", "kept")
    conn.execute("DELETE FROM note_history")
    before = stored_rows(big_db)
    conn.close()
    result = run_cli("--db", str(big_db), "vacuum")
    assert result.returncode == 0, result.stderr
    assert stored_rows(big_db) == before
    assert run_cli("--db", str(big_db), "check").returncode == 0


def test_vacuum_on_a_read_only_file_is_one_line(immutable_db):
    result = run_cli("--db", str(immutable_db), "vacuum")
    assert_one_line_error(result, app.MSG_DB_READ_ONLY)


@pytest.mark.slow  # a process of its own, or a terminal
def test_vacuum_on_a_full_disk_is_one_line_and_the_database_stays_whole(big_db):
    before = stored_rows(big_db)
    result = run_cli("--db", str(big_db), "vacuum", preexec_fn=small_file_limit(200_000))
    assert_one_line_error(result)
    assert stored_rows(big_db) == before
    assert run_cli("--db", str(big_db), "check").returncode == 0


def test_a_bad_database_is_reported_without_a_traceback(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"garbage" * 1000)
    result = run_cli("--db", str(bad), "stats")
    assert_one_line_error(result, app.MSG_DB_NOT_A_DATABASE.format(name="notes.db"))


def test_migrate_upgrades_an_old_database_so_the_read_only_commands_accept_it(seed_schema_db):
    before = run_cli("--db", str(seed_schema_db), "stats")
    assert_one_line_error(before)
    assert "python app.py migrate" in before.stderr
    result = run_cli("--db", str(seed_schema_db), "migrate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{seed_schema_db}: schema version {app.SCHEMA_VERSION}"
    stats = run_cli("--db", str(seed_schema_db), "stats")
    assert stats.stdout.startswith(f"{seed_schema_db}: 3 notes, 0 in the trash")


@pytest.mark.slow  # a process of its own, or a terminal
def test_python_app_py_is_the_command_line_in_its_own_process(db_path):
    """The other tests call app.cli in this process; this one runs `python app.py` for
    real: the file is the command line when no Streamlit runtime runs it."""
    NoteService.create_note(app.open_database(db_path), "ann", "hello")
    result = run_cli("--db", str(db_path), "stats", stdin=subprocess.DEVNULL)
    assert result.returncode == 0
    assert result.stdout.startswith(f"{db_path}: 2 notes, 0 in the trash")
    assert_one_line_error(run_cli("--db", str(db_path.with_name("nope.db")), "stats", env={}))
