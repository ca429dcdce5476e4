"""Shared fixtures: fresh and seeded databases, an AppTest factory, and form helpers."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import app

APP_FILE = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a database file that does not exist yet."""
    return tmp_path / "notes.db"


@pytest.fixture
def fresh_db(db_path: Path):
    """A new database (welcome note only), opened with app.connect()."""
    conn = app.connect(db_path)
    yield conn
    conn.close()


@pytest.fixture
def empty_db(fresh_db: sqlite3.Connection) -> sqlite3.Connection:
    """A database with the welcome note deleted."""
    fresh_db.execute("DELETE FROM notes")
    return fresh_db


@pytest.fixture
def seeded_db(empty_db: sqlite3.Connection) -> sqlite3.Connection:
    """A database with three notes by two authors, #2 to #4, oldest first."""
    for stamp, (username, body) in enumerate(
        [("alice", "first **note**"), ("bob", "second note"), ("alice", "third note")]
    ):
        app.NoteService.create_note(empty_db, username, body, now=1_700_000_000 + stamp)
    return empty_db


SEED_SCHEMA = (
    "CREATE TABLE notes (created_timestamp INTEGER, updated_timestamp INTEGER,"
    " username TEXT, body TEXT)"
)


@pytest.fixture
def seed_schema_db(db_path):
    """A database as the seed app left it: implicit rowids with a gap where #2 was deleted."""
    with sqlite3.connect(db_path) as conn:
        conn.execute(SEED_SCHEMA)
        conn.executemany(
            "INSERT INTO notes (rowid, created_timestamp, updated_timestamp, username, body)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (1, 1_600_000_000, 1_600_000_000, "Littlest Notes", "Welcome!"),
                (3, 1_600_000_100, 1_600_000_500, "alice", "edited **once**"),
                (7, 1_600_000_200.75, 1_600_000_200.75, "bob", "float stamps\nsecond line"),
            ],
        )
    return db_path


@pytest.fixture
def immutable_db(seeded_db, db_path):
    """The seeded database file made read-only even for root (chattr +i)."""
    if subprocess.run(["chattr", "+i", str(db_path)], capture_output=True).returncode != 0:
        pytest.skip("this file system cannot make a file immutable (chattr +i)")
    try:
        yield db_path
    finally:
        subprocess.run(["chattr", "-i", str(db_path)], check=True)


def run_cli(*args: str, **popen) -> subprocess.CompletedProcess:
    """Run `python app.py ARGS` and return what it printed and its exit code."""
    return subprocess.run(
        [sys.executable, APP_FILE, *args], capture_output=True, text=True, timeout=120, **popen
    )


def statements_of(conn: sqlite3.Connection, action) -> list[tuple[str, tuple]]:
    """Run action() and return the SELECTs it sent on conn, as (sql, ()) with values inlined.

    The trace shows each statement exactly as SQLite ran it (parameters expanded), so a
    plan test checks what the store really sends, not a copy of its SQL.
    """
    sent: list[str] = []
    conn.set_trace_callback(sent.append)
    try:
        action()
    finally:
        conn.set_trace_callback(None)
    # FTS5 reads its shadow tables with statements of its own, named 'main'.'notes_fts_*'.
    return [
        (sql, ())
        for sql in sent
        if sql.lstrip().upper().startswith("SELECT") and "'main'." not in sql
    ]


def query_plan(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> str:
    """Return SQLite's query plan for sql, its steps joined by spaces."""
    return " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def stored_rows(path: Path) -> list[tuple]:
    """Every row of the notes table, read with a separate plain connection."""
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT id, created_timestamp, updated_timestamp, username, body FROM notes ORDER BY id"
        ).fetchall()


def _page_script(page: str) -> None:
    """AppTest script that runs one page function of app.py (st.navigation pages
    cannot be reached with AppTest.switch_page, which wants a file)."""
    import app as notes_app

    getattr(notes_app, f"render_{page}")()


@pytest.fixture
def app_test(db_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Return a factory: app_test() runs the whole app, app_test("create") one page,
    app_test("read", {"q": "x"}) a page opened with a query string."""
    monkeypatch.setenv("NOTES_DB", str(db_path))

    def make(page: str | None = None, query: dict[str, str] | None = None) -> AppTest:
        if page is None:
            at = AppTest.from_file(APP_FILE, default_timeout=30)
        else:
            at = AppTest.from_function(_page_script, default_timeout=30, args=(page,))
        at.query_params.update(query or {})  # as if opened from a bookmarked URL
        return at.run()

    return make


def fill_note_form(at: AppTest, prefix: str, username: str | None, body: str | None) -> AppTest:
    """Type into a note form (create or update) and press its submit button."""
    if username is not None:
        at.text_input(key=f"{prefix}_username").set_value(username)
    if body is not None:
        # set_value, not input(): the Note box has no max_chars, and over-long text
        # must reach the app so that it can say how far over it is.
        at.text_area(key=f"{prefix}_body").set_value(body)
    at.button(key=f"{prefix}_submit").click()
    return at.run()


def create_note(at: AppTest, username: str, body: str) -> AppTest:
    """Submit the Create form of an AppTest running the create page."""
    return fill_note_form(at, "create", username, body)


def messages(at: AppTest) -> dict[str, list[str]]:
    """The page's success, error, warning and info messages by kind."""
    return {
        "success": [m.value for m in at.success],
        "error": [m.value for m in at.error],
        "warning": [m.value for m in at.warning],
        "info": [m.value for m in at.info],
    }
