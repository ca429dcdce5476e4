"""Helpers for the browser tests: read the database file, open pages, wait for reruns.

Imported by conftest.py and the test modules (a plain module, so that its name
cannot clash with another folder's conftest).
"""

from __future__ import annotations

import importlib.util
import os
import re
import sqlite3
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import psycopg
from playwright.sync_api import Locator, Page, WebSocket, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# Debian's Chromium and how the browser tests (and bench/) launch it (FACTS.md).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A browser context's proxy that keeps it on this machine: requests to other hosts go to
# a port nothing listens on (9, discard) and fail at once; 127.0.0.1 and localhost bypass
# it. Unlike a route that aborts them, it leaves the context's HTTP cache on (routing
# turns it off: each page load then fetches and compiles Streamlit's scripts again).
DEAD_PROXY = {"server": "http://127.0.0.1:9", "bypass": "127.0.0.1,localhost"}


@dataclass(frozen=True)
class Server:
    """A running app: where to open it and which database it writes (a SQLite file,
    db_path, or a PostgreSQL database, database_url)."""

    base_url: str
    db_path: Path | None
    log_path: Path
    database_url: str | None = None

    def url(self, path: str = "/") -> str:
        """Return the full address of a page, e.g. url("/create")."""
        return self.base_url + path

    @property
    def database(self) -> Path | str:
        """What the db_* helpers read: the file, or the postgresql:// URL."""
        return self.database_url or self.db_path


# The start_servers fixture: start_servers(database_url, count=1) -> the running servers.
StartServers = Callable[..., list[Server]]


###############################################################################
# Database #####################################################################
###############################################################################


@dataclass(frozen=True)
class Row:
    """One row of the notes table, as stored."""

    id: int
    created_timestamp: int
    updated_timestamp: int
    username: str
    body: str


