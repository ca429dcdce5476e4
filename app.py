"""Littlest Notes: a public feed of 140-character markdown notes.

One file, read top to bottom: Configuration, Model, Store, Views, Entry point.
Each section uses only the sections above it. Run it with ``streamlit run app.py``.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import streamlit as st

###############################################################################
# Configuration ################################################################
###############################################################################

CHAR_LIMIT = 140  # longest note body, in characters (code points)
USERNAME_LIMIT = 140  # longest username, the seed's limit
FEED_PAGE_SIZE = 25  # notes on one page of the feed
RECENT_PICKS = 8  # recent notes (or matches) offered on the Update and Delete pages
SEARCH_MAX_TERMS = 8  # words of a search that are used; the rest is ignored
BUSY_TIMEOUT_S = 5.0  # how long a write waits for another writer's lock
APP_DIR = Path(__file__).resolve().parent
DEFAULT_DB_PATH = APP_DIR / "notes.db"
WELCOME_USERNAME = "Littlest Notes"
WELCOME_BODY = (
    "Welcome to **Littlest Notes**! Write a note of up to 140 characters; "
    "markdown works. Edit or delete it from the sidebar."
)


def resolve_db_path(
    environ: Mapping[str, str] = os.environ, secrets: Mapping[str, object] | None = None
) -> Path:
    """Return the database file: $NOTES_DB, else secrets["notes_db"], else notes.db by app.py."""
    if environ.get("NOTES_DB"):
        return Path(environ["NOTES_DB"]).expanduser()
    if secrets is not None and secrets.get("notes_db"):
        return Path(str(secrets["notes_db"])).expanduser()
    return DEFAULT_DB_PATH


###############################################################################
# Model ########################################################################
###############################################################################

# User-facing messages are constants so that tests can assert them.
MSG_BODY_TYPE = "Note must be text, not {type}."
MSG_BODY_EMPTY = "Note is empty. Write something to save it."
MSG_BODY_TOO_LONG = "Note is {length} characters; the limit is {limit} ({over} over)."
MSG_BODY_CONTROL = (
    "Note contains an invisible control character ({code}) that cannot be saved. "
    "Remove it and try again."
)
MSG_USERNAME_TYPE = "Username must be text, not {type}."
MSG_USERNAME_EMPTY = "Username is empty. Enter the name to post under."
MSG_USERNAME_TOO_LONG = "Username is {length} characters; the limit is {limit} ({over} over)."
MSG_USERNAME_CONTROL = (
    "Username must be one line with no control characters ({code}). Remove it and try again."
)
MSG_NOT_FOUND = "Note #{rowid} does not exist. It may have been deleted."
MSG_NOT_IN_TRASH = "Note #{rowid} is not in the trash. It may have been restored or purged."
MSG_CONFLICT = (
    "Note #{rowid} was changed by someone else since you opened it (it is now version "
    "{version}). Nothing was saved. Compare it with your text below, then save again."
)
MSG_DELETE_CONFLICT = (
    "Note #{rowid} was changed by someone else since you opened it. Nothing was deleted: "
    "read it again, then delete it if you still want to."
)

# Newline and tab are fine in a markdown body; every other C0 control and DEL is not.
_BODY_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_USERNAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


class NotesError(Exception):
    """Base of every error whose message a person can act on."""


class InvalidNoteError(NotesError, ValueError):
    """A username or body breaks the rules."""


class NoteNotFoundError(NotesError, LookupError):
    """No note has the requested number."""


class ConflictError(NotesError):
    """The note changed since the person saw it; `current` is what is stored now."""

    def __init__(self, message: str, current: Note) -> None:
        super().__init__(message)
        self.current = current


class StorageError(NotesError):
    """The database cannot do what was asked (locked, read-only, damaged, missing)."""


@dataclass(frozen=True)
class BaseNote:
    """A note's content and times (UTC epoch seconds)."""

    created_timestamp: int
    updated_timestamp: int
    username: str
    body: str


@dataclass(frozen=True)
class Note(BaseNote):
    """A stored note, its number, and its version (1, then one more at each edit)."""

    rowid: int
    version: int = 1

    @property
    def edited(self) -> bool:
        """True if the note was changed after it was written (even within the same second)."""
        return self.version > 1 or self.updated_timestamp != self.created_timestamp


_BODY_MESSAGES = (MSG_BODY_TYPE, MSG_BODY_EMPTY, MSG_BODY_TOO_LONG, MSG_BODY_CONTROL)
_USERNAME_MESSAGES = (
    MSG_USERNAME_TYPE,
    MSG_USERNAME_EMPTY,
    MSG_USERNAME_TOO_LONG,
    MSG_USERNAME_CONTROL,
)


def _check_text(
    value: object, limit: int, forbidden: re.Pattern, messages: tuple[str, str, str, str]
) -> str:
    """Return value normalised (CRLF to LF, stripped) or raise InvalidNoteError."""
    msg_type, msg_empty, msg_long, msg_control = messages
    if not isinstance(value, str):
        raise InvalidNoteError(msg_type.format(type=type(value).__name__))
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidNoteError(msg_empty)
    if len(text) > limit:
        over = len(text) - limit
        raise InvalidNoteError(msg_long.format(length=len(text), limit=limit, over=over))
    if match := forbidden.search(text):
        raise InvalidNoteError(msg_control.format(code=f"U+{ord(match.group()):04X}"))
    return text


def validate_note(username: object, body: object) -> tuple[str, str]:
    """Return (username, body) normalised for storage; raise InvalidNoteError if either is bad."""
    return (
        _check_text(username, USERNAME_LIMIT, _USERNAME_FORBIDDEN, _USERNAME_MESSAGES),
        _check_text(body, CHAR_LIMIT, _BODY_FORBIDDEN, _BODY_MESSAGES),
    )


# A tag is # then a letter then letters, digits, _ or -, not inside a word or URL ("a#b").
_TAG = re.compile(r"(?<![\w#&/])#([^\W\d_][\w-]{0,49})")


@dataclass(frozen=True)
class NoteVersion:
    """An earlier version of a note, as it was before an edit."""

    rowid: int
    version: int
    username: str
    body: str
    updated_timestamp: int


def extract_tags(body: str) -> list[str]:
    """Return the distinct #tags of a body, lower-cased, in order of appearance."""
    return list(dict.fromkeys(tag.lower() for tag in _TAG.findall(body)))


def search_terms(text: str) -> list[str]:
    """Return the words of a search (letters and digits), at most SEARCH_MAX_TERMS of them."""
    # Split as the search index does: "_" separates words there too.
    return re.findall(r"[^\W_]+", text)[:SEARCH_MAX_TERMS]


def now_timestamp() -> int:
    """Return the current UTC epoch second (time.time() is UTC whatever the host's zone)."""
    return int(time.time())


###############################################################################
# Store ########################################################################
###############################################################################

SCHEMA_VERSION = 3

