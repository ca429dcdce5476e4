"""Shared fixtures: fresh and seeded databases on both backends, an AppTest factory,
and form helpers.

Every test that asks for `db_target` (or a fixture built on it: fresh_db, empty_db,
seeded_db, app_test) runs twice, on SQLite and on PostgreSQL, each time with a new
database: a file in tmp_path, or a new database on one throwaway PostgreSQL server
per session (tests/pg_cluster.py), copied from a template whose schema is built once per
session (pg_notes_database; pg_database is an empty one). Tests of what only one backend
has (SQLite files, migrations from old files, query plans) ask for `db_path` and run once.
Without PostgreSQL the PostgreSQL cases are skipped with one line saying how to get
it; under CI=true they fail instead.
"""

from __future__ import annotations

import contextlib
import html
import io
import os
import re
import sqlite3
import subprocess
import sys
import traceback
from pathlib import Path

import hypothesis
import psycopg
import pytest
import streamlit as st
from pg_cluster import HOW_TO_GET_IT, Cluster, find_bin_dir
from streamlit.testing.v1 import AppTest

import app

# No hypothesis deadline: a property's examples take as long as the machine allows (a
# busy machine made a PostgreSQL search example take 306 ms and fail its 200 ms deadline).
hypothesis.settings.register_profile("notes", deadline=None)
hypothesis.settings.load_profile("notes")

APP_FILE = str(Path(__file__).resolve().parent.parent / "app.py")
BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it needs, for the quick subset (README): `browser` (a real
    Chromium and a server, tests/e2e) and `postgres` (a PostgreSQL server); `slow` is
    marked by hand on tests that take seconds of their own. The browser tests go first
    (a stable sort), for the whole suite's scheduler (pytest_xdist_make_scheduler)."""
    items.sort(key=lambda item: "e2e" not in item.path.parts)
    for item in items:
        if "e2e" in item.path.parts:
            item.add_marker(pytest.mark.browser)
        params = getattr(item, "callspec", None)
        backend = params.params.get("backend") if params else None
        if backend == "postgresql" or (
            backend is None and {"pg_cluster", "pg_database"} & set(item.fixturenames)
        ):
            item.add_marker(pytest.mark.postgres)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """The whole suite's `-n 2 --dist loadgroup` (README): each browser test file is one
    unit of work, run whole by one worker, so its server and fixtures start once; every
    other test is a unit of its own. xdist hands out the units with the most tests
    first; the tests' order breaks ties, and the browser tests come first
    (pytest_collection_modifyitems), so the last minutes are short unit tests that both
    workers share and the two end together. (`--dist loadfile` queued whole files by
    their number of tests, so the browser files of 1 to 3 long tests came last, one
    worker running them alone while the other had finished.)

    A scheduler, not xdist_group marks: with pytest 9, xdist 3.8's marks had no effect
    here (every test ran as a unit of its own, a module's server on both workers)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class BrowserFilesWhole(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path.startswith("tests/e2e/") else nodeid

    return BrowserFilesWhole(config, log)


def pytest_report_header(config: pytest.Config) -> str:
    bin_dir = find_bin_dir()
    return f"postgresql: {bin_dir}" if bin_dir else f"postgresql: {HOW_TO_GET_IT}; its cases skip"


@pytest.fixture(scope="session")
def pg_cluster():
    """One throwaway PostgreSQL server for the session (skip, or fail under CI, without)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{HOW_TO_GET_IT} (CI must run the PostgreSQL cases)")
        pytest.skip(HOW_TO_GET_IT)
    cluster = Cluster(bin_dir).start()
    yield cluster
    cluster.remove()


@pytest.fixture
def pg_database(pg_cluster: Cluster):
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    name = pg_cluster.create_database()
    yield pg_cluster.url(name)
    st.cache_resource.clear()  # closes the app's pools (on_release) before the drop
    pg_cluster.drop_database(name)


PG_TEMPLATE = "notes_template"


@pytest.fixture(scope="session")
def pg_template(pg_cluster: Cluster) -> str:
    """The name of a database that app.open_database() made new (today's schema and the
    welcome note), once per session, for pg_notes_database to copy."""
    pg_cluster.create_database(name=PG_TEMPLATE)
    app.open_database(pg_cluster.url(PG_TEMPLATE)).close()  # no connection may stay open
    return PG_TEMPLATE