def db_query(database: Path | str, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one query (with ? parameters) on the database, read-only, and return its rows.

    database is a SQLite file or a postgresql:// URL (Server.database gives either).
    """
    if str(database).startswith("postgresql://"):
        with psycopg.connect(str(database), connect_timeout=5) as conn:
            conn.read_only = True  # BEGIN READ ONLY: looking must never change the database
            return conn.execute(sql.replace("?", "%s"), params).fetchall()
    # Read-only URI: the test must never create or change the file by looking at it.
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def db_rows(database: Path | str) -> list[Row]:
    """Return every row of the notes table, oldest first, read straight from the database."""
    sql = "SELECT id, created_timestamp, updated_timestamp, username, body FROM notes ORDER BY id"
    return [Row(*row) for row in db_query(database, sql)]


def db_row(database: Path | str, note_id: int) -> Row | None:
    """Return note as stored, or None if the table has no such row."""
    return next((row for row in db_rows(database) if row.id == note_id), None)


###############################################################################
# Driving the app ##############################################################
###############################################################################

PAGES = {  # url path -> the page's title (its h1 and its sidebar link)
    "/": "Read Note Feed",
    "/create": "Create a Note",
    "/update": "Update a Note",
    "/delete": "Delete a Note",
    "/trash": "Trash",
    "/activity": "Activity",
    "/data": "Export and import",
    "/about": "About",
}

# The app's websocket of each open page, to see when a script run has finished.
_SOCKETS: weakref.WeakKeyDictionary[Page, WebSocket | None] = weakref.WeakKeyDictionary()
# The fragments each page reruns on its own timer (run_every: the live feed's ticks).
_TIMED: weakref.WeakKeyDictionary[Page, set[str]] = weakref.WeakKeyDictionary()


def _is_end_of_run(payload: str | bytes, timed: set[str]) -> bool:
    """True if a message from the server says a script run finished (not cut short by a
    rerun), and the run was not only of fragments in timed (a tick, which no action starts)."""
    if not isinstance(payload, bytes):
        return False
    message = ForwardMsg.FromString(payload)
    return (
        message.WhichOneof("type") == "script_finished"
        and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
        and not (
            message.metadata.run.fragment_ids and set(message.metadata.run.fragment_ids) <= timed
        )
    )


def _note_timer(page: Page, payload: str | bytes) -> None:
    """Remember the fragment of a rerun that page's timer asked for (run_every)."""
    if isinstance(payload, bytes):
        message = BackMsg.FromString(payload)
        if message.WhichOneof("type") == "rerun_script" and message.rerun_script.is_auto_rerun:
            _TIMED[page].add(message.rerun_script.fragment_id)


def _socket_opened(page: Page, socket: WebSocket) -> None:
    """Remember page's new websocket, and the timer fragments it asks to rerun."""
    _SOCKETS[page] = socket
    socket.on("framesent", lambda payload: _note_timer(page, payload))


def _watch_socket(page: Page) -> None:
    """Remember the app's websocket of page, now and after every reload."""
    if page not in _SOCKETS:
        _SOCKETS[page], _TIMED[page] = None, set()
        page.on("websocket", lambda socket: _socket_opened(page, socket))


def wait_for_idle(page: Page) -> None:
    """Wait until the app is connected and no script run is going on."""
    app = page.get_by_test_id("stApp")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED")
    expect(app).to_have_attribute("data-test-script-state", "notRunning")


def rerun(page: Page, action: Callable[[], object]) -> None:
    """Do action (a click, an Enter) and wait until the script run it starts has finished.

    The page's data-test-script-state is no good for this: a quick run can go from
    "notRunning" to "running" and back within one React render, so the DOM never
    shows it. The server's "script finished" message on the websocket is certain.
    (The DOM may be drawn a moment later: assert on what it shows with expect().)
    A live feed's tick (a fragment's run on the page's own timer) ends too, at any
    moment: the end of one is not the end of the action's run, and is not waited for.
    """
    socket = _SOCKETS.get(page)
    assert socket is not None, "open the page with open_page() before rerun()"
    timed = _TIMED[page]
    with socket.expect_event("framereceived", predicate=lambda m: _is_end_of_run(m, timed)):
        action()


def open_page(page: Page, server: Server, path: str = "/") -> None:
    """Open an address of the app (a page, with or without a query string) and wait.

    Waits until the page's title is drawn and its first script run has finished.
    """
    _watch_socket(page)
    page.goto(server.url(path))
    expect(title(page)).to_have_text(PAGES[path.split("?", 1)[0]])
    wait_for_idle(page)


def title(page: Page) -> Locator:
    """The page's h1 (st.title)."""
    return page.get_by_role("heading", level=1)


# Every note box on the page, in order: the bordered containers keyed note_<number>
# (not other elements whose key merely starts with "note_").
NOTE_BOXES = "[data-testid='stVerticalBlock'][class*='st-key-note_']"


def note_box(page: Page, note_id: int) -> Locator:
    """The bordered container that shows note (key note_<id>)."""
    return page.locator(f".st-key-note_{note_id}")


def note_body(page: Page, note_id: int) -> Locator:
    """The rendered body of note (its text, .notes-text, in its note box)."""
    return note_box(page, note_id).locator(".notes-text")


def alert(page: Page, text: str) -> Locator:
    """A success/info/warning/error message with exactly this text."""
    return page.get_by_test_id("stAlertContainer").filter(
        has_text=re.compile("^" + re.escape(text) + "$")
    )


def fill_note_form(page: Page, prefix: str, username: str | None, body: str | None) -> None:
    """Type into the Username and Note fields of the Create or Update form."""
    if username is not None:
        page.locator(f".st-key-{prefix}_username input").fill(username)
    if body is not None:
        page.locator(f".st-key-{prefix}_body textarea").fill(body)


def saved_alert(page: Page) -> Locator:
    """The "Note #N saved." message of the Create page (or of Save as a new note)."""
    return page.get_by_test_id("stAlertContainer").filter(
        has_text=re.compile(r"^Note #\d+ saved\.$")
    )


def saved_number(page: Page) -> int:
    """The N of the "Note #N saved." message shown now."""
    return int(re.search(r"#(\d+)", saved_alert(page).inner_text()).group(1))


def create_note(page: Page, server: Server, username: str, body: str) -> int:
    """Write a note on the Create page as a person would; return its number.

    Opens the Create page unless the page is on it already (a person writing
    several notes stays there: the form is cleared after each save).
    """
    if page.url != server.url("/create"):
        open_page(page, server, "/create")
    success = saved_alert(page)
    previous = success.inner_text() if success.count() else None
    page.get_by_label("Username").fill(username)
    page.get_by_label("Note", exact=True).fill(body)
    rerun(page, page.get_by_role("button", name="Save note").click)
    if previous is not None:
        expect(success).not_to_have_text(previous)
    expect(success).to_be_visible()
    note_id = saved_number(page)
    # The form is cleared for the next note; the saved note is shown below it.
    expect(page.get_by_label("Note", exact=True)).to_have_value("")
    expect(note_box(page, note_id)).to_be_visible()
    return note_id


def choose_note(page: Page, server: Server, number: int) -> None:
    """Type a number into "Note number" (Update and Delete pages) and press Enter.

    Call it on a freshly opened page. The picker first shows its minimum (1) and
    then the newest note's number, a moment after the run has finished, so wait
    for it to settle on the newest note before typing, or that late update could
    overwrite what was typed.
    """
    field = page.get_by_label("Note number")
    newest = str(db_rows(server.database)[-1].id)
    expect(field).to_have_value(newest)
    if newest != str(number):  # an unchanged value would start no run
        field.fill(str(number))
        rerun(page, lambda: field.press("Enter"))
    expect(field).to_have_value(str(number))


def update_note(page: Page, server: Server, note_id: int, username: str, body: str) -> None:
    """Change note on the Update page as a person would."""
    open_page(page, server, "/update")
    choose_note(page, server, note_id)
    # The form is loaded with the chosen note before the person edits it.
    expect(page.locator(".st-key-update_body textarea")).to_have_value(
        db_row(server.database, note_id).body
    )
    fill_note_form(page, "update", username, body)
    rerun(page, page.get_by_role("button", name="Save changes").click)
    expect(alert(page, f"Note #{note_id} updated.")).to_be_visible()


def stored(server: Server, note_id: int) -> tuple[str, int] | None:
    """Note note_id's body and version as stored, or None if it is not in the notes table."""
    rows = db_query(server.database, "SELECT body, version FROM notes WHERE id = ?", (note_id,))
    return rows[0] if rows else None


def save_after_another(
    first: tuple[Page, Server], second: tuple[Page, Server], note_id: int, texts: tuple[str, ...]
) -> Locator:
    """Two people open note_id on the Update page (each through their own server); the
    first saves texts[1], then the second types texts[2] and presses Save. Checks the
    form showed texts[0] to both and the first save was stored; returns the second
    person's note box."""
    original, first_text, second_text = texts
    for person, server in (first, second):
        open_page(person, server, "/update")
        choose_note(person, server, note_id)
        expect(person.get_by_label("Note", exact=True)).to_have_value(original)
    (page, server), (later, _) = first, second
    page.get_by_label("Note", exact=True).fill(first_text)
    rerun(page, page.get_by_role("button", name="Save changes").click)
    expect(alert(page, f"Note #{note_id} updated.")).to_be_visible()
    assert stored(server, note_id) == (first_text, 2)
    box = later.get_by_label("Note", exact=True)
    box.fill(second_text)
    rerun(later, later.get_by_role("button", name="Save changes").click)
    return box


def screenshot(page: Page, name: str) -> Path:
    """Save what the page shows now as artifacts/<name>.png and return the path."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=path)
    return path


###############################################################################
# Lists of notes, and setup through the app's own store ########################
###############################################################################


def expect_notes(page: Page, note_ids: list[int]) -> None:
    """Wait until the page shows exactly these notes, in this order (and no others)."""
    expect(page.locator(NOTE_BOXES)).to_have_class(
        [re.compile(rf"\bst-key-note_{note_id}\b") for note_id in note_ids]
    )


def db_trash_ids(database: Path | str) -> list[int]:
    """Return the numbers of the notes in the trash table, lowest first."""
    return [note_id for (note_id,) in db_query(database, "SELECT id FROM trash ORDER BY id")]


_APP_MODULES: dict[Path, ModuleType] = {}


def load_app() -> ModuleType:
    """Return the module of the app.py the server runs (NOTES_APP, else the repo's app.py).

    For setting up many notes at once through the app's own NoteService, which
    is much faster than typing them and writes exactly what the app would.
    """
    path = Path(os.environ.get("NOTES_APP") or REPO_ROOT / "app.py").resolve()
    if path not in _APP_MODULES:
        name = f"notes_app_under_test_{len(_APP_MODULES)}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while it loads
        spec.loader.exec_module(module)
        _APP_MODULES[path] = module
    return _APP_MODULES[path]


def store_notes(db_path: Path, notes: list[tuple[str, str]]) -> list[int]:
    """Write (username, body) notes straight into the database with the app's NoteService.

    Returns their numbers, in order. Setup only: tests of writing use the pages.
    """
    app = load_app()
    conn = app.connect(db_path)
    try:
        return [app.NoteService.create_note(conn, user, body).id for user, body in notes]
    finally:
        conn.close()


def trash_notes(db_path: Path, note_ids: list[int]) -> None:
    """Move notes to the trash straight in the database with the app's NoteService (setup)."""
    app = load_app()
    conn = app.connect(db_path)
    try:
        for note_id in note_ids:  # as the operator: any note, signed-in ones too
            app.NoteService.delete_note(conn, note_id, actor=app.OPERATOR)
    finally:
        conn.close()