MSG_DB_LOCKED = (
    "The database is busy: another writer held it for more than {seconds:g} seconds. "
    "Nothing was saved; please try again."
)
MSG_DB_READ_ONLY = "The database is read-only, so nothing can be saved right now."
MSG_DB_CANNOT_OPEN = (
    "The database file '{name}' cannot be opened: its folder is missing or not writable."
)
MSG_DB_NOT_A_DATABASE = (
    "The file '{name}' is not a notes database, or it is damaged. Nothing was changed."
)
MSG_DB_FULL = "The disk is full, so nothing was saved."
MSG_DB_OTHER = "The database failed: {error}. Nothing was saved."

# GLOB character classes for the CHECK constraints: C0 controls and DEL, as ranges
# (a range is several times faster to check than a list of thirty characters).
_SQL_CONTROLS_EXCEPT_LF_TAB = "char(1) || '-' || char(8, 11) || '-' || char(31, 127)"
_SQL_ALL_CONTROLS = "char(1) || '-' || char(31, 127)"

# The rules of validate_note, enforced by the database as well, so that no writer
# (a future script, a bug, a hand-edit in the sqlite3 shell) can store a bad note.
_CREATE_NOTES_TABLE = f"""
CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a deleted number is never reused
    created_timestamp INTEGER NOT NULL CHECK (typeof(created_timestamp) = 'integer'),
    updated_timestamp INTEGER NOT NULL CHECK (typeof(updated_timestamp) = 'integer'
                                              AND updated_timestamp >= created_timestamp),
    username TEXT NOT NULL CHECK (
        typeof(username) = 'text'
        AND length(username) BETWEEN 1 AND {USERNAME_LIMIT}
        AND username = trim(username)
        AND instr(username, char(0)) = 0
        AND username NOT GLOB '*[' || {_SQL_ALL_CONTROLS} || ']*'),
    body TEXT NOT NULL CHECK (
        typeof(body) = 'text'
        AND length(body) BETWEEN 1 AND {CHAR_LIMIT}
        AND body = trim(body, char(32, 9, 10))
        AND instr(body, char(0)) = 0
        AND body NOT GLOB '*[' || {_SQL_CONTROLS_EXCEPT_LF_TAB} || ']*')
)
"""
# Newest-first listing (ORDER BY id DESC) walks the table's own rowid b-tree
# backwards: id is the INTEGER PRIMARY KEY, so that b-tree is the index that serves it.

_NOTE_COLUMNS = "created_timestamp, updated_timestamp, username, body, id, version"


def _storage_error(error: sqlite3.Error, path: str) -> StorageError:
    """Translate a sqlite3 error into a StorageError with a message a person can act on."""
    text = str(error).lower()
    name = Path(path).name
    if "locked" in text or "busy" in text:
        message = MSG_DB_LOCKED.format(seconds=BUSY_TIMEOUT_S)
    elif "readonly" in text or "read-only" in text:
        message = MSG_DB_READ_ONLY
    elif "unable to open" in text:
        message = MSG_DB_CANNOT_OPEN.format(name=name)
    elif "not a database" in text or "malformed" in text:
        message = MSG_DB_NOT_A_DATABASE.format(name=name)
    elif "full" in text:
        message = MSG_DB_FULL
    else:
        message = MSG_DB_OTHER.format(error=error)
    return StorageError(message)


def _db_name(conn: sqlite3.Connection) -> str:
    """Return the file behind conn (for messages)."""
    try:
        return conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:"
    except sqlite3.Error:
        return "notes.db"


def _read(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one parameterised query and return its rows; raise StorageError on failure."""
    try:
        return conn.execute(sql, params).fetchall()
    except sqlite3.Error as error:
        raise _storage_error(error, _db_name(conn)) from error


class _Connection(sqlite3.Connection):
    """A sqlite3 connection that carries the in-process write queue of its database file."""

    write_queue: threading.Lock | None = None


_write_queues: dict[str, threading.Lock] = {}
_write_queues_guard = threading.Lock()


def _write_queue(path: str | os.PathLike) -> threading.Lock:
    """Return the one lock that the threads of this process take to write to path."""
    key = os.path.realpath(path)
    with _write_queues_guard:
        return _write_queues.setdefault(key, threading.Lock())


@contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block as one transaction: all of it is committed, or none of it.

    Threads of this process queue on a lock first: SQLite's busy handler polls
    with growing sleeps, so under load a writer that waited longest could wait
    past the timeout while newer ones went first (seen by bench/stress.py).
    BEGIN IMMEDIATE then takes SQLite's write lock up front (other processes wait
    their busy timeout), so no writer fails halfway upgrading a read lock.
    Raises StorageError if the database refuses or stays locked.
    """
    queue = getattr(conn, "write_queue", None)
    if queue is not None and not queue.acquire(timeout=BUSY_TIMEOUT_S):
        raise StorageError(MSG_DB_LOCKED.format(seconds=BUSY_TIMEOUT_S))
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise _storage_error(error, _db_name(conn)) from error
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.IntegrityError):
                raise InvalidNoteError(f"The database refused the note: {error}.") from error
            if isinstance(error, sqlite3.Error):
                raise _storage_error(error, _db_name(conn)) from error
            raise
    finally:
        if queue is not None:
            queue.release()


def _fts_query(terms: list[str]) -> str:
    """Return an FTS5 query for all terms, the last matched as a prefix (it may be half-typed).

    Terms are letters and digits only, so quoting them leaves no FTS5 syntax to break.
    """
    *whole, last = terms
    return " ".join([*(f'"{term}"' for term in whole), f'"{last}"*'])


def _note(row: tuple) -> Note:
    """Build a Note from a row selected with _NOTE_COLUMNS."""
    return Note(*row)