@pytest.fixture
def pg_notes_database(pg_cluster: Cluster, pg_template: str):
    """The URL of a new PostgreSQL database as app.open_database() leaves a new one
    (a copy of pg_template: a file copy instead of building the schema again), dropped
    after the test."""
    name = pg_cluster.create_database(template=pg_template)
    yield pg_cluster.url(name)
    st.cache_resource.clear()  # closes the app's pools (on_release) before the drop
    pg_cluster.drop_database(name)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A path for a SQLite database file that does not exist yet."""
    return tmp_path / "notes.db"


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


# Page tests: the pages branch on the backend only to export, so a module of page tests
# takes `backend = pages_on_sqlite()` and marks with BOTH_BACKENDS the tests that run on
# PostgreSQL too (a test-level parametrize of `backend` overrides the fixture).
BOTH_BACKENDS = pytest.mark.parametrize("backend", BACKENDS)


def pages_on_sqlite():
    """A `backend` fixture for a page module (`backend = pages_on_sqlite()`): SQLite only.
    Made on call, so that it overrides `backend` in that module only, not here."""
    return pytest.fixture(name="backend")(lambda: "sqlite")


@pytest.fixture
def db_target(request: pytest.FixtureRequest, backend: str) -> str | Path:
    """Where a new database will be, on each backend in turn: a file path or a URL.

    On PostgreSQL it already holds what open_database() puts in a new one (a copy of the
    template), unless the test asks for pg_database too: then it is that empty database.
    """
    if backend == "sqlite":
        return request.getfixturevalue("db_path")
    if "pg_database" in request.fixturenames:
        return request.getfixturevalue("pg_database")
    return request.getfixturevalue("pg_notes_database")


@pytest.fixture
def fresh_db(db_target):
    """A new database (welcome note only), opened with app.open_database()."""
    db = app.open_database(db_target)
    yield db
    db.close()


@pytest.fixture
def sqlite_db(db_path: Path):
    """A new SQLite database, for what only SQLite has (a file, its locks, its pragmas)."""
    conn = app.connect(db_path)
    yield conn
    conn.close()


@pytest.fixture
def pg_db(pg_notes_database: str):
    """A new PostgreSQL database, for what only PostgreSQL has."""
    db = app.open_database(pg_notes_database)
    yield db
    db.close()


def sql(db, statement: str, params: tuple | dict = ()) -> list[dict]:
    """Run one statement (":name" or "?" parameters) in its own transaction on either
    backend, as a hand-edit or another program would; return its rows as dicts."""
    with app._write(db) as tx:
        cursor = app._execute(tx, statement, params)
        return [dict(row) for row in cursor.fetchall()] if cursor.description else []


@pytest.fixture
def empty_db(fresh_db):
    """A database with the welcome note deleted."""
    sql(fresh_db, "DELETE FROM notes")
    return fresh_db


@pytest.fixture
def seeded_db(empty_db):
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
    """Run the command line `python app.py ARGS` and return what it printed and its exit
    code: in this process (app.cli, as `python app.py` calls it), or, given popen options
    (a resource limit, another stdin), in a new Python process."""
    if popen:
        return subprocess.run(
            [sys.executable, APP_FILE, *args], capture_output=True, text=True, timeout=120, **popen
        )
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = app.cli(list(args))
        except SystemExit as exit_:  # argparse refusing an argument
            code = exit_.code
        except BaseException:  # what the process would die of: its traceback on stderr
            traceback.print_exc()
            code = 1
    return subprocess.CompletedProcess([APP_FILE, *args], code, out.getvalue(), err.getvalue())


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


def sent_to_postgresql(monkeypatch, action) -> list[tuple[str, dict]]:
    """Run action() and return the statements (with their parameters) it read through
    app._read: what the store really sends, for EXPLAIN."""
    sent: list[tuple[str, dict]] = []
    real_read = app._read

    def spy(db, statement, params=()):
        sent.append((statement, params))
        return real_read(db, statement, params)

    with monkeypatch.context() as patch:
        patch.setattr(app, "_read", spy)
        action()
    return sent


def query_plan(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> str:
    """Return SQLite's query plan for sql, its steps joined by spaces."""
    return " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def stored_rows(target, table: str = "notes") -> list[tuple]:
    """Every row of a table (notes by default), read with a separate plain connection
    to target (a file path, a URL, or an open database)."""
    if not isinstance(target, (str, Path)):
        target = app._db_name(target) if isinstance(target, sqlite3.Connection) else target
    columns = "id, created_timestamp, updated_timestamp, username, body"
    query = f"SELECT {columns} FROM {table} ORDER BY id"
    if isinstance(target, app.Postgres):
        return [tuple(row.values()) for row in app._read(target, query)]
    if app.is_database_url(target):
        with psycopg.connect(str(target)) as conn:
            return conn.execute(query).fetchall()
    with sqlite3.connect(target) as conn:
        return conn.execute(query).fetchall()


