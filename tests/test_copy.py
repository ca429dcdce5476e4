"""Moving a feed between databases (`copy`), and the command line on PostgreSQL."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import psycopg
import pytest
from pg_cluster import GUARDED_PASSWORD, GUARDED_USER

import app
from app import NoteService
from tests.conftest import APP_FILE, all_notes, purge_note, run_cli, sql

BODIES = [
    "plain",
    "quotes \"double\" and 'single', commas, and\ttabs",
    "line one\nline two",
    "emoji 👩‍👩‍👧‍👦 and zoë's café #Café",
    "**bold** #python and #til",
    '=HYPERLINK("http://x")',
]


def fill(db) -> None:
    """Notes by several authors, edited (history), deleted (trash), purged (a used number)."""
    for n, body in enumerate(BODIES):
        NoteService.create_note(db, f"author {n % 3} ✨", body, now=1_700_000_000 + n)
    NoteService.update_note(db, 2, "author 0 ✨", "plain, edited #python", now=1_700_000_100)
    NoteService.update_note(db, 2, "renamed", "plain, edited twice", now=1_700_000_200)
    NoteService.delete_note(db, 3, now=1_700_000_300)
    NoteService.delete_note(db, 4, now=1_700_000_301)
    purge_note(db, 4, actor=app.OPERATOR)
    top = NoteService.create_note(db, "last", "the highest number, then deleted for good")
    NoteService.delete_note(db, top.id)
    purge_note(db, top.id, actor=app.OPERATOR)


def contents(db) -> dict:
    """Everything a copy must keep, as plain values."""
    with app._snapshot(db) as tx:
        high = app._high_water(tx)
    return {
        "notes": all_notes(db),
        "history": sql(db, "SELECT * FROM note_history ORDER BY id, version"),
        "trash": sql(db, "SELECT * FROM trash ORDER BY id"),
        "counts": {a: NoteService.count_notes(db, a) for a in ["", "renamed", "author 1 ✨"]},
        "high": high,
        "tags": {t: [n.id for n in NoteService.list_notes(db, tag=t)] for t in ["python", "café"]},
        "search": [n.id for n in NoteService.list_notes(db, search="edit")],
    }


@pytest.fixture
def filled_sqlite(tmp_path):
    path = tmp_path / "source.db"
    with app.connect(path) as conn:
        fill(conn)
    return path


def test_copy_round_trip_sqlite_postgresql_sqlite_keeps_everything(
    filled_sqlite, pg_database, tmp_path
):
    source = app.connect(filled_sqlite)
    middle = app.open_database(pg_database)
    back = app.connect(tmp_path / "back.db")
    expected = contents(source)
    assert expected["trash"] and expected["history"] and expected["high"] == 8
    copied = app.copy_database(source, middle)
    assert copied == app.Totals(notes=5, trash=1, history=2)
    assert contents(middle) == expected
    assert app.copy_database(middle, back) == copied
    assert contents(back) == expected
    for db in (middle, back):
        assert app.check_database(db).problems == []
        # numbers keep counting from the source's highest, never reusing a purged one
        assert NoteService.create_note(db, "new", "after the copy").id == expected["high"] + 1
    for db in (source, middle, back):
        db.close()


def test_copy_refuses_a_target_that_holds_notes_and_changes_nothing(seeded_db, tmp_path):
    source = app.connect(tmp_path / "source.db")
    before = contents(seeded_db)
    with pytest.raises(app.StorageError, match=r"already holds notes \(3 notes, 0 in the trash"):
        app.copy_database(source, seeded_db)
    assert contents(seeded_db) == before
    app.copy_database(source, seeded_db, replace=True)
    assert [n.id for n in all_notes(seeded_db)] == [1]
    assert NoteService.count_notes(seeded_db) == 1
    source.close()


def test_an_interrupted_copy_leaves_the_target_as_it_was(fresh_db, filled_sqlite):
    source = app.connect(filled_sqlite)
    before = contents(fresh_db)

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        app.copy_database(source, fresh_db, progress=stop)
    assert contents(fresh_db) == before
    source.close()


def test_the_copy_command_moves_a_feed_and_check_reports_the_same_counts(
    filled_sqlite, pg_database, tmp_path
):
    to_pg = run_cli("--db", str(filled_sqlite), "copy", "--to", pg_database)
    assert to_pg.returncode == 0, to_pg.stderr
    database = pg_database.rsplit("/", 1)[1]
    assert to_pg.stdout.startswith(
        f"copied 5 notes, 1 in the trash, 2 earlier versions from {filled_sqlite}"
        f" to PostgreSQL 127.0.0.1/{database} in "
    )
    checks = [run_cli("--db", target, "check") for target in (str(filled_sqlite), pg_database)]
    assert [c.returncode for c in checks] == [0, 0]
    totals = [c.stdout.splitlines()[-1].split(": ", 2)[-1] for c in checks]
    assert totals == ["5 notes, 1 in the trash, 2 earlier versions"] * 2

    back = tmp_path / "back.db"
    from_pg = run_cli("--db", str(back), "copy", "--from", pg_database)
    assert from_pg.returncode == 0, from_pg.stderr
    with app.connect(filled_sqlite) as source, app.connect(back) as copy:
        assert contents(copy) == contents(source)

    again = run_cli("--db", str(filled_sqlite), "copy", "--to", pg_database)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.startswith("error: ") and "add --replace" in again.stderr
    assert len(again.stderr.splitlines()) == 1
    replaced = run_cli("--db", str(filled_sqlite), "copy", "--to", pg_database, "--replace")
    assert replaced.returncode == 0, replaced.stderr


def test_a_copy_from_a_database_that_does_not_exist_names_it_and_makes_no_file(
    pg_database, tmp_path
):
    target = tmp_path / "new.db"
    result = run_cli("--db", str(target), "copy", "--from", pg_database.rsplit("/", 1)[0] + "/nope")
    assert result.returncode == 1 and "does not exist" in result.stderr
    assert not target.exists()


def test_copy_into_itself_is_refused(filled_sqlite):
    result = run_cli("--db", str(filled_sqlite), "copy", "--to", str(filled_sqlite))
    assert (result.returncode, result.stderr.strip()) == (1, f"error: {app.MSG_COPY_SAME}")


def test_a_copy_between_two_malformed_urls_says_the_url_is_not_valid(tmp_path):
    bad = "postgresql://ann:p@ss@host/db"  # a raw @ in the password
    result = run_cli("--db", bad, "copy", "--to", bad.replace("ann", "bob"))
    assert (result.returncode, result.stderr.strip()) == (1, f"error: {app.MSG_PG_BAD_URL}")
    assert "p@ss" not in result.stdout + result.stderr


@pytest.mark.slow  # a process of its own, or a terminal
def test_the_copy_command_shows_a_progress_bar_on_a_terminal(filled_sqlite, tmp_path):
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            APP_FILE,
            "--db",
            str(filled_sqlite),
            "copy",
            "--to",
            str(tmp_path / "t.db"),
        ],
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    process.wait(timeout=120)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.returncode == 0
    assert b"copying [" in shown and b"100% 8/8 rows" in shown


def test_a_refused_password_is_one_line_that_never_shows_the_password(pg_cluster, tmp_path):
    wrong = pg_cluster.url("postgres", GUARDED_USER, "not-the-" + GUARDED_PASSWORD)
    app.connect(tmp_path / "x.db").close()
    for args in (["--db", wrong, "check"], ["--db", str(tmp_path / "x.db"), "copy", "--to", wrong]):
        result = run_cli(*args)
        assert result.returncode == 1
        assert result.stderr.strip() == "error: " + app.MSG_PG_REFUSED.format(
            name="127.0.0.1/postgres"
        )
        assert GUARDED_PASSWORD not in result.stdout + result.stderr


def test_check_on_postgresql_reports_counts_that_disagree(pg_db, pg_notes_database):
    sql(pg_db, "UPDATE note_counts SET notes = notes + 6 WHERE username = '' AND slot = 1")
    result = run_cli("--db", pg_notes_database, "check")
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == "count for '': stored 7, actual 1"


def test_stats_seed_migrate_and_vacuum_work_on_postgresql(pg_database):
    for args in (["seed", "--count", "50"], ["migrate"], ["vacuum"], ["stats"]):
        result = run_cli("--db", pg_database, *args)
        assert result.returncode == 0, result.stderr
    assert " 51 notes, 0 in the trash, 0 earlier versions, " in result.stdout
    backup = run_cli("--db", pg_database, "backup", "x.db")
    assert (backup.returncode, backup.stderr.strip()) == (1, f"error: {app.MSG_BACKUP_POSTGRES}")


def test_reading_commands_on_an_empty_postgresql_database_say_so_and_create_nothing(
    pg_database, tmp_path
):
    name = "127.0.0.1/" + pg_database.rsplit("/", 1)[1]
    for args in (
        ["--db", pg_database, "check"],
        ["--db", str(tmp_path / "t.db"), "copy", "--from", pg_database],
    ):
        result = run_cli(*args)
        assert (result.returncode, result.stderr.strip()) == (
            1,
            "error: " + app.MSG_PG_EMPTY.format(name=name),
        )
    assert not (tmp_path / "t.db").exists()
    with psycopg.connect(pg_database) as conn:
        assert conn.execute("SELECT to_regclass('notes')").fetchone() == (None,)


@pytest.mark.slow  # a process of its own, or a terminal
def test_purge_from_the_command_line_shows_asks_and_deletes_exactly_that(seeded_db, db_target):
    """Only the operator's command line destroys notes: it says what will go, and a script
    must confirm with --yes."""
    day = 86_400
    now = app.now_timestamp()
    NoteService.update_note(seeded_db, 2, "alice", "edited")
    NoteService.delete_note(seeded_db, 2, now=now - 40 * day)
    NoteService.delete_note(seeded_db, 3, now=now - 2 * day)
    target = str(db_target)
    unconfirmed = run_cli("--db", target, "purge", "--older-than", "30", stdin=subprocess.DEVNULL)
    assert unconfirmed.returncode == 1
    assert unconfirmed.stderr.strip() == (
        "error: purge would delete 1 note deleted over 30 days ago (#2 to #2) for good;"
        " add --yes to confirm"
    )
    assert NoteService.trash_ids(seeded_db) == [2, 3]
    old = run_cli("--db", target, "purge", "--older-than", "30", "--yes")
    assert old.returncode == 0, old.stderr
    assert old.stdout.startswith("purged 1 note and their history from ")
    assert NoteService.trash_ids(seeded_db) == [3]
    assert NoteService.note_history(seeded_db, 2) == []
    none = run_cli("--db", target, "purge", "--older-than", "30", "--yes")
    assert none.stdout.strip().endswith("no notes deleted over 30 days ago; nothing to purge")
    rest = run_cli("--db", target, "purge", "--yes")
    assert rest.returncode == 0 and NoteService.trash_ids(seeded_db) == []
    assert NoteService.count_notes(seeded_db) == 1
    bad = run_cli("--db", target, "purge", "--older-than", "-1")
    assert bad.returncode == 2 and "whole number of days" in bad.stderr


@pytest.mark.slow  # a process of its own, or a terminal
def test_purge_asks_on_a_terminal_and_no_is_no(seeded_db, db_target):
    NoteService.delete_note(seeded_db, 4)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, APP_FILE, "--db", str(db_target), "purge"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    shown = b""
    while b"[y/N]" not in shown:
        shown += os.read(leader, 4096)
    os.write(leader, b"n\n")
    assert process.wait(timeout=60) == 1
    assert b"Delete 1 note in the trash (#4 to #4) and their history for good" in shown
    assert NoteService.trash_ids(seeded_db) == [4]
    os.close(leader)