def _migrate_to_v1(conn: sqlite3.Connection) -> None:
    """Create the notes table, or rebuild the seed's table with explicit ids kept."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(notes)")]
    if not columns:
        conn.execute(_CREATE_NOTES_TABLE)
        conn.execute(
            "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
            " VALUES (?, ?, ?, ?)",
            (now := now_timestamp(), now, WELCOME_USERNAME, WELCOME_BODY),
        )
        return
    # The seed's table: same columns, implicit rowid, no constraints. Copy each row
    # into the new table under its old rowid; a row today's rules refuse is kept
    # verbatim in legacy_rejected_notes rather than dropped.
    conn.execute("ALTER TABLE notes RENAME TO legacy_notes")
    conn.execute(_CREATE_NOTES_TABLE)
    conn.execute(
        "CREATE TABLE legacy_rejected_notes (rowid_was INTEGER PRIMARY KEY, created_timestamp,"
        " updated_timestamp, username, body, reason TEXT NOT NULL)"
    )
    rows = conn.execute(
        "SELECT rowid, created_timestamp, updated_timestamp, username, body"
        " FROM legacy_notes ORDER BY rowid"
    )
    for rowid, created, updated, username, body in rows.fetchall():
        try:
            clean_username, clean_body = validate_note(username, body)
            created_ts = int(float(created))
            updated_ts = max(int(float(updated if updated is not None else created)), created_ts)
        except (InvalidNoteError, TypeError, ValueError) as error:
            conn.execute(
                "INSERT INTO legacy_rejected_notes VALUES (?, ?, ?, ?, ?, ?)",
                (rowid, created, updated, username, body, str(error)),
            )
            continue
        conn.execute(
            "INSERT INTO notes (created_timestamp, updated_timestamp, username, body, id)"
            " VALUES (?, ?, ?, ?, ?)",
            (created_ts, updated_ts, clean_username, clean_body, rowid),
        )
    conn.execute("DROP TABLE legacy_notes")


# Search, filters and counts that cost the same at a million notes as at a hundred.
_V2_STATEMENTS = [
    # Notes by one author, newest first, by keyset on id.
    "CREATE INDEX notes_by_author ON notes (username, id)",
    # Full-text index over body and username; the triggers below keep it in sync.
    # prefix='1 2 3 4 5 6': a word typed so far (up to 6 letters) is matched by prefix
    # from its own index instead of merging the lists of every word it starts.
    "CREATE VIRTUAL TABLE notes_fts USING fts5(body, username, content='notes',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 5 6')",
    # #tags of each note (written by NoteService in the note's own transaction).
    "CREATE TABLE note_tags (tag TEXT NOT NULL, note_id INTEGER NOT NULL,"
    " PRIMARY KEY (tag, note_id)) WITHOUT ROWID",
    "CREATE INDEX note_tags_by_note ON note_tags (note_id)",
    # Note counts per author, and the total under the username '' (which no note can
    # have), maintained by triggers so that no page runs COUNT(*) over the table.
    "CREATE TABLE note_counts (username TEXT PRIMARY KEY,"
    " notes INTEGER NOT NULL CHECK (notes >= 0)) WITHOUT ROWID",
    """CREATE TRIGGER notes_after_insert AFTER INSERT ON notes BEGIN
        INSERT INTO notes_fts (rowid, body, username) VALUES (new.id, new.body, new.username);
        INSERT INTO note_counts VALUES (new.username, 1), ('', 1)
            ON CONFLICT (username) DO UPDATE SET notes = notes + 1;
    END""",
    """CREATE TRIGGER notes_after_delete AFTER DELETE ON notes BEGIN
        INSERT INTO notes_fts (notes_fts, rowid, body, username)
            VALUES ('delete', old.id, old.body, old.username);
        UPDATE note_counts SET notes = notes - 1 WHERE username IN (old.username, '');
        DELETE FROM note_counts WHERE username = old.username AND notes = 0;
        DELETE FROM note_tags WHERE note_id = old.id;
    END""",
    """CREATE TRIGGER notes_after_update AFTER UPDATE OF username, body ON notes BEGIN
        INSERT INTO notes_fts (notes_fts, rowid, body, username)
            VALUES ('delete', old.id, old.body, old.username);
        INSERT INTO notes_fts (rowid, body, username) VALUES (new.id, new.body, new.username);
    END""",
    """CREATE TRIGGER notes_after_rename AFTER UPDATE OF username ON notes
        WHEN old.username <> new.username BEGIN
        UPDATE note_counts SET notes = notes - 1 WHERE username = old.username;
        DELETE FROM note_counts WHERE username = old.username AND notes = 0;
        INSERT INTO note_counts VALUES (new.username, 1)
            ON CONFLICT (username) DO UPDATE SET notes = notes + 1;
    END""",
]
# Rebuild the search index and the counts from the notes table, in one pass each.
_REBUILD_DERIVED = [
    "INSERT INTO notes_fts (notes_fts) VALUES ('rebuild')",
    "DELETE FROM note_counts",
    "INSERT INTO note_counts SELECT username, count(*) FROM notes GROUP BY username",
    "INSERT INTO note_counts VALUES ('', (SELECT count(*) FROM notes))",
]


def _migrate_to_v2(conn: sqlite3.Connection) -> None:
    """Add full-text search, tags, the author index and maintained counts."""
    for statement in _V2_STATEMENTS + _REBUILD_DERIVED:
        conn.execute(statement)
    for rowid, body in conn.execute("SELECT id, body FROM notes").fetchall():
        _store_tags(conn, rowid, body)


def _store_tags(conn: sqlite3.Connection, rowid: int, body: str) -> None:
    """Replace the #tags recorded for note rowid with those of body (inside a transaction)."""
    conn.execute("DELETE FROM note_tags WHERE note_id = ?", (rowid,))
    conn.executemany(
        "INSERT INTO note_tags (tag, note_id) VALUES (?, ?)",
        [(tag, rowid) for tag in extract_tags(body)],
    )


# Nothing is lost: each edit keeps the version it replaces, and a delete moves the
# note to the trash (same number, same timestamps) until it is purged.
_V3_STATEMENTS = [
    "ALTER TABLE notes ADD COLUMN version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1)",
    "CREATE TABLE note_history (note_id INTEGER NOT NULL, version INTEGER NOT NULL,"
    " username TEXT NOT NULL, body TEXT NOT NULL, updated_timestamp INTEGER NOT NULL,"
    " PRIMARY KEY (note_id, version)) WITHOUT ROWID",
    """CREATE TRIGGER notes_keep_history AFTER UPDATE OF username, body ON notes BEGIN
        INSERT INTO note_history VALUES
            (old.id, old.version, old.username, old.body, old.updated_timestamp);
    END""",
    "CREATE TABLE trash (id INTEGER PRIMARY KEY, created_timestamp INTEGER NOT NULL,"
    " updated_timestamp INTEGER NOT NULL, username TEXT NOT NULL, body TEXT NOT NULL,"
    " version INTEGER NOT NULL, deleted_timestamp INTEGER NOT NULL)",
]


def _migrate_to_v3(conn: sqlite3.Connection) -> None:
    """Add note versions, the history of edits and the trash."""
    for statement in _V3_STATEMENTS:
        conn.execute(statement)


_MIGRATIONS = [
    _migrate_to_v1,
    _migrate_to_v2,
    _migrate_to_v3,
]  # _MIGRATIONS[n] brings user_version n to n + 1


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to SCHEMA_VERSION, each step in its own transaction."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    with _write(conn):
        # Read again under the write lock: another process may have migrated meanwhile.
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in _MIGRATIONS[version:]:
            step(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def connect(path: str | os.PathLike) -> sqlite3.Connection:
    """Open the database at path, configure it and bring its schema up to date.

    The connection belongs to the thread that opened it. Raises StorageError if
    the file cannot be opened, is not a database, or stays locked.
    """
    try:
        # isolation_level=None: no implicit transactions; _write() issues BEGIN/COMMIT.
        conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_S, isolation_level=None, factory=_Connection
        )
    except sqlite3.Error as error:
        raise _storage_error(error, str(path)) from error
    conn.write_queue = _write_queue(path)
    try:
        # WAL: readers never block the writer and the writer never blocks readers.
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a commit survives the process being killed and the file is
        # never corrupted; only a power cut can undo the last few commits. FULL (an fsync
        # per commit) measured 1,900 writes/s against NORMAL's 4,400 on this machine.
        conn.execute("PRAGMA synchronous = NORMAL")
        _migrate(conn)
    except sqlite3.Error as error:
        conn.close()
        raise _storage_error(error, str(path)) from error
    except NotesError:
        conn.close()
        raise
    return conn