TEST_ISSUER = "http://127.0.0.1:9/"  # no provider is contacted: AppTest's at.user stands in
TEST_AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "not-a-secret-in-tests",
    "client_id": "notes",
    "client_secret": "notes-secret",
    "server_metadata_url": f"{TEST_ISSUER}.well-known/openid-configuration",
}
TEST_ADMIN = {"name": "Root", "email": "root@example.com", "sub": "root", "email_verified": True}


def _page_script(page: str) -> None:
    """AppTest script that runs one page function of app.py (st.navigation pages
    cannot be reached with AppTest.switch_page, which wants a file)."""
    import app as notes_app

    getattr(notes_app, f"render_{page}")()


@pytest.fixture
def app_test(db_target, monkeypatch: pytest.MonkeyPatch):
    """Return a factory: app_test() runs the whole app, app_test("create") one page,
    app_test("read", {"q": "x"}) a page opened with a query string; on each backend."""
    if app.is_database_url(db_target):
        monkeypatch.setenv("NOTES_DATABASE_URL", str(db_target))
    else:
        monkeypatch.setenv("NOTES_DB", str(db_target))

    def make(
        page: str | None = None, query: dict[str, str] | None = None, *, admin: bool = False
    ) -> AppTest:
        if page is None:
            at = AppTest.from_file(APP_FILE, default_timeout=30)
        else:
            at = AppTest.from_function(_page_script, default_timeout=30, args=(page,))
        at.query_params.update(query or {})  # as if opened from a bookmarked URL
        if admin:  # signed-in mode, as an admin whose address the provider verified
            at.secrets["auth"] = TEST_AUTH
            at.secrets["admins"] = ["root@example.com"]
            at.user = {"is_logged_in": True, "iss": TEST_ISSUER, **TEST_ADMIN}
        return at.run()

    yield make
    st.cache_resource.clear()  # the process-wide state pages keep: import previews, limits


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


_NOT_NOTES = (
    "<style",
    "<script",
    '<div class="notes-live"',
    '<div class="notes-counter"',
)  # the page's other HTML


# A note's st.html: its text (note_html) in a div, then (in a note's box) its byline.
_NOTE = re.compile(r'<div class="notes-text">(.*?)</div>(<div class="notes-byline">.*)?', re.S)


def notes_html(at: AppTest) -> list[str]:
    """The HTML of each note's text in the main area (note_html), top to bottom."""
    return [
        note[1].rstrip("\n")
        for node in at.main
        if node.type == "html" and (note := _NOTE.fullmatch(node.value))
    ]


def bylines_shown(at: AppTest) -> list[str]:
    """The text of each note's byline in the main area ("ann · 3 h ago · #4"), top to bottom."""
    return [
        " ".join(html.unescape(re.sub(r"<[^>]*>", " ", note[2])).split())
        for node in at.main
        if node.type == "html" and (note := _NOTE.fullmatch(node.value)) and note[2]
    ]


def exact_times(at: AppTest) -> list[str]:
    """The exact times the main area's bylines give on hover, top to bottom."""
    return [
        time
        for node in at.main
        if node.type == "html" and (note := _NOTE.fullmatch(node.value)) and note[2]
        for time in re.findall(r'<span title="([^"]*)">', note[2])
    ]


def byline_links(at: AppTest) -> list[tuple[str, str]]:
    """The (text, address) of each link in the main area's bylines, top to bottom."""
    return [
        (html.unescape(text), html.unescape(href))
        for node in at.main
        if node.type == "html" and (note := _NOTE.fullmatch(node.value)) and note[2]
        for href, text in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', note[2])
    ]


def _text(markup: str) -> str:
    """What a reader sees of markup: its text, without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup)).strip()


def text_of(body: str) -> str:
    """What a reader sees of a note with this body."""
    return _text(app.note_html(body))


def texts_shown(at: AppTest) -> list[str]:
    """The markdown of the main area and the text of each note in it (an st.html of
    note_html, as a reader sees it: without tags, entities decoded), top to bottom."""
    return [
        node.value if node.type == "markdown" else _text(_NOTE.sub(r"\1", node.value))
        for node in at.main
        if node.type == "markdown"
        or (node.type == "html" and not node.value.startswith(_NOT_NOTES))
    ]


def all_notes(db) -> list[app.Note]:
    """Every note, newest first (a test's view of the whole table; pages never read it)."""
    return [app._note(row) for row in app._read(db, "SELECT * FROM notes ORDER BY id DESC")]


def trash_count(db) -> int:
    """How many notes are in the trash."""
    return app._read(db, "SELECT count(*) AS n FROM trash")[0]["n"]


def purge_note(db, id: int, *, actor: app.Actor | None) -> None:
    """Purge one trashed note as actor; NoteNotFoundError if it is not in the trash."""
    if not app.NoteService.purge_notes(db, [id], actor=actor):
        raise app.NoteNotFoundError(app.MSG_NOT_IN_TRASH.format(id=id))