class NoteService:
    """Every operation on notes. Each takes the connection first and returns Notes."""

    @staticmethod
    def list_all_notes(conn: sqlite3.Connection) -> list[Note]:
        """Return every note, newest first."""
        rows = _read(conn, f"SELECT {_NOTE_COLUMNS} FROM notes ORDER BY id DESC")
        return [_note(row) for row in rows]

    @staticmethod
    def list_notes(
        conn: sqlite3.Connection,
        limit: int = FEED_PAGE_SIZE,
        before: int | None = None,
        after: int | None = None,
        *,
        search: str = "",
        author: str | None = None,
        tag: str | None = None,
    ) -> list[Note]:
        """Return up to limit notes, newest first, older than `before` or newer than `after`.

        Optional filters narrow the feed: `search` (words, each matched as a prefix in
        body or username), `author` (exact username) and `tag` (without the #).
        Any search text is safe: it is reduced to words, never passed as FTS syntax.
        """
        newer = after is not None
        bound = after if newer else (before if before is not None else 2**63 - 1)
        terms = search_terms(search)
        if search and not terms:
            return []  # only punctuation or symbols: nothing can match
        # The most selective structure drives the query in id order, so that the LIMIT
        # stops it early: the search index, else the tag list, else the notes table
        # (whose author index also yields ids in order).
        if terms:
            source, key = "notes_fts JOIN notes ON notes.id = notes_fts.rowid", "notes_fts.rowid"
            conditions, params = ["notes_fts MATCH ?"], [_fts_query(terms)]
        elif tag is not None:
            source, key = (
                "note_tags JOIN notes ON notes.id = note_tags.note_id",
                "note_tags.note_id",
            )
            conditions, params = ["note_tags.tag = ?"], [tag.lower()]
        else:
            source, key, conditions, params = "notes", "notes.id", [], []
        conditions.append(f"{key} {'>' if newer else '<'} ?")
        params.append(bound)
        if author is not None:
            # With a search or tag driving, "+" keeps SQLite from driving by author instead.
            conditions.append("notes.username = ?" if source == "notes" else "+notes.username = ?")
            params.append(author)
        if tag is not None and terms:
            conditions.append(
                "EXISTS (SELECT 1 FROM note_tags WHERE tag = ? AND note_id = notes.id)"
            )
            params.append(tag.lower())
        columns = ", ".join(f"notes.{column}" for column in _NOTE_COLUMNS.split(", "))
        rows = _read(
            conn,
            f"SELECT {columns} FROM {source} WHERE {' AND '.join(conditions)}"
            f" ORDER BY {key} {'ASC' if newer else 'DESC'} LIMIT ?",
            (*params, limit),
        )
        if newer:
            rows.reverse()
        return [_note(row) for row in rows]

    @staticmethod
    def get_note(conn: sqlite3.Connection, rowid: int) -> Note:
        """Return note number rowid. Raises NoteNotFoundError if there is none."""
        rows = _read(conn, f"SELECT {_NOTE_COLUMNS} FROM notes WHERE id = ?", (rowid,))
        if not rows:
            raise NoteNotFoundError(MSG_NOT_FOUND.format(rowid=rowid))
        return _note(rows[0])

    @staticmethod
    def count_notes(conn: sqlite3.Connection, author: str | None = None) -> int:
        """Return how many notes there are (by author, if given), from maintained counts."""
        rows = _read(conn, "SELECT notes FROM note_counts WHERE username = ?", (author or "",))
        return rows[0][0] if rows else 0

    @staticmethod
    def create_note(
        conn: sqlite3.Connection, username: object, body: object, now: int | None = None
    ) -> Note:
        """Validate and store a new note; return it. Raises InvalidNoteError or StorageError."""
        clean_username, clean_body = validate_note(username, body)
        stamp = now_timestamp() if now is None else now
        with _write(conn):
            row = conn.execute(
                "INSERT INTO notes (created_timestamp, updated_timestamp, username, body)"
                f" VALUES (?, ?, ?, ?) RETURNING {_NOTE_COLUMNS}",
                (stamp, stamp, clean_username, clean_body),
            ).fetchone()
            _store_tags(conn, row[4], clean_body)  # row[4]: the new id
        return _note(row)

    @staticmethod
    def update_note(
        conn: sqlite3.Connection,
        rowid: int,
        username: object,
        body: object,
        *,
        version: int | None = None,
        now: int | None = None,
    ) -> Note:
        """Change a note's username and body (keeping the old version); return it.

        With `version`, only if the note is still at that version (the one the person
        saw). Raises NoteNotFoundError if it is gone, ConflictError if it changed.
        """
        clean_username, clean_body = validate_note(username, body)
        stamp = now_timestamp() if now is None else now
        with _write(conn):
            row = conn.execute(
                "UPDATE notes SET username = ?1, body = ?2, version = version + 1,"
                " updated_timestamp = max(?3, created_timestamp)"
                " WHERE id = ?4 AND version = coalesce(?5, version)"
                f" AND (username <> ?1 OR body <> ?2) RETURNING {_NOTE_COLUMNS}",
                (clean_username, clean_body, stamp, rowid, version),
            ).fetchone()
            if row is not None:
                _store_tags(conn, rowid, clean_body)
        if row is not None:
            return _note(row)
        current = NoteService.get_note(conn, rowid)  # raises NoteNotFoundError if gone
        if version is not None and current.version != version:
            raise ConflictError(MSG_CONFLICT.format(rowid=rowid, version=current.version), current)
        return current  # the same text again: nothing to save, no new version

    @staticmethod
    def note_history(conn: sqlite3.Connection, rowid: int) -> list[NoteVersion]:
        """Return the earlier versions of note rowid, newest first."""
        rows = _read(
            conn,
            "SELECT note_id, version, username, body, updated_timestamp FROM note_history"
            " WHERE note_id = ? ORDER BY version DESC",
            (rowid,),
        )
        return [NoteVersion(*row) for row in rows]

    @staticmethod
    def restore_version(
        conn: sqlite3.Connection, rowid: int, old_version: int, *, version: int | None = None
    ) -> Note:
        """Make an earlier version the note's text again, as a new edit; return the note.

        Raises NoteNotFoundError if that version is unknown, ConflictError as update_note.
        """
        rows = _read(
            conn,
            "SELECT username, body FROM note_history WHERE note_id = ? AND version = ?",
            (rowid, old_version),
        )
        if not rows:
            raise NoteNotFoundError(MSG_NOT_FOUND.format(rowid=f"{rowid} version {old_version}"))
        return NoteService.update_note(conn, rowid, *rows[0], version=version)

    @staticmethod
    def delete_note(
        conn: sqlite3.Connection,
        rowid: int,
        *,
        version: int | None = None,
        now: int | None = None,
    ) -> Note:
        """Move a note to the trash and return it (restore_note brings it back).

        With `version`, only if the note is still at that version. Raises
        NoteNotFoundError if it is gone, ConflictError if it changed.
        """
        with _write(conn):
            row = conn.execute(
                "DELETE FROM notes WHERE id = ? AND version = coalesce(?, version)"
                f" RETURNING {_NOTE_COLUMNS}",
                (rowid, version),
            ).fetchone()
            if row is not None:
                conn.execute(
                    f"INSERT INTO trash ({_NOTE_COLUMNS}, deleted_timestamp)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*row, now_timestamp() if now is None else now),
                )
        if row is None:
            current = NoteService.get_note(conn, rowid)  # raises NoteNotFoundError if gone
            raise ConflictError(MSG_DELETE_CONFLICT.format(rowid=rowid), current)
        return _note(row)

    @staticmethod
    def list_trash(
        conn: sqlite3.Connection, limit: int = FEED_PAGE_SIZE, before: int | None = None
    ) -> list[Note]:
        """Return up to limit trashed notes, highest number first, below `before`."""
        rows = _read(
            conn,
            f"SELECT {_NOTE_COLUMNS} FROM trash WHERE id < ? ORDER BY id DESC LIMIT ?",
            (before if before is not None else 2**63 - 1, limit),
        )
        return [_note(row) for row in rows]

    @staticmethod
    def restore_note(conn: sqlite3.Connection, rowid: int) -> Note:
        """Bring a trashed note back with its number, timestamps and version; return it.

        Raises NoteNotFoundError if it is not in the trash.
        """
        with _write(conn):
            row = conn.execute(
                f"DELETE FROM trash WHERE id = ? RETURNING {_NOTE_COLUMNS}", (rowid,)
            ).fetchone()
            if row is not None:
                conn.execute(f"INSERT INTO notes ({_NOTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row)
                _store_tags(conn, rowid, row[3])
        if row is None:
            raise NoteNotFoundError(MSG_NOT_IN_TRASH.format(rowid=rowid))
        return _note(row)

    @staticmethod
    def purge_note(conn: sqlite3.Connection, rowid: int | None = None) -> int:
        """Delete a trashed note (or, with no rowid, the whole trash) and its history for good.

        Returns how many notes were purged; raises NoteNotFoundError if rowid is not
        in the trash.
        """
        with _write(conn):
            purged = conn.execute(
                "DELETE FROM trash WHERE id = coalesce(?, id) RETURNING id", (rowid,)
            ).fetchall()
            conn.executemany("DELETE FROM note_history WHERE note_id = ?", purged)
        if rowid is not None and not purged:
            raise NoteNotFoundError(MSG_NOT_IN_TRASH.format(rowid=rowid))
        return len(purged)


###############################################################################
# Views ########################################################################
###############################################################################

MSG_NO_NOTES = "No notes yet. Write the first one on the **Create a Note** page."
MSG_CREATED = "Note #{rowid} saved."
MSG_UPDATED = "Note #{rowid} updated."
MSG_DELETED = "Note #{rowid} deleted. It is in the Trash until purged."
MSG_RESTORED = "Note #{rowid} restored."
MSG_VERSION_RESTORED = "Note #{rowid} is back to version {old} (saved as version {new})."
MSG_PURGED = "{count} note(s) deleted for good."
MSG_TRASH_EMPTY = "The trash is empty."
MSG_FEED_PAGE_EMPTY = "No notes on this page any more. Go back to the newest notes."
MSG_NO_MATCHES = "No notes match. Try fewer or shorter words."
MSG_NO_PICKS = "No notes match that search."
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])")


def _secrets() -> Mapping[str, object]:
    """Return st.secrets, or {} when the app has no secrets file (not an error)."""
    try:
        return {"notes_db": st.secrets.get("notes_db")}
    except FileNotFoundError:  # StreamlitSecretNotFoundError when there is no secrets.toml
        return {}


@st.cache_resource(show_spinner=False)
def _connections(path: str) -> threading.local:
    """Hold one sqlite3 connection per thread for the database at path.

    Streamlit runs each session's script in its own thread, and a sqlite3
    connection must not be shared between threads without a lock. One connection
    per thread keeps reads concurrent (WAL) while SQLite serialises the writes.
    """
    return threading.local()


def get_connection() -> sqlite3.Connection:
    """Return this thread's connection to the configured database (the one cached getter)."""
    path = resolve_db_path(os.environ, _secrets())
    local = _connections(str(path))
    if getattr(local, "conn", None) is None:
        local.conn = connect(path)
    return local.conn


def _escape_markdown(text: str) -> str:
    """Return text with markdown syntax escaped, so it shows literally."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def _format_time(timestamp: int) -> str:
    """Return a UTC epoch second as a date and time in the reader's browser time zone."""
    try:
        zone = ZoneInfo(st.context.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.fromtimestamp(timestamp, zone).strftime("%d %b %Y, %H:%M %Z")


def _feed_page() -> st.Page:
    """Return the feed's page, for links to it (with query parameters) from any page."""
    return st.Page(render_read, title="Read Note Feed", icon=":material/feed:", default=True)


def _link_tags(body: str) -> str:
    """Return markdown body with each #tag turned into a link to the feed filtered by it."""
    return _TAG.sub(lambda m: f"[#{m.group(1)}](./?tag={m.group(1).lower()})", body)


# Parts of markdown where an inserted highlight would break the syntax: link targets,
# code spans and anything between angle brackets.
_UNHIGHLIGHTABLE = re.compile(r"(\]\([^)]*\)|`[^`]*`|<[^>]*>)")


def _highlight(markdown: str, terms: list[str]) -> str:
    """Return markdown with the words that start with one of terms highlighted."""
    word = re.compile(
        r"(?<!\w)((?:" + "|".join(re.escape(t) for t in terms) + r")\w*)", re.IGNORECASE
    )
    pieces = _UNHIGHLIGHTABLE.split(markdown)
    # split() with one group alternates: text, protected, text, protected, ..., text.
    return "".join(
        piece if i % 2 else word.sub(r":orange-background[\1]", piece)
        for i, piece in enumerate(pieces)
    )


def _show_in_feed(**params: str) -> None:
    """Show the feed with exactly these query parameters (and no search): a callback."""
    st.query_params.from_dict(params)
    st.session_state.q = ""


def _feed_link(label: str, params: dict[str, str], key: str, icon: str, help: str, here: bool):
    """A link to the feed with query params; from the feed itself, a button that sets them.

    A page_link to the page already shown runs it but leaves the address bar as it was
    (Streamlit 1.67), so the view could not be reloaded, shared or left with Back.
    """
    if here:
        st.button(
            label,
            key=key,
            icon=icon,
            help=help,
            type="tertiary",
            on_click=_show_in_feed,
            kwargs=params,
        )
    else:
        st.page_link(_feed_page(), label=label, query_params=params, icon=icon, help=help)


def _render_note(note: Note, terms: list[str] | None = None, links: str | None = "page") -> None:
    """Show one note: body as markdown (raw HTML escaped), author, times, number, tags.

    links: "feed" on the feed itself, "page" on other pages, None for no links at all
    (a trashed or historical note).
    """
    with st.container(border=True, key=f"note_{note.rowid}"):
        body = _link_tags(note.body)
        # Default st.markdown: raw HTML is escaped and javascript: links neutralised.
        st.markdown(_highlight(body, terms) if terms else body)
        if links is None:
            st.caption(
                f"{_escape_markdown(note.username)} · \\#{note.rowid} · "
                f"{_format_time(note.updated_timestamp)}"
            )
            return
        with st.container(horizontal=True, gap="small", vertical_alignment="center"):
            here = links == "feed"
            _feed_link(
                _escape_markdown(note.username),
                {"author": note.username},
                f"author_of_{note.rowid}",
                ":material/person:",
                "All notes by this author",
                here,
            )
            when = _format_time(note.created_timestamp)
            if note.edited:
                when += f" · edited {_format_time(note.updated_timestamp)}"
            st.caption(when)
            _feed_link(
                f"\\#{note.rowid}",
                {"note": str(note.rowid)},
                f"permalink_{note.rowid}",
                ":material/link:",
                "Link to this note alone",
                here,
            )


def _notes_frame(notes: list[Note]) -> pd.DataFrame:
    """Return notes as a table, one row a note, with the stored columns."""
    columns = ["rowid", "created_timestamp", "updated_timestamp", "username", "body"]
    return pd.DataFrame([asdict(note) for note in notes], columns=columns)


def _query_int(name: str) -> int | None:
    """Return query parameter name as a positive int, or None if absent or not a number."""
    value = st.query_params.get(name)
    return int(value) if value and value.isdigit() and len(value) < 19 else None


def _go_to_page(direction: str | None = None, rowid: int | None = None) -> None:
    """Move the feed to the page before or after note rowid, or to the newest (in the URL)."""
    for name in ("before", "after"):
        if name in st.query_params:
            del st.query_params[name]
    if direction is not None:
        st.query_params[direction] = str(rowid)


def _render_permalink(conn: sqlite3.Connection, rowid: int) -> None:
    """Show note rowid alone (the target of its permalink)."""
    try:
        _render_note(NoteService.get_note(conn, rowid), links="feed")
    except NoteNotFoundError as error:
        st.warning(str(error))
    st.button(
        "All notes", key="feed_all_notes", icon=":material/arrow_back:", on_click=_show_in_feed
    )


def render_read() -> None:
    """The feed: newest notes first, a page at a time, with search and filters in the URL."""
    st.title("Read Note Feed")
    conn = get_connection()
    if (rowid := _query_int("note")) is not None:
        _render_permalink(conn, rowid)
        return
    search = st.text_input(
        "Search notes",
        key="q",
        bind="query-params",
        on_change=_go_to_page,
        placeholder="Words from a note or an author's name",
    )
    author, tag = st.query_params.get("author"), st.query_params.get("tag")
    if author or tag:
        what = f"by **{_escape_markdown(author)}** " if author else ""
        what += f"tagged **\\#{_escape_markdown(tag)}**" if tag else ""
        count = f" ({NoteService.count_notes(conn, author)} in all)" if author and not tag else ""
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(f"Notes {what.strip()}{count}")
        right.button("Show all", key="feed_show_all", on_click=_show_in_feed)
    filters = {"search": search or "", "author": author or None, "tag": tag or None}
    before, after = _query_int("before"), _query_int("after")
    notes = NoteService.list_notes(conn, before=before, after=after, **filters)
    if not notes:
        if before is not None or after is not None:
            st.info(MSG_FEED_PAGE_EMPTY)
            st.button("Newest notes", key="feed_newest", on_click=_go_to_page)
        else:
            st.info(MSG_NO_MATCHES if any(filters.values()) else MSG_NO_NOTES)
        return
    terms = search_terms(search or "")
    for note in notes:
        _render_note(note, terms, links="feed")
    newer = NoteService.list_notes(conn, limit=1, after=notes[0].rowid, **filters)
    older = NoteService.list_notes(conn, limit=1, before=notes[-1].rowid, **filters)
    left, right = st.columns(2)
    if newer:
        left.button(
            "← Newer", key="feed_newer", on_click=_go_to_page, args=("after", notes[0].rowid)
        )
    if older:
        right.button(
            "Older →", key="feed_older", on_click=_go_to_page, args=("before", notes[-1].rowid)
        )
    with st.expander("Raw Note Table Data"):
        st.dataframe(_notes_frame(notes), hide_index=True, key="feed_table")


def _note_fields(prefix: str) -> None:
    """Show the Username and Note inputs that the Create and Update forms share."""
    st.text_input("Username", key=f"{prefix}_username", placeholder="Who is writing?")
    # No max_chars: with it the browser silently drops a paste that is too long.
    # The limit is checked on save, and the message says how far over the text is.
    st.text_area(
        "Note",
        key=f"{prefix}_body",
        height=170,
        placeholder=f"Up to {CHAR_LIMIT} characters. Markdown works: **bold**, - lists, [links](https://…)",
    )
    st.caption(f"Up to {CHAR_LIMIT} characters of markdown.")


def _flash(prefix: str) -> None:
    """Show (once) the outcome a form callback left for this page."""
    outcome = st.session_state.pop(f"{prefix}_outcome", None)
    if outcome is None:
        return
    kind, message, note = outcome
    if kind == "success":
        st.success(message)
        if note is not None:
            _render_note(note)
    elif kind == "deleted":  # a delete can be undone right away
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.success(message)
        right.button("Undo", key=f"{prefix}_undo", on_click=_on_restore, args=(prefix, note.rowid))
    elif kind == "conflict":
        st.error(message)
        theirs, yours = st.columns(2)
        with theirs:
            st.caption(f"Saved now (version {note.version})")
            _render_note(note, links=None)
        with yours:
            st.caption("Your text (still in the form)")
            with st.container(border=True):
                st.markdown(st.session_state.get(f"{prefix}_body") or "")
    else:
        st.error(message)


def _on_create() -> None:
    """Save the Create form; on success clear the note box (callbacks may change widgets)."""
    state = st.session_state
    try:
        note = NoteService.create_note(get_connection(), state.create_username, state.create_body)
    except NotesError as error:
        state.create_outcome = ("error", str(error), None)
    else:
        state.create_body = ""
        state.create_outcome = ("success", MSG_CREATED.format(rowid=note.rowid), note)


def render_create() -> None:
    """The Create page: a form for a new note."""
    st.title("Create a Note")
    with st.form("create_form", clear_on_submit=False, enter_to_submit=False):
        _note_fields("create")
        st.form_submit_button("Save note", key="create_submit", on_click=_on_create)
    _flash("create")


def _pick_note(prefix: str) -> Note | None:
    """Let the person choose a note by number, or from recent notes or a search; return it."""
    conn = get_connection()
    key = f"{prefix}_number"
    find = st.text_input(
        "Find a note",
        key=f"{prefix}_find",
        placeholder="Words from the note or its author, or type its number below",
    )
    candidates = NoteService.list_notes(conn, limit=RECENT_PICKS, search=find or "")
    if st.session_state.get(key) is None:
        newest = NoteService.list_notes(conn, limit=1) if find else candidates
        if not newest:
            st.info(MSG_NO_NOTES)
            return None
        st.session_state[key] = newest[0].rowid
    st.caption("Matches:" if find else "Recent notes:")
    if find and not candidates:
        st.caption(MSG_NO_PICKS)
    with st.container(horizontal=True, gap="small"):
        for note in candidates:
            excerpt = textwrap.shorten(note.body, 32, placeholder=" …")  # whole words only
            label = f"\\#{note.rowid} {_escape_markdown(note.username)}: "
            label += _escape_markdown(excerpt)
            st.button(
                label,
                key=f"{prefix}_pick_{note.rowid}",
                on_click=_set_state,
                args=(key, note.rowid),
                type="tertiary",
            )
    number = st.number_input("Note number", key=key, min_value=1, step=1)
    try:
        return NoteService.get_note(conn, int(number))
    except NoteNotFoundError as error:
        st.warning(str(error))
        return None


def _set_state(key: str, value: object) -> None:
    """Set one session-state value (a callback, so it may set a widget's value)."""
    st.session_state[key] = value


def _save_edit(write: Callable[[int], Note]) -> Note | None:
    """Run write(version the person loaded) for the Update page; on failure record why."""
    state = st.session_state
    try:
        note = write(state.update_loaded_version)
    except ConflictError as error:
        state.update_outcome = ("conflict", str(error), error.current)
        # Saving again now is a deliberate choice to replace what is saved.
        state.update_loaded_version = error.current.version
        return None
    except NotesError as error:
        state.update_outcome = ("error", str(error), None)
        return None
    state.update_loaded_version = note.version
    return note


def _on_update(rowid: int) -> None:
    """Save the Update form for note rowid, if it is still the version the person loaded."""
    state = st.session_state
    note = _save_edit(
        lambda version: NoteService.update_note(
            get_connection(), rowid, state.update_username, state.update_body, version=version
        )
    )
    if note is not None:
        state.update_outcome = ("success", MSG_UPDATED.format(rowid=rowid), note)


def _on_restore_version(rowid: int, old_version: int) -> None:
    """Make an earlier version of note rowid current again, and load it into the form."""
    state = st.session_state
    note = _save_edit(
        lambda version: NoteService.restore_version(
            get_connection(), rowid, old_version, version=version
        )
    )
    if note is not None:
        state.update_username, state.update_body = note.username, note.body
        message = MSG_VERSION_RESTORED.format(rowid=rowid, old=old_version, new=note.version)
        state.update_outcome = ("success", message, None)


def _render_history(note: Note) -> None:
    """Show the earlier versions of a note, each with a button to restore it."""
    history = NoteService.note_history(get_connection(), note.rowid)
    with st.expander(f"History: {len(history)} earlier version(s)"):
        if not history:
            st.caption("This note has not been edited.")
        for old in history:
            st.caption(
                f"Version {old.version} · {_escape_markdown(old.username)} · "
                f"{_format_time(old.updated_timestamp)}"
            )
            with st.container(border=True):
                st.markdown(_link_tags(old.body))
            st.button(
                f"Restore version {old.version}",
                key=f"update_restore_{old.version}",
                on_click=_on_restore_version,
                args=(note.rowid, old.version),
            )


def render_update() -> None:
    """The Update page: choose a note, edit it, save; see and restore earlier versions."""
    st.title("Update a Note")
    note = _pick_note("update")
    if note is None:
        _flash("update")
        return
    state = st.session_state
    # Load the chosen note into the form when the choice changes (or the form was
    # cleared by visiting another page), never over what the person is typing.
    if state.get("update_loaded_id") != note.rowid or "update_body" not in state:
        state.update_username, state.update_body = note.username, note.body
        state.update_loaded_id, state.update_loaded_version = note.rowid, note.version
    _flash("update")  # above the form, where the person who pressed Save is looking
    with st.form("update_form", enter_to_submit=False):
        _note_fields("update")
        st.form_submit_button(
            "Save changes", key="update_submit", on_click=_on_update, args=(note.rowid,)
        )
    _render_history(note)


def _on_delete(rowid: int, version: int) -> None:
    """Move note rowid to the trash if it is still the version shown; offer Undo."""
    state = st.session_state
    state.delete_confirm = False
    try:
        note = NoteService.delete_note(get_connection(), rowid, version=version)
    except NotesError as error:  # gone, or changed since shown (shown again below)
        state.delete_outcome = ("error", str(error), None)
    else:
        state.delete_outcome = ("deleted", MSG_DELETED.format(rowid=note.rowid), note)
        state.delete_number = None  # _pick_note offers the newest remaining note


def _on_restore(prefix: str, rowid: int) -> None:
    """Bring note rowid back from the trash (Undo, or Restore on the Trash page)."""
    try:
        note = NoteService.restore_note(get_connection(), rowid)
    except NotesError as error:
        st.session_state[f"{prefix}_outcome"] = ("error", str(error), None)
    else:
        st.session_state[f"{prefix}_outcome"] = ("success", MSG_RESTORED.format(rowid=rowid), note)


def render_delete() -> None:
    """The Delete page: choose a note, see it, confirm, delete (to the trash)."""
    st.title("Delete a Note")
    _flash("delete")
    note = _pick_note("delete")
    if note is None:
        return
    _render_note(note)
    confirmed = st.checkbox(
        f"Yes, delete note #{note.rowid}",
        key="delete_confirm",
        help="It goes to the Trash, where it can be restored.",
    )
    st.button(
        "Delete note",
        key="delete_submit",
        type="primary",
        disabled=not confirmed,
        on_click=_on_delete,
        args=(note.rowid, note.version),
    )


def _on_purge(rowid: int | None) -> None:
    """Delete one trashed note (or, with None, the whole trash) for good."""
    st.session_state.trash_confirm_empty = False
    try:
        count = NoteService.purge_note(get_connection(), rowid)
    except NotesError as error:
        st.session_state.trash_outcome = ("error", str(error), None)
    else:
        st.session_state.trash_outcome = ("success", MSG_PURGED.format(count=count), None)


def render_trash() -> None:
    """The Trash page: deleted notes, each restorable (same number) or purged for good."""
    st.title("Trash")
    _flash("trash")
    notes = NoteService.list_trash(get_connection(), limit=RECENT_PICKS * 5)
    if not notes:
        st.info(MSG_TRASH_EMPTY)
        return
    for note in notes:
        _render_note(note, links=None)
        with st.container(horizontal=True, gap="small"):
            st.button(
                "Restore",
                key=f"trash_restore_{note.rowid}",
                on_click=_on_restore,
                args=("trash", note.rowid),
                icon=":material/restore_from_trash:",
            )
            st.button(
                "Delete for good",
                key=f"trash_purge_{note.rowid}",
                on_click=_on_purge,
                args=(note.rowid,),
                icon=":material/delete_forever:",
            )
    st.divider()
    confirmed = st.checkbox(
        "Yes, delete every note in the trash for good", key="trash_confirm_empty"
    )
    st.button(
        "Empty trash",
        key="trash_empty",
        type="primary",
        disabled=not confirmed,
        on_click=_on_purge,
        args=(None,),
    )


def render_about() -> None:
    """The About page: what the app is and how it is built."""
    st.title("About")
    st.markdown(
        f"""
**Littlest Notes** is a public feed of short markdown notes: anyone who opens
it can write a note of up to {CHAR_LIMIT} characters, edit it, or delete it.

It is a whole web app in one Python file, `app.py`:

- **Streamlit** draws every page and runs the server;
- **SQLite** (Python's `sqlite3`) keeps the notes in one file, `notes.db`, in WAL
  mode with one connection per server thread, so many people can write at once;
- the database enforces the same rules as the app (length, no control characters),
  and numbers of deleted notes are never reused;
- SQLite's full-text index (FTS5) makes search, and keyset paging makes every page of
  the feed, as fast at a million notes as at a hundred.

Nothing is lost: an edit never overwrites someone else's newer edit unseen, every
earlier version is kept in the note's history, and a deleted note waits in the Trash.
Notes are rendered as markdown with raw HTML shown as text, never run.
"""
    )
    try:
        st.caption(f"{NoteService.count_notes(get_connection())} notes stored.")
    except NotesError as error:
        st.caption(str(error))


###############################################################################
# Entry point ##################################################################
###############################################################################


def main() -> None:
    """Build the sidebar navigation and run the chosen page."""
    st.set_page_config(page_title="Littlest Notes", page_icon=":material/sticky_note_2:")
    page = st.navigation(
        [
            _feed_page(),
            st.Page(
                render_create, title="Create a Note", icon=":material/edit_note:", url_path="create"
            ),
            st.Page(
                render_update, title="Update a Note", icon=":material/edit:", url_path="update"
            ),
            st.Page(
                render_delete, title="Delete a Note", icon=":material/delete:", url_path="delete"
            ),
            st.Page(
                render_trash, title="Trash", icon=":material/restore_from_trash:", url_path="trash"
            ),
            st.Page(render_about, title="About", icon=":material/info:", url_path="about"),
        ],
        position="sidebar",
    )
    try:
        page.run()
    except NotesError as error:  # a database fault: say so in the page, not as a traceback
        st.error(str(error))


_SEED_WORDS = (
    "coffee garden train morning idea meeting book walk rain code python sqlite streamlit "
    "lunch music river sunset bike recipe bread tea project deadline weekend friend city "
    "market photo movie hike snow beach paper plan draft bug fix release note list"
).split()
_SEED_TAGS = ["til", "python", "idea", "todo", "food", "travel", "music", "work", "weekend"]


def seed_notes(conn: sqlite3.Connection, count: int, seed: int = 0) -> int:
    """Add count demo notes (a few hundred authors, #tags, a year of timestamps); return count.

    One transaction for the whole batch; rows are generated lazily, so memory stays flat.
    """
    import random  # only the seed command needs it

    rng = random.Random(seed)
    authors = [f"{rng.choice(_SEED_WORDS)}_{n}" for n in range(300)]
    end = now_timestamp()
    start = end - 365 * 24 * 3600
    step = (end - start) / max(count, 1)

    tags: list[tuple[str, int]] = []

    def rows(first: int) -> Iterator[tuple[int, int, str, str, int]]:
        for n in range(count):
            words = rng.choices(_SEED_WORDS, k=rng.randint(4, 14))
            if rng.random() < 0.3:
                words[0] = f"**{words[0]}**"
            if rng.random() < 0.4:
                tag = rng.choice(_SEED_TAGS)
                words.append(f"#{tag}")
                tags.append((tag, first + n))
            stamp = int(start + n * step)
            yield stamp, stamp, rng.choice(authors), " ".join(words)[:CHAR_LIMIT], first + n

    # The generated rows are valid by construction: skipping the CHECK constraints
    # halves the load (they are per-connection, so only this bulk load skips them).
    conn.execute("PRAGMA ignore_check_constraints = ON")
    with _write(conn):
        # Bulk load: with the triggers off, then the index and counts rebuilt once,
        # a million notes load about three times faster than row by row.
        triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        triggers = triggers.fetchall()
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        # The next number AUTOINCREMENT would give: past every id ever used.
        first = conn.execute(
            "SELECT max(coalesce((SELECT max(id) FROM notes), 0),"
            " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'notes'), 0)) + 1"
        ).fetchone()[0]
        conn.executemany(
            "INSERT INTO notes (created_timestamp, updated_timestamp, username, body, id)"
            " VALUES (?, ?, ?, ?, ?)",
            rows(first),
        )
        conn.executemany("INSERT INTO note_tags (tag, note_id) VALUES (?, ?)", tags)
        for statement in _REBUILD_DERIVED:
            conn.execute(statement)
        for _, sql in triggers:
            conn.execute(sql)
    conn.execute("PRAGMA ignore_check_constraints = OFF")
    return count


def backup_database(conn: sqlite3.Connection, target: Path) -> None:
    """Copy the database to a new file with SQLite's online backup (safe while in use)."""
    if target.exists():
        raise StorageError(f"'{target}' already exists; back up to a new file.")
    try:
        with closing(sqlite3.connect(target)) as copy:
            conn.backup(copy)
    except sqlite3.Error as error:
        raise _storage_error(error, str(target)) from error


def check_database(conn: sqlite3.Connection) -> list[str]:
    """Return what is wrong with the file, the search index or the counts (empty if nothing)."""
    problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
    try:
        conn.execute("INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.Error as error:
        problems.append(f"search index: {error}")
    wrong = conn.execute(
        "SELECT coalesce(c.username, n.username), c.notes, n.notes FROM note_counts c"
        " FULL JOIN (SELECT username, count(*) notes FROM notes GROUP BY username"
        "            UNION ALL SELECT '', count(*) FROM notes) n ON c.username = n.username"
        " WHERE c.notes IS NOT n.notes"
    ).fetchall()
    problems += [f"count for {name!r}: stored {kept}, actual {real}" for name, kept, real in wrong]
    return problems


def cli(argv: list[str]) -> int:
    """The command line: `python app.py seed --count N`, `stats`, `vacuum`."""
    import argparse  # only the command line needs it

    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Littlest Notes maintenance (the app itself: streamlit run app.py).",
    )
    parser.add_argument("--db", help="database file (default: $NOTES_DB, else notes.db)")
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="add demo notes")
    seed.add_argument("--count", type=int, default=1000)
    seed.add_argument("--seed", type=int, default=0, help="random seed (same seed, same notes)")
    commands.add_parser("stats", help="print note counts and the file size")
    commands.add_parser("vacuum", help="optimise the search index and compact the file")
    backup = commands.add_parser("backup", help="copy the live database, consistently, to PATH")
    backup.add_argument("path", type=Path)
    commands.add_parser("check", help="check the file, the search index and the counts")
    args = parser.parse_args(argv)
    path = Path(args.db) if args.db else resolve_db_path(os.environ)
    try:
        conn = connect(path)
        if args.command == "seed":
            started = time.perf_counter()
            seed_notes(conn, args.count, args.seed)
            print(f"added {args.count} notes in {time.perf_counter() - started:.1f} s to {path}")
        elif args.command == "stats":
            print(
                f"{path}: {NoteService.count_notes(conn)} notes, {path.stat().st_size / 1e6:.1f} MB"
            )
        elif args.command == "vacuum":
            conn.execute("INSERT INTO notes_fts (notes_fts) VALUES ('optimize')")
            conn.execute("VACUUM")
            print(f"optimised and compacted {path}")
        elif args.command == "backup":
            backup_database(conn, args.path)
            print(f"backed up {path} to {args.path}")
        elif args.command == "check":
            problems = check_database(conn)
            print("\n".join(problems) if problems else f"ok: {path}")
            return 1 if problems else 0
    except NotesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if st.runtime.exists():  # under `streamlit run` (or AppTest) the file is the app
        main()
    else:
        sys.exit(cli(sys.argv[1:]))
