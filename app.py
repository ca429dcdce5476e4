"""Littlest Notes: a public feed of 140-character markdown notes.

One file, read top to bottom: Configuration, Model, Store, Views, Web addresses, Entry point.
Each section uses only the sections above it. Run it with ``streamlit run app.py``.
"""

from __future__ import annotations

import base64
import codecs
import csv
import email.utils
import enum
import functools
import hashlib
import html
import io
import ipaddress
import itertools
import json
import logging
import os
import re
import sqlite3
import sys
import tempfile
import textwrap
import threading
import time
import unicodedata
import urllib.parse
import uuid
import weakref
import xml.etree.ElementTree as ET
import zoneinfo
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import TextIO

import nh3
import numpy as np
import pandas as pd
import psycopg
import psycopg_pool
import regex
import streamlit as st
from markdown_it import MarkdownIt
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from streamlit.errors import StreamlitAuthError
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

if __name__ == "__main__" and st.runtime.exists():
    # Streamlit executes this file on every rerun: import it once as `app` instead.
    import app

    app.main()
    st.stop()

###############################################################################
# Configuration ################################################################
###############################################################################

CHAR_LIMIT = 140  # longest note body, in characters as people see them (grapheme clusters)
USERNAME_LIMIT = 140  # longest username, the seed's limit, counted the same way
CODE_POINT_LIMIT = 4 * CHAR_LIMIT  # longest body or username in code points (emoji use several)
CHAR_CODE_POINT_LIMIT = 12  # code points in one character: an emoji family has up to 11
TAG_LIMIT = 50  # longest #tag, in characters after the #
FEED_PAGE_SIZE = 25  # notes on one page of the feed, and of the trash
LIVE_FEED_TICK_S = 3  # the newest feed page checks for others' notes this often (shown < 5 s)
LIVE_MAX_NEW = 100  # newer notes the live feed counts; more read "100+ new notes"
LIVE_SLOT_HEIGHT_PX = 40  # the slot kept above the feed's notes for its banner: one button
RECENT_PICKS = 8  # recent notes (or matches) offered on the Update and Delete pages
PICK_EXCERPT_CHARS = 32  # characters of a note shown on its pick button
NOTE_BOX_HEIGHT_PX = 170  # the note box: tall enough for 140 characters at 390 px wide
SEARCH_MAX_TERMS = 8  # words of a search that are used; the rest is ignored
SEARCH_WORD_CHARS = 250  # longest word PostgreSQL's search keeps (a longer one: its start)
BUSY_TIMEOUT_S = 5.0  # how long a write waits for another writer's lock (or a connection)
CONNECT_TIMEOUT_S = 5  # how long connecting to PostgreSQL may take
POOL_MAX_SIZE = 10  # PostgreSQL connections per server process, each lent for one call
POOL_CHECK_IDLE_S = 1.0  # a PostgreSQL connection idle this long is checked before use
RECONNECT_TIMEOUT_S = 10  # then the pool stops retrying in the background; calls start afresh
NOTES_PER_MINUTE = 10  # new notes one browser session, or one author, may save a minute
DELETES_PER_MINUTE = 20  # notes one browser session may delete a minute
EDITS_PER_MINUTE = 10  # edits one person may save a minute (vandal edits stop)
HISTORY_PAGE_SIZE = 10  # earlier versions shown at a time on the Update page
DOUBLE_SUBMIT_S = 10.0  # the same note saved again this soon by one session is one note
SEED_MAX_COUNT = 10_000_000  # most demo notes one `seed` command adds
ACTIVITY_DAYS = 371  # days the Activity page shows: 53 weeks, today the last
MAX_NOTE_ID = 2**63 - 1  # SQLite's largest integer, so the largest note number
# The largest number an imported note may keep: exact in JavaScript, and far enough below
# MAX_NOTE_ID that the feed never runs out (2**63 - 1 kept would stop every later note).
MAX_KEPT_NUMBER = 2**53 - 1
NUMBERS_LEFT_WARNING = 10**9  # `check` warns when fewer numbers than this are left
MAX_VERSION = 2**31 - 1  # the largest version a file's note may have
APP_DIR = Path(__file__).resolve().parent
DEFAULT_DB_PATH = APP_DIR / "notes.db"
WELCOME_USERNAME = "Littlest Notes"
WELCOME_BODY = (
    f"Welcome to **Littlest Notes**! Write a note of up to {CHAR_LIMIT} characters; "
    "markdown works. Edit or delete it from its Actions menu."
)
_EARLIER_WELCOME = WELCOME_BODY.replace("its Actions menu", "the sidebar")  # before 3 Dec 2026


def resolve_db_path(
    environ: Mapping[str, str] = os.environ, secrets: Mapping[str, object] | None = None
) -> Path:
    """Return the database file: $NOTES_DB, else secrets["notes_db"], else notes.db by app.py."""
    if environ.get("NOTES_DB"):
        return Path(environ["NOTES_DB"]).expanduser()
    if secrets is not None and secrets.get("notes_db"):
        return Path(str(secrets["notes_db"])).expanduser()
    return DEFAULT_DB_PATH


def resolve_database(
    environ: Mapping[str, str] = os.environ, secrets: Mapping[str, object] | None = None
) -> str | Path:
    """Return $NOTES_DATABASE_URL, $NOTES_DB, secrets' database_url or notes_db, else notes.db."""
    if environ.get("NOTES_DATABASE_URL"):
        return environ["NOTES_DATABASE_URL"]
    if not environ.get("NOTES_DB") and secrets is not None and secrets.get("database_url"):
        return str(secrets["database_url"])
    return resolve_db_path(environ, secrets)


###############################################################################
# Model ########################################################################
###############################################################################

# User-facing messages are constants so that tests can assert them.
MSG_TEXT_TYPE = "{field} must be text, not {type}."
MSG_BODY_EMPTY = "Note is empty. Write something to save it."
MSG_USERNAME_EMPTY = "Username is empty. Enter the name to post under."
MSG_TOO_LONG = "{field} is {length} characters; the limit is {limit} ({over} over)."
MSG_TOO_MANY_CODE_POINTS = (
    "{field} is built from {length} Unicode code points; the limit is {limit}. "
    "Use fewer emoji or accents."
)
MSG_STACKED_MARKS = (
    "{field} has a character built from {length} code points (at most {limit}): "
    "remove the stacked accents or marks."
)
MSG_BODY_CONTROL = (
    "Note contains an invisible control character ({code}) that cannot be saved. "
    "Remove it and try again."
)
MSG_USERNAME_CONTROL = (
    "Username must be one line with no control characters ({code}). Remove it and try again."
)
MSG_SURROGATE = (
    "{field} contains a broken character ({code}), perhaps from a bad copy and paste. "
    "Remove it and try again."
)
MSG_BIDI = (
    "{field} contains a text-direction control ({code}) that can make text read "
    "differently from how it is stored. Remove it and try again."
)
MSG_INVISIBLE = "{field} has no visible character. Write something people can read."
MSG_USERNAME_INVISIBLE_CHAR = (
    "Username contains an invisible character ({code}) that would make it look like "
    "another name. Remove it and try again."
)
MSG_NOT_FOUND = "Note #{id} does not exist. It may have been deleted."
MSG_VERSION_NOT_FOUND = "Note #{id} has no version {version} in its history."
MSG_NOT_IN_TRASH = "Note #{id} is not in the trash. It may have been restored or purged."
MSG_SIGN_IN_TO_WRITE = "Sign in to write, edit or delete notes. Anyone can read them."
MSG_NOT_YOURS = "Note #{id} is not yours. Only its author or an admin can change it."
MSG_ADMINS_ONLY = "Only an admin can delete notes for good."
MSG_TOO_MANY_NOTES = (
    "You have written {count} in the last minute, the most allowed. Wait a minute, then save again."
)
MSG_TOO_MANY_EDITS = (
    "You have made {count} in the last minute, the most allowed. Wait a minute, then save"
    " again; your text is kept."
)
MSG_TOO_MANY_DELETES = (
    "You have deleted {count} in the last minute, the most allowed. Wait a minute, then try again."
)
MSG_CONFLICT = (
    "Note #{id} was changed by someone else since you opened it (it is now version "
    "{version}). Nothing was saved. Compare it with your text below, then save again."
)
MSG_DELETE_CONFLICT = (
    "Note #{id} was changed by someone else since you opened it. Nothing was deleted: "
    "read it again, then delete it if you still want to."
)

# Newline and tab are fine in a markdown body; every other C0 control and DEL is not.
_BODY_CONTROLS = regex.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_USERNAME_CONTROLS = regex.compile(r"[\x00-\x1f\x7f]")
_SURROGATES = regex.compile(r"[\ud800-\udfff]")  # halves of a pair: not text on their own
# Embedding, override and isolate controls: "Invoice \u202efdp.exe" shows "Invoice exe.pdf".
_BIDI_CONTROLS = regex.compile(r"[\u202a-\u202e\u2066-\u2069]")
# A visible character: not space, mark, control, format, unassigned or default-ignorable
# (U+200B, the Hangul fillers ...), and not the blank braille pattern U+2800.
_VISIBLE = regex.compile(r"[^\s\p{M}\p{C}\p{Default_Ignorable_Code_Point}\u2800]")
_IGNORABLE = regex.compile(r"\p{Default_Ignorable_Code_Point}")
# What may join an emoji's parts: ZWJ, variation selectors, and the tag characters of
# subdivision flags (the Scottish flag is a black flag and six of them).
_EMOJI_GLUE = regex.compile(r"[\u200d\ufe0e\ufe0f\U000e0020-\U000e007f]")
_EMOJI = regex.compile(r"\p{Extended_Pictographic}")
_GRAPHEME = regex.compile(r"\X")
_COUNTED = 65_536  # longest text whose characters are counted one by one


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


class NotAllowedError(NotesError, PermissionError):
    """The acting person may not do this: not signed in, or not the note's author."""


class TooFastError(NotesError):
    """A flood limit was reached (notes, deletes or edits per minute); nothing was written."""


@dataclass(frozen=True)
class Actor:
    """Who asks the store to write: VISITOR in open mode, else an OpenID `subject` at `issuer`."""

    name: str | None = None
    subject: str | None = None
    issuer: str | None = None
    admin: bool = False

    @property
    def signed_in(self) -> bool:
        return self.subject is not None

    def may_change(self, note: Note) -> bool:
        """True if this actor may edit, delete or restore the note (or trashed note)."""
        if self.admin:
            return True
        if note.owner_subject is None:
            return not self.signed_in  # an open-mode note: open mode's to change
        return (self.subject, self.issuer) == (note.owner_subject, note.owner_issuer)

    def identity(self) -> dict[str, str | None]:
        """The columns that record this actor as a version's editor (all None in open mode)."""
        return {
            "editor": self.name if self.signed_in else None,
            "editor_subject": self.subject,
            "editor_issuer": self.issuer,
        }


VISITOR = Actor()  # anyone, in open mode
OPERATOR = Actor(name="the operator", admin=True)  # the command line, run on the server


@dataclass(frozen=True)
class Note:
    """A stored note: times in UTC epoch seconds, number `id`, version (1, +1 at each edit)."""

    created_timestamp: int
    updated_timestamp: int
    username: str
    body: str
    id: int
    version: int = 1
    owner_subject: str | None = None  # the author's identity when signed in (None: open mode)
    owner_issuer: str | None = None
    editor: str | None = None  # who made this version, when signed in (None: `username`)
    editor_subject: str | None = None
    editor_issuer: str | None = None

    @property
    def edited(self) -> bool:
        """True if the note was changed after it was written (even within the same second)."""
        return self.version > 1 or self.updated_timestamp != self.created_timestamp

    @property
    def made_by(self) -> str:
        """Who made this version: the signed-in editor, or the name typed with it."""
        return self.editor or self.username


@dataclass(frozen=True)
class TrashedNote(Note):
    """A note in the trash, and when it was deleted (UTC epoch seconds)."""

    deleted_timestamp: int = 0


@dataclass(frozen=True)
class NoteVersion:
    """An earlier version of note `id`, as it was before an edit."""

    id: int
    version: int
    username: str
    body: str
    updated_timestamp: int
    editor: str | None = None  # who made this version, when signed in (None: `username`)
    editor_subject: str | None = None
    editor_issuer: str | None = None

    made_by = Note.made_by


def _code(char: str) -> str:
    """Return a character's code point as U+XXXX (for messages)."""
    return f"U+{ord(char):04X}"


def _check_text(value: object, field: str, limit: int, controls: regex.Pattern) -> str:
    """Return value normalised (CRLF to LF, stripped) or raise InvalidNoteError (any field)."""
    if not isinstance(value, str):
        raise InvalidNoteError(MSG_TEXT_TYPE.format(field=field, type=type(value).__name__))
    if match := _SURROGATES.search(value):  # before anything that would encode the text
        raise InvalidNoteError(MSG_SURROGATE.format(field=field, code=_code(match.group())))
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidNoteError(MSG_BODY_EMPTY if field == "Note" else MSG_USERNAME_EMPTY)
    # Characters as people see them; a hostile paste over _COUNTED code points in code points.
    clusters = _GRAPHEME.findall(text) if len(text) <= _COUNTED else None
    length = len(text) if clusters is None else len(clusters)
    if length > limit:
        raise InvalidNoteError(
            MSG_TOO_LONG.format(field=field, length=length, limit=limit, over=length - limit)
        )
    if len(text) > CODE_POINT_LIMIT:
        raise InvalidNoteError(
            MSG_TOO_MANY_CODE_POINTS.format(field=field, length=len(text), limit=CODE_POINT_LIMIT)
        )
    if (longest := max(map(len, clusters))) > CHAR_CODE_POINT_LIMIT:
        raise InvalidNoteError(
            MSG_STACKED_MARKS.format(field=field, length=longest, limit=CHAR_CODE_POINT_LIMIT)
        )
    if match := controls.search(text):
        message = MSG_BODY_CONTROL if field == "Note" else MSG_USERNAME_CONTROL
        raise InvalidNoteError(message.format(code=_code(match.group())))
    if match := _BIDI_CONTROLS.search(text):
        raise InvalidNoteError(MSG_BIDI.format(field=field, code=_code(match.group())))
    if not _VISIBLE.search(text):
        raise InvalidNoteError(MSG_INVISIBLE.format(field=field))
    return text


def validate_note(username: object, body: object) -> tuple[str, str]:
    """Return (username, body) normalised for storage; raise InvalidNoteError if either is bad."""
    name = _check_text(username, "Username", USERNAME_LIMIT, _USERNAME_CONTROLS)
    # No invisible character may let a name pass for another ("Littlest Notes" + U+200B).
    for cluster in _GRAPHEME.findall(name):
        glue_ok = _EMOJI.search(cluster) is not None
        for char in _IGNORABLE.findall(cluster):
            if not (glue_ok and _EMOJI_GLUE.match(char)):
                raise InvalidNoteError(MSG_USERNAME_INVISIBLE_CHAR.format(code=_code(char)))
    return name, _check_text(body, "Note", CHAR_LIMIT, _BODY_CONTROLS)


# A tag is # then a letter then letters, digits, _ or -, not inside a word or URL ("a#b").
_TAG = re.compile(rf"(?<![\w#&/])#([^\W\d_][\w-]{{0,{TAG_LIMIT - 1}}})")


def extract_tags(body: str) -> list[str]:
    """Return the distinct #tags of a body, lower-cased, in order of appearance."""
    return list(dict.fromkeys(tag.lower() for tag in _TAG.findall(body)))


def _fold(word: str) -> str:
    """Lower-case word and take the accents off Latin letters, as FTS5's remove_diacritics."""
    return "".join(_fold_char(char) for char in word.lower())


@functools.lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    parts = unicodedata.normalize("NFD", char)
    if len(parts) > 1 and parts[0].isascii() and all(map(unicodedata.combining, parts[1:])):
        return parts[0]
    return char


def search_words(text: str) -> list[str]:
    """Return text's distinct words as PostgreSQL's search index keeps them (FTS5 finds its own)."""
    # Cut to SEARCH_WORD_CHARS: PostgreSQL refuses a word of more than 2,047 bytes.
    words = re.findall(r"[^\W_]+", text)
    return list(dict.fromkeys(_fold(word)[:SEARCH_WORD_CHARS] for word in words))


def search_terms(text: str) -> list[str]:
    """Return the words of a search (letters and digits), at most SEARCH_MAX_TERMS of them."""
    return re.findall(r"[^\W_]+", text)[:SEARCH_MAX_TERMS]


_MARKDOWN_SPECIALS = re.compile(r"([!-/:-@\[-`{-~])")  # ASCII punctuation: all escapable


def _escape_markdown(text: str) -> str:
    """Return text as markdown that shows it literally on one line, so it can start no block."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", " ".join(text.split()))


def now_timestamp() -> int:
    """Return the current UTC epoch second (time.time() is UTC whatever the host's zone)."""
    return int(time.time())


###############################################################################
# Store ########################################################################
###############################################################################

SCHEMA_VERSION = 7

MSG_DB_LOCKED = (
    "The database is busy: another writer held it for more than {seconds:g} seconds. "
    "Nothing was saved; please try again."
)
MSG_DB_READ_ONLY = "The database is read-only, so nothing can be saved right now."
MSG_DB_CANNOT_OPEN = (
    "The database file '{name}' cannot be opened: its folder is missing or not writable."
)
MSG_DB_MISSING = "There is no notes database at '{path}'. Check the path (--db or NOTES_DB)."
MSG_DB_NOT_A_DATABASE = (
    "The file '{name}' is not a notes database, or it is damaged. Nothing was changed."
)
MSG_DB_NEWER = (
    "The database '{name}' was written by a newer Littlest Notes (schema {version}; this app "
    "knows up to {known}). Nothing was changed: run the newer app."
)
MSG_DB_OLDER = (
    "The database '{name}' is from an older Littlest Notes (schema {version}). Upgrade it "
    "with `python app.py migrate` (or by opening it with the app), then try again."
)
MSG_DB_DEVELOPMENT = (
    "The database '{name}' is at schema version {version}, from a development build of "
    "Littlest Notes; this app upgrades only from version {oldest}. Nothing was changed. To "
    "bring it up to date, run `git checkout fbf2aa5 && python app.py --db DATABASE migrate` "
    "in a clone of this app's repository (DATABASE: its file or URL), then come back to this "
    "version (`git checkout -`) and open it again."
)
MSG_DB_FULL = "The disk is full, so nothing was saved."
MSG_DB_OTHER = "The database failed: {error}. Nothing was saved."
MSG_PG_BAD_URL = (
    "The database URL is not valid. Expected postgresql://user:password@host:5432/database "
    "(in NOTES_DATABASE_URL or [connections.notes] url), with any @ / : % in the user name "
    "or password written as %40 %2F %3A %25."
)
MSG_PG_REFUSED = (
    "PostgreSQL at {name} refused the user name or password. Check the URL in "
    "NOTES_DATABASE_URL or [connections.notes] url. Nothing was saved."
)
MSG_PG_EMPTY = (
    "PostgreSQL at {name} holds no notes yet: nothing to read. Open it with the app, or "
    "copy a feed into it (`python app.py --db FILE copy --to URL`), first."
)
MSG_PG_NO_DATABASE = "PostgreSQL at {name}: that database does not exist. Create it first."
MSG_PG_UNREACHABLE = (
    "PostgreSQL at {name} is not answering (waited {seconds:g} seconds). Nothing was saved; "
    "try again in a moment."
)
MSG_BACKUP_POSTGRES = (
    "backup copies a SQLite file. To back up PostgreSQL into one, run "
    "`python app.py --db URL copy --to FILE` (or use pg_dump)."
)
MSG_BACKUP_EXISTS = "'{path}' already exists; back up to a new file."
MSG_BACKUP_FAILED = "The backup to '{path}' failed: {error}. No file was left behind."

# Store: access ---------------------------------------------------------------
#
# A Database is a SQLite connection (one per thread) or a Postgres pool; SQL reaches either
# only by _read and _write, with :name parameters; where dialects differ, keyed by _dialect().

_NOTE_FIELDS = tuple(field.name for field in fields(Note))
_NOTE_COLUMNS = ", ".join(_NOTE_FIELDS)
_HISTORY_COLUMNS = ", ".join(field.name for field in fields(NoteVersion))


class Postgres:
    """A PostgreSQL database: a pool of connections, each lent for one statement or transaction."""

    def __init__(self, url: str) -> None:
        self.name, self.password = _pg_url_parts(url)  # name: host/database, safe to show
        self.pool = psycopg_pool.ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX_SIZE,
            open=False,
            timeout=BUSY_TIMEOUT_S,  # how long a call waits for a connection
            kwargs={
                "autocommit": True,  # a read is its own statement; _write opens transactions
                "row_factory": dict_row,
                "connect_timeout": CONNECT_TIMEOUT_S,
                # A generic plan of a search reads a common word's whole GIN list (and
                # PgBouncer's transaction mode allows no prepared statements).
                "prepare_threshold": None,
            },
            configure=self._configure,
            check=self._check,
            reset=self._returned,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            name=f"notes {self.name}",
        )
        self._idle_since: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @staticmethod
    def _configure(conn: psycopg.Connection) -> None:
        """Make a new connection wait for another writer's lock as long as SQLite would."""
        timeout = f"{BUSY_TIMEOUT_S * 1000:.0f}ms"
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (timeout,))

    def _returned(self, conn: psycopg.Connection) -> None:
        self._idle_since[conn] = time.monotonic()

    def _check(self, conn: psycopg.Connection) -> None:
        """Check that the server still answers before lending a connection idle for a while."""
        if time.monotonic() - self._idle_since.get(conn, 0.0) >= POOL_CHECK_IDLE_S:
            psycopg_pool.ConnectionPool.check_connection(conn)

    def close(self) -> None:
        self.pool.close()

    def __repr__(self) -> str:
        return f"Postgres({self.name!r})"  # never the URL, which holds the password


Database = sqlite3.Connection | Postgres  # what NoteService's functions take


def is_database_url(target: object) -> bool:
    """True if target names a PostgreSQL database (a URL) rather than a SQLite file."""
    return str(target).startswith(("postgresql://", "postgres://"))


def _pg_url_parts(url: str) -> tuple[str, str]:
    """Return ("host/database", password) from a PostgreSQL URL; StorageError if malformed."""
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error:
        params = None  # raised below, outside this block: the error quotes the whole URL
    # A raw "/" or "@" in the password would make libpq read its rest as the host or the
    # database, which messages show; a port that is no number would read as a server down.
    path = url.partition("://")[2].partition("?")[0].partition("/")[2]
    if (
        params is None
        or "@" in str(params.get("host") or "")
        or {"@", "/"} & set(path)
        or not re.fullmatch(r"[0-9]{0,5}(,[0-9]{0,5})*", str(params.get("port") or ""))
    ):
        raise StorageError(MSG_PG_BAD_URL)
    host = str(params.get("host") or "localhost")
    database = str(params.get("dbname") or params.get("user") or "postgres")
    return f"{host}/{database}", str(params.get("password") or "")


def _dialect(db: Database) -> str:
    return "sqlite" if isinstance(db, sqlite3.Connection) else "postgresql"


def _db_name(conn: Database) -> str:
    """Return the file (or host/database) behind conn, for messages."""
    if isinstance(conn, Postgres):
        return conn.name
    try:
        return conn.execute("PRAGMA database_list").fetchone()[2] or ":memory:"
    except sqlite3.Error:
        return "notes.db"


def describe_database(db: Database) -> str:
    """Say where the notes are, for people: never a URL (it holds the password)."""
    if isinstance(db, Postgres):
        return f"PostgreSQL at {db.name}"
    return f"the SQLite file {Path(_db_name(db)).name}"


# What reading or writing SQLite can raise: text that is not UTF-8 raises UnicodeDecodeError.
_SQLITE_FAULTS = (sqlite3.Error, UnicodeDecodeError)
_SQLITE_MESSAGES = [  # words of a sqlite3 error, in order, and the message they mean
    (("locked", "busy"), MSG_DB_LOCKED),
    (("readonly", "read-only"), MSG_DB_READ_ONLY),
    (("unable to open",), MSG_DB_CANNOT_OPEN),
    (("not a database", "malformed", "could not decode"), MSG_DB_NOT_A_DATABASE),
    (("full",), MSG_DB_FULL),
]


def _storage_error(error: sqlite3.Error | UnicodeDecodeError, path: str) -> StorageError:
    """Translate a _SQLITE_FAULTS error into a StorageError a person can act on."""
    text = "could not decode" if isinstance(error, UnicodeDecodeError) else str(error).lower()
    message = next(
        (msg for words, msg in _SQLITE_MESSAGES if any(word in text for word in words)),
        MSG_DB_OTHER,
    )
    return StorageError(message.format(seconds=BUSY_TIMEOUT_S, name=Path(path).name, error=error))


def _pg_error(error: Exception, db: Postgres) -> StorageError:
    """Translate a psycopg or pool error into a StorageError that names host/database only."""
    text = str(error)
    lowered = text.lower()
    state = getattr(error, "sqlstate", None) or ""  # none for errors before a connection
    if state in ("55P03", "40P01", "40001"):  # lock timeout, deadlock, serialization
        message = MSG_DB_LOCKED.format(seconds=BUSY_TIMEOUT_S)
    elif isinstance(error, psycopg_pool.PoolTimeout) or "timeout expired" in lowered:
        message = MSG_PG_UNREACHABLE.format(name=db.name, seconds=BUSY_TIMEOUT_S)
    elif state.startswith("28") or (not state and ("password" in lowered or "role" in lowered)):
        message = MSG_PG_REFUSED.format(name=db.name)
    elif state == "3D000" or (not state and "database" in lowered and "not exist" in lowered):
        message = MSG_PG_NO_DATABASE.format(name=db.name)
    elif not state and re.search(r"\binvalid .*value", lowered):  # libpq: ?sslmode=bogus
        message = MSG_PG_BAD_URL
    elif state == "25006":
        message = MSG_DB_READ_ONLY
    elif state == "53100":
        message = MSG_DB_FULL
    elif (isinstance(error, psycopg.OperationalError) and not state) or state.startswith(
        ("08", "57P")
    ):  # refused, unknown host, the connection lost, the server shutting down
        message = MSG_PG_UNREACHABLE.format(name=db.name, seconds=BUSY_TIMEOUT_S)
    else:
        message = MSG_DB_OTHER.format(error=text.splitlines()[0] if text else type(error).__name__)
    if db.password:  # belt and braces: no message ever quotes the password
        message = message.replace(db.password, "***")
    return StorageError(message)


@functools.lru_cache(maxsize=256)
def _pg_sql(sql: str) -> str:
    """Rewrite a statement's :name and ? parameters as psycopg's %(name)s and %s."""
    sql = sql.replace("%", "%%")
    sql = re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql)
    return sql.replace("?", "%s")


def _execute(tx: Database, sql: str, params: tuple | dict = ()) -> sqlite3.Cursor:
    """Run one statement on a connection (inside _write, or a SQLite one); rows read by name."""
    if isinstance(tx, psycopg.Connection):
        return tx.execute(_pg_sql(sql), params)
    cursor = tx.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, params)


def _read(db: Database, sql: str, params: tuple | dict = ()) -> list:
    """Run one parameterised query and return its rows; raise StorageError on failure."""
    if isinstance(db, Postgres):
        with _lend(db) as conn:
            return conn.execute(_pg_sql(sql), params).fetchall()
    try:
        return _execute(db, sql, params).fetchall()
    except _SQLITE_FAULTS as error:
        raise _storage_error(error, _db_name(db)) from error


def _note(row: Mapping) -> Note:
    """Build a Note from a row that has (at least) the Note's columns, by name."""
    return Note(**{name: row[name] for name in _NOTE_FIELDS})


class _Connection(sqlite3.Connection):
    """A sqlite3 connection that carries the in-process write queue of its database file."""

    write_queue: threading.Lock | None = None


_write_queues: dict[str, threading.Lock] = {}  # a file's real path: its write queue


@contextmanager
def _lend(db: Postgres) -> Iterator[psycopg.Connection]:
    """Lend a pooled connection for one call; InvalidNoteError if a CHECK refused a row."""
    try:
        with db.pool.connection() as conn:
            yield conn
    except psycopg.errors.IntegrityError as error:
        raise InvalidNoteError(
            f"The database refused the note: {error.diag.message_primary}."
        ) from None
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        raise _pg_error(error, db) from None


@contextmanager
def _write(conn: Database) -> Iterator[sqlite3.Connection | psycopg.Connection]:
    """Run the block as one transaction, all or none; InvalidNoteError if a CHECK refuses a row."""
    if isinstance(conn, Postgres):
        with _lend(conn) as pg, pg.transaction():
            yield pg
        return
    # This process's threads queue on a lock rather than in SQLite's ever longer busy sleeps;
    # BEGIN IMMEDIATE takes the write lock up front, so no writer fails upgrading a read lock.
    with _queued(conn):
        try:
            conn.execute("BEGIN IMMEDIATE")
        except _SQLITE_FAULTS as error:
            raise _storage_error(error, _db_name(conn)) from error
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(error, sqlite3.IntegrityError):
                raise InvalidNoteError(f"The database refused the note: {error}.") from error
            if isinstance(error, _SQLITE_FAULTS):
                raise _storage_error(error, _db_name(conn)) from error
            raise


@contextmanager
def _queued(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block in this thread's turn among the process's writers to conn's file."""
    queue = getattr(conn, "write_queue", None) or threading.Lock()  # none: no one to wait for
    if not queue.acquire(timeout=BUSY_TIMEOUT_S):
        raise StorageError(MSG_DB_LOCKED.format(seconds=BUSY_TIMEOUT_S))
    try:
        yield
    finally:
        queue.release()


# Store: schema and migrations ------------------------------------------------
#
# A new database gets _SCHEMA[dialect] in one step; one at version n gets _UPGRADES[dialect][n],
# then the next. A schema change edits _SCHEMA, raises SCHEMA_VERSION and adds an upgrade
# (never edited once released; tests/test_migration.py compares the two). The version is in
# PRAGMA user_version (SQLite) or the table notes_schema (PostgreSQL).

# A signed-in note's owner and each version's editor (all NULL in open mode).
_IDENTITY_COLUMNS = ["owner_subject", "owner_issuer", "editor", "editor_subject", "editor_issuer"]

# GLOB classes for the CHECKs: ranges, several times faster to check than lists.
_SQL_CONTROLS_EXCEPT_LF_TAB = "char(1) || '-' || char(8, 11) || '-' || char(31, 127)"
_SQL_ALL_CONTROLS = "char(1) || '-' || char(31, 127)"
_SQL_BIDI = "char(0x202a) || '-' || char(0x202e, 0x2066) || '-' || char(0x2069)"

# Version 7: ASCII text (bytes = code points) over CHAR_LIMIT is too long, by triggers since
# SQLite cannot add a CHECK to a table; and sign-outs, so an older sign-in cookie is void.
_ASCII_OVER_LIMIT = " OR ".join(
    f"(length(new.{column}) > {CHAR_LIMIT}"
    f" AND length(CAST(new.{column} AS BLOB)) = length(new.{column}))"
    for column in ("username", "body")
)
_SQLITE_V7 = [
    *(
        f"""CREATE TRIGGER notes_before_{event.split()[0].lower()} BEFORE {event} ON notes
        WHEN {_ASCII_OVER_LIMIT} BEGIN
        SELECT RAISE(ABORT, 'CHECK constraint failed: over {CHAR_LIMIT} characters');
    END"""
        for event in ("INSERT", "UPDATE OF username, body")
    ),
    "CREATE TABLE sign_outs (issuer TEXT NOT NULL, subject TEXT NOT NULL,"
    " signed_out INTEGER NOT NULL, PRIMARY KEY (issuer, subject)) WITHOUT ROWID",
]
# Notes by author, and by signed-in owner (their flood limit), newest first: both dialects.
_AUTHOR_INDEXES = [
    "CREATE INDEX notes_by_author ON notes (username, id)",
    "CREATE INDEX notes_by_owner ON notes (owner_subject, owner_issuer, id)"
    " WHERE owner_subject IS NOT NULL",
]
_SQLITE_SCHEMA = [
    # validate_note's rules again, so that no writer can store a bad note (those that need
    # Unicode tables aside); newest first walks the rowid b-tree of id backwards.
    f"""CREATE TABLE notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a deleted number is never reused
    created_timestamp INTEGER NOT NULL CHECK (typeof(created_timestamp) = 'integer'),
    updated_timestamp INTEGER NOT NULL CHECK (typeof(updated_timestamp) = 'integer'
                                              AND updated_timestamp >= created_timestamp),
    username TEXT NOT NULL CHECK (
        typeof(username) = 'text'
        AND length(username) BETWEEN 1 AND {CODE_POINT_LIMIT}
        AND username = trim(username)
        AND instr(username, char(0)) = 0
        AND username NOT GLOB '*[' || {_SQL_ALL_CONTROLS} || {_SQL_BIDI} || ']*'),
    body TEXT NOT NULL CHECK (
        typeof(body) = 'text'
        AND length(body) BETWEEN 1 AND {CODE_POINT_LIMIT}
        AND body = trim(body, char(32, 9, 10))
        AND instr(body, char(0)) = 0
        AND body NOT GLOB '*[' || {_SQL_CONTROLS_EXCEPT_LF_TAB} || {_SQL_BIDI} || ']*'),
    version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    owner_subject TEXT, owner_issuer TEXT, editor TEXT, editor_subject TEXT, editor_issuer TEXT
)""",
    *_AUTHOR_INDEXES,
    # prefix: a word typed so far (up to 6 letters) is found in its own index.
    "CREATE VIRTUAL TABLE notes_fts USING fts5(body, username, content='notes',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 5 6')",
    "CREATE TABLE note_tags (tag TEXT NOT NULL, id INTEGER NOT NULL,"
    " PRIMARY KEY (tag, id)) WITHOUT ROWID",
    "CREATE INDEX note_tags_by_note ON note_tags (id)",
    # Notes per author, and the total under '' (no note's name): no page runs COUNT(*).
    "CREATE TABLE note_counts (username TEXT PRIMARY KEY,"
    " notes INTEGER NOT NULL CHECK (notes >= 0)) WITHOUT ROWID",
    # Nothing is lost: an edit keeps the version it replaces, a delete moves it to the trash.
    "CREATE TABLE note_history (id INTEGER NOT NULL, version INTEGER NOT NULL,"
    " username TEXT NOT NULL, body TEXT NOT NULL, updated_timestamp INTEGER NOT NULL,"
    " editor TEXT, editor_subject TEXT, editor_issuer TEXT,"
    " PRIMARY KEY (id, version)) WITHOUT ROWID",
    "CREATE TABLE trash (id INTEGER PRIMARY KEY, created_timestamp INTEGER NOT NULL,"
    " updated_timestamp INTEGER NOT NULL, username TEXT NOT NULL, body TEXT NOT NULL,"
    " version INTEGER NOT NULL, deleted_timestamp INTEGER NOT NULL, owner_subject TEXT,"
    " owner_issuer TEXT, editor TEXT, editor_subject TEXT, editor_issuer TEXT)",
    # The Activity page's counts, so it never reads the notes: notes per UTC hour of
    # creation, and per #tag (a row at zero is deleted: the rows are the tags in use).
    "CREATE TABLE note_hours (hour INTEGER PRIMARY KEY, notes INTEGER NOT NULL CHECK (notes >= 0))",
    "CREATE TABLE tag_counts (tag TEXT PRIMARY KEY,"
    " notes INTEGER NOT NULL CHECK (notes >= 0)) WITHOUT ROWID",
    # Derived data is kept by these triggers alone, so no write path can forget one. Tags
    # come from the app's note_tags_of(body) (connect() registers it): a writer without it
    # is refused. A body without "#" skips the call.
    """CREATE TRIGGER notes_after_insert AFTER INSERT ON notes BEGIN
        INSERT INTO notes_fts (rowid, body, username) VALUES (new.id, new.body, new.username);
        INSERT INTO note_counts VALUES (new.username, 1), ('', 1)
            ON CONFLICT (username) DO UPDATE SET notes = notes + 1;
        INSERT INTO note_tags (tag, id) SELECT value, new.id FROM json_each(
            CASE WHEN instr(new.body, '#') THEN note_tags_of(new.body) ELSE '[]' END);
        INSERT INTO note_hours VALUES (new.created_timestamp / 3600, 1)
            ON CONFLICT (hour) DO UPDATE SET notes = notes + 1;
    END""",
    """CREATE TRIGGER notes_after_delete AFTER DELETE ON notes BEGIN
        INSERT INTO notes_fts (notes_fts, rowid, body, username)
            VALUES ('delete', old.id, old.body, old.username);
        UPDATE note_counts SET notes = notes - 1 WHERE username IN (old.username, '');
        DELETE FROM note_counts WHERE username = old.username AND notes = 0;
        DELETE FROM note_tags WHERE id = old.id;
        UPDATE note_hours SET notes = notes - 1 WHERE hour = old.created_timestamp / 3600;
    END""",
    """CREATE TRIGGER notes_after_update AFTER UPDATE OF username, body ON notes BEGIN
        INSERT INTO notes_fts (notes_fts, rowid, body, username)
            VALUES ('delete', old.id, old.body, old.username);
        INSERT INTO notes_fts (rowid, body, username) VALUES (new.id, new.body, new.username);
        DELETE FROM note_tags WHERE id = old.id;
        INSERT INTO note_tags (tag, id) SELECT value, new.id FROM json_each(
            CASE WHEN instr(new.body, '#') THEN note_tags_of(new.body) ELSE '[]' END);
        INSERT INTO note_history (id, version, username, body, updated_timestamp,
                                  editor, editor_subject, editor_issuer)
            VALUES (old.id, old.version, old.username, old.body, old.updated_timestamp,
                    old.editor, old.editor_subject, old.editor_issuer);
    END""",
    """CREATE TRIGGER notes_after_rename AFTER UPDATE OF username ON notes
        WHEN old.username <> new.username BEGIN
        UPDATE note_counts SET notes = notes - 1 WHERE username = old.username;
        DELETE FROM note_counts WHERE username = old.username AND notes = 0;
        INSERT INTO note_counts VALUES (new.username, 1)
            ON CONFLICT (username) DO UPDATE SET notes = notes + 1;
    END""",
    """CREATE TRIGGER notes_after_retime AFTER UPDATE OF created_timestamp ON notes
        WHEN old.created_timestamp / 3600 <> new.created_timestamp / 3600 BEGIN
        UPDATE note_hours SET notes = notes - 1 WHERE hour = old.created_timestamp / 3600;
        INSERT INTO note_hours VALUES (new.created_timestamp / 3600, 1)
            ON CONFLICT (hour) DO UPDATE SET notes = notes + 1;
    END""",
    """CREATE TRIGGER note_tags_after_insert AFTER INSERT ON note_tags BEGIN
        INSERT INTO tag_counts VALUES (new.tag, 1)
            ON CONFLICT (tag) DO UPDATE SET notes = notes + 1;
    END""",
    """CREATE TRIGGER note_tags_after_delete AFTER DELETE ON note_tags BEGIN
        UPDATE tag_counts SET notes = notes - 1 WHERE tag = old.tag;
        DELETE FROM tag_counts WHERE tag = old.tag AND notes = 0;
    END""",
    *_SQLITE_V7,
]


# PostgreSQL keeps the same rules and derived data its own way. Its parser and regular
# expressions follow the server's locale, so the app writes `words` and `tags` itself
# (search_words, extract_tags; no default, so a writer that forgot them is refused). Counts
# are split over slots by id so writers don't queue on one row, upserted in key order (no
# deadlock); a bulk load (seed, copy) sets notes.bulk_load and adds its counts at the end.
PG_LOCK_KEY = 0x4C4E_4F54  # the advisory lock that serialises migrations ("LNOT")
PG_COUNT_SLOTS = 16

# A past hour's slots are folded into its slot 0 (a year stays about a row an hour) by the
# first write of each slot in a new hour. Every writer takes note_counts, hours, tags in order.
PG_FOLD_HOURS = 7 * 24  # hours before a new one whose slots its first writer folds
_PG_NOTES_CHANGED = f"""
CREATE FUNCTION notes_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE new_row boolean;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.username <> OLD.username THEN
            INSERT INTO note_counts (username, slot, notes)
            SELECT * FROM (VALUES (OLD.username, OLD.id % {PG_COUNT_SLOTS}, -1),
                                  (NEW.username, NEW.id % {PG_COUNT_SLOTS}, 1)) AS v
            ORDER BY 1
            ON CONFLICT (username, slot) DO UPDATE SET notes = note_counts.notes + excluded.notes;
        END IF;
        IF NEW.created_timestamp / 3600 <> OLD.created_timestamp / 3600 THEN
            INSERT INTO note_hours (hour, slot, notes)
            SELECT * FROM (VALUES (OLD.created_timestamp / 3600, OLD.id % {PG_COUNT_SLOTS}, -1),
                                  (NEW.created_timestamp / 3600, NEW.id % {PG_COUNT_SLOTS}, 1))
                AS v ORDER BY 1
            ON CONFLICT (hour, slot) DO UPDATE SET notes = note_hours.notes + excluded.notes;
        END IF;
        IF NEW.tags IS DISTINCT FROM OLD.tags THEN
            INSERT INTO tag_counts (tag, slot, notes)
            SELECT tag, NEW.id % {PG_COUNT_SLOTS}, sum(n) FROM (
                SELECT DISTINCT unnest(OLD.tags) AS tag, -1 AS n
                UNION ALL SELECT DISTINCT unnest(NEW.tags), 1) AS d
            GROUP BY tag HAVING sum(n) <> 0 ORDER BY tag
            ON CONFLICT (tag, slot) DO UPDATE SET notes = tag_counts.notes + excluded.notes;
        END IF;
        IF (NEW.username, NEW.body) IS DISTINCT FROM (OLD.username, OLD.body) THEN
            INSERT INTO note_history (id, version, username, body, updated_timestamp,
                                      editor, editor_subject, editor_issuer)
            VALUES (OLD.id, OLD.version, OLD.username, OLD.body, OLD.updated_timestamp,
                    OLD.editor, OLD.editor_subject, OLD.editor_issuer);
        END IF;
    ELSIF current_setting('notes.bulk_load', true) IS DISTINCT FROM 'on' THEN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO note_counts (username, slot, notes)
            VALUES ('', NEW.id % {PG_COUNT_SLOTS}, 1),
                   (NEW.username, NEW.id % {PG_COUNT_SLOTS}, 1)
            ON CONFLICT (username, slot) DO UPDATE SET notes = note_counts.notes + excluded.notes;
            INSERT INTO note_hours (hour, slot, notes)
            VALUES (NEW.created_timestamp / 3600, NEW.id % {PG_COUNT_SLOTS}, 1)
            ON CONFLICT (hour, slot) DO UPDATE SET notes = note_hours.notes + excluded.notes
            RETURNING xmax = 0 INTO new_row;  -- (an upsert's new row has no xmax)
            IF new_row AND NEW.id % {PG_COUNT_SLOTS} <> 0 THEN
                WITH moved AS (
                    DELETE FROM note_hours WHERE slot = NEW.id % {PG_COUNT_SLOTS}
                        AND hour BETWEEN NEW.created_timestamp / 3600 - {PG_FOLD_HOURS}
                                     AND NEW.created_timestamp / 3600 - 1
                    RETURNING hour, notes)
                INSERT INTO note_hours (hour, slot, notes)
                SELECT hour, 0, notes FROM moved ORDER BY hour
                ON CONFLICT (hour, slot) DO UPDATE SET notes = note_hours.notes + excluded.notes;
            END IF;
            INSERT INTO tag_counts (tag, slot, notes)
            SELECT DISTINCT tag, NEW.id % {PG_COUNT_SLOTS}, 1 FROM unnest(NEW.tags) AS tag
            ORDER BY tag
            ON CONFLICT (tag, slot) DO UPDATE SET notes = tag_counts.notes + excluded.notes;
        ELSE
            INSERT INTO note_counts (username, slot, notes)
            VALUES ('', OLD.id % {PG_COUNT_SLOTS}, -1),
                   (OLD.username, OLD.id % {PG_COUNT_SLOTS}, -1)
            ON CONFLICT (username, slot) DO UPDATE SET notes = note_counts.notes + excluded.notes;
            INSERT INTO note_hours (hour, slot, notes)
            VALUES (OLD.created_timestamp / 3600, OLD.id % {PG_COUNT_SLOTS}, -1)
            ON CONFLICT (hour, slot) DO UPDATE SET notes = note_hours.notes + excluded.notes;
            INSERT INTO tag_counts (tag, slot, notes)
            SELECT DISTINCT tag, OLD.id % {PG_COUNT_SLOTS}, -1 FROM unnest(OLD.tags) AS tag
            ORDER BY tag
            ON CONFLICT (tag, slot) DO UPDATE SET notes = tag_counts.notes + excluded.notes;
        END IF;
    END IF;
    RETURN NULL;
END
$$"""

# Version 7's rule of SQLite's triggers _SQLITE_V7, as a CHECK named for the upgrade.
_PG_ASCII_LIMIT = " AND ".join(
    f"(char_length({column}) <= {CHAR_LIMIT} OR octet_length({column}) > char_length({column}))"
    for column in ("username", "body")
)
_PG_SIGN_OUTS = (
    "CREATE TABLE sign_outs (issuer text NOT NULL, subject text NOT NULL,"
    " signed_out bigint NOT NULL, PRIMARY KEY (issuer, subject))"
)
_PG_SCHEMA = [
    # Column order as databases upgraded from earlier versions have it.
    rf"""CREATE TABLE notes (
    id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    created_timestamp bigint NOT NULL,
    updated_timestamp bigint NOT NULL CHECK (updated_timestamp >= created_timestamp),
    username text NOT NULL CHECK (
        char_length(username) BETWEEN 1 AND {CODE_POINT_LIMIT}
        AND username = btrim(username)
        AND username !~ '[\x01-\x1f\x7f\u202a-\u202e\u2066-\u2069]'),
    body text NOT NULL CHECK (
        char_length(body) BETWEEN 1 AND {CODE_POINT_LIMIT}
        AND body = btrim(body, E' \t\n')
        AND body !~ '[\x01-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]'),
    version integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    tags text[] NOT NULL,
    words tsvector NOT NULL,
    owner_subject text, owner_issuer text, editor text, editor_subject text, editor_issuer text,
    CONSTRAINT notes_ascii_limit CHECK ({_PG_ASCII_LIMIT})
)""",
    # Rare words and tags estimated as rare: the planner reads their GIN index, not the table.
    "ALTER TABLE notes ALTER COLUMN words SET STATISTICS 1000,"
    " ALTER COLUMN tags SET STATISTICS 1000",
    *_AUTHOR_INDEXES,
    "CREATE INDEX notes_by_tag ON notes USING gin (tags)",
    "CREATE INDEX notes_by_words ON notes USING gin (words)",
    "CREATE TABLE note_history (id bigint NOT NULL, version integer NOT NULL,"
    " username text NOT NULL, body text NOT NULL, updated_timestamp bigint NOT NULL,"
    " editor text, editor_subject text, editor_issuer text, PRIMARY KEY (id, version))",
    "CREATE TABLE trash (id bigint PRIMARY KEY, created_timestamp bigint NOT NULL,"
    " updated_timestamp bigint NOT NULL, username text NOT NULL, body text NOT NULL,"
    " version integer NOT NULL, deleted_timestamp bigint NOT NULL, owner_subject text,"
    " owner_issuer text, editor text, editor_subject text, editor_issuer text)",
    # Each count in PG_COUNT_SLOTS slots (this hour is hot).
    "CREATE TABLE note_counts (username text NOT NULL, slot smallint NOT NULL,"
    " notes bigint NOT NULL, PRIMARY KEY (username, slot))",
    "CREATE TABLE note_hours (hour bigint NOT NULL, slot smallint NOT NULL,"
    " notes bigint NOT NULL, PRIMARY KEY (hour, slot))",
    "CREATE TABLE tag_counts (tag text NOT NULL, slot smallint NOT NULL,"
    " notes bigint NOT NULL, PRIMARY KEY (tag, slot))",
    _PG_NOTES_CHANGED,
    # A hand-edit of a note's creation time or tags moves its counts too.
    "CREATE TRIGGER notes_changed AFTER INSERT OR DELETE"
    " OR UPDATE OF username, body, created_timestamp, tags ON notes"
    " FOR EACH ROW EXECUTE FUNCTION notes_changed()",
    _PG_SIGN_OUTS,
    "CREATE TABLE notes_schema (version integer NOT NULL)",
    f"INSERT INTO notes_schema VALUES ({SCHEMA_VERSION})",
]

_SCHEMA = {"sqlite": _SQLITE_SCHEMA, "postgresql": _PG_SCHEMA}
_UPGRADES: dict[str, dict[int, list[str]]] = {
    "sqlite": {6: _SQLITE_V7},
    "postgresql": {
        6: [
            # NOT VALID: rows written before are left as they are.
            "ALTER TABLE notes ADD CONSTRAINT notes_ascii_limit"
            f" CHECK ({_PG_ASCII_LIMIT}) NOT VALID",
            _PG_SIGN_OUTS,
        ],
    },
}


def _schema_statements(dialect: str, version: int) -> list[str]:
    """The statements that bring a database at version (0: a new one) to SCHEMA_VERSION."""
    if version == 0:
        return _SCHEMA[dialect]
    return [sql for step in range(version, SCHEMA_VERSION) for sql in _UPGRADES[dialect][step]]


def _check_version(dialect: str, name: str, version: int, *, upgrade: bool) -> None:
    """Raise StorageError for a newer or development version, or an old one unless upgrade."""
    oldest = min(_UPGRADES[dialect])
    if version > SCHEMA_VERSION:
        raise StorageError(MSG_DB_NEWER.format(name=name, version=version, known=SCHEMA_VERSION))
    if not upgrade and version == 0 and dialect == "postgresql":
        raise StorageError(MSG_PG_EMPTY.format(name=name))
    if 0 < version < oldest:
        raise StorageError(MSG_DB_DEVELOPMENT.format(name=name, version=version, oldest=oldest))
    if not upgrade and version < SCHEMA_VERSION:
        raise StorageError(MSG_DB_OLDER.format(name=name, version=version))


def _schema_version(conn: sqlite3.Connection) -> int:
    """Return the schema version recorded in the file (0 for a new or foreign file)."""
    return conn.execute("PRAGMA user_version").fetchone()[0]


def _check_schema(conn: sqlite3.Connection, name: str, *, upgrade: bool) -> None:
    """Raise StorageError unless the file is a notes database this app may use (never touched)."""
    # One transaction: read apart, a file another thread was creating could look foreign.
    conn.execute("BEGIN")
    try:
        version = _schema_version(conn)
        if version == 0:
            listed = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            tables = {row[0] for row in listed}
            seed_columns = {row[1] for row in conn.execute("PRAGMA table_info(notes)")}
            is_seed = tables == {"notes"} and {"username", "body"} <= seed_columns
            if (tables and not is_seed) or (not upgrade and not tables):
                raise StorageError(MSG_DB_NOT_A_DATABASE.format(name=name))
        _check_version("sqlite", name, version, upgrade=upgrade)
    finally:
        conn.execute("COMMIT")  # it only read


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to SCHEMA_VERSION in one transaction, keeping a tutorial file's notes."""
    if _schema_version(conn) == SCHEMA_VERSION:
        return
    with _write(conn):
        # Read again under the write lock: another process may have migrated meanwhile.
        version = _schema_version(conn)
        seed = version == 0 and bool(conn.execute("PRAGMA table_info(notes)").fetchall())
        if seed:
            conn.execute("ALTER TABLE notes RENAME TO legacy_notes")
        for statement in _schema_statements("sqlite", version):
            conn.execute(statement)
        if seed:
            _keep_seed_notes(conn)
        elif version == 0:
            _insert_notes(conn, [_welcome_note()])
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _keep_seed_notes(conn: sqlite3.Connection) -> None:
    """Move the tutorial's notes into today's table; keep a refused row in legacy_rejected_notes."""
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
            conn.execute(
                "INSERT INTO notes (created_timestamp, updated_timestamp, username, body, id)"
                " VALUES (?, ?, ?, ?, ?)",
                (created_ts, updated_ts, clean_username, clean_body, rowid),
            )
        except (InvalidNoteError, TypeError, ValueError, sqlite3.IntegrityError) as error:
            conn.execute(
                "INSERT INTO legacy_rejected_notes VALUES (?, ?, ?, ?, ?, ?)",
                (rowid, created, updated, username, body, str(error)),
            )
    conn.execute("DROP TABLE legacy_notes")


def _pg_migrate(conn: psycopg.Connection, name: str, *, upgrade: bool = True) -> None:
    """Bring a PostgreSQL database up to SCHEMA_VERSION in one transaction, as _check_version."""
    # Under an advisory lock: a second server starting meanwhile waits, then finds it done.
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_LOCK_KEY,))
        found = conn.execute(
            "SELECT to_regclass('notes_schema') IS NOT NULL AS versioned,"
            " to_regclass('notes') IS NOT NULL AS has_notes"
        ).fetchone()
        if found["has_notes"] and not found["versioned"]:  # another app's notes table
            raise StorageError(MSG_DB_NOT_A_DATABASE.format(name=name))
        version = 0
        if found["versioned"]:
            version = conn.execute("SELECT max(version) AS v FROM notes_schema").fetchone()["v"]
        _check_version("postgresql", name, version, upgrade=upgrade)
        if version == SCHEMA_VERSION:
            return
        for statement in _schema_statements("postgresql", version):
            conn.execute(statement)  # DDL, no parameters
        if version == 0:
            _insert_notes(conn, [_welcome_note()])
        else:
            conn.execute(f"UPDATE notes_schema SET version = {SCHEMA_VERSION}")


# Store: connecting -----------------------------------------------------------


def open_database(
    target: str | os.PathLike, *, create: bool = True, read_only: bool = False
) -> Database:
    """Open the notes database at target, a postgresql:// URL or a SQLite file (see connect())."""
    if is_database_url(target):
        return open_postgres(str(target), upgrade=not read_only)
    return connect(target, create=create, read_only=read_only)


def open_postgres(url: str, *, upgrade: bool = True) -> Postgres:
    """Connect to PostgreSQL at url, migrate it (unless upgrade=False) and return a pool."""
    db = Postgres(url)
    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, row_factory=dict_row) as conn:
            _pg_migrate(conn, db.name, upgrade=upgrade)
        db.pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as error:  # the pool's PoolTimeout too
        raise _pg_error(error, db) from None  # from None: a cause may quote the URL
    return db


def _welcome_note() -> dict:
    """The first note of a new feed."""
    now = now_timestamp()
    return dict(
        created_timestamp=now, updated_timestamp=now, username=WELCOME_USERNAME, body=WELCOME_BODY
    )


def connect(
    path: str | os.PathLike, *, create: bool = True, read_only: bool = False, threads: bool = False
) -> sqlite3.Connection:
    """Open the notes file at path for this thread (threads: for threads in turn), up to date;
    StorageError if it is missing, cannot be opened, is not this app's, or stays locked."""
    path = Path(path)
    if (read_only or not create) and not path.is_file():
        raise StorageError(MSG_DB_MISSING.format(path=path))
    try:
        # isolation_level=None: no implicit transactions; _write() issues BEGIN/COMMIT.
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode={'ro' if read_only else 'rwc'}",
            uri=True,
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            factory=_Connection,
            check_same_thread=not threads,
        )
    except sqlite3.Error as error:
        raise _storage_error(error, str(path)) from error
    conn.write_queue = _write_queues.setdefault(os.path.realpath(path), threading.Lock())
    # The triggers' note_tags_of(body): its #tags as a JSON list.
    conn.create_function(
        "note_tags_of", 1, lambda body: json.dumps(extract_tags(body or "")), deterministic=True
    )
    try:
        _check_schema(conn, path.name, upgrade=not read_only)
        if not read_only:
            # WAL: readers and the writer never block each other (the switch fails while
            # another connection writes: queued).
            with _queued(conn):
                conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: only a power cut can undo the last commits (FULL: half speed).
            conn.execute("PRAGMA synchronous = NORMAL")
            _migrate(conn)
    except _SQLITE_FAULTS as error:
        conn.close()
        raise _storage_error(error, str(path)) from error
    except NotesError:
        conn.close()
        raise
    return conn


# Store: NoteService ----------------------------------------------------------

MSG_BOTH_BOUNDS = "A page is older than `before` or newer than `after`, not both."

# The one way notes enter the table (create, seed, restore, copy): a JSON list of notes,
# one statement a batch, as SQLite's FTS5 flushes its index at every statement. A note
# without an id gets the next number; one with an id and version keeps them. SQLite
# parses the JSON again for each json_extract: open-mode notes skip the identity columns.
_SQLITE_INSERT_NOTES = f"""
INSERT INTO notes (id, created_timestamp, updated_timestamp, username, body, version{{columns}})
SELECT json_extract(value, '$.id'),
       json_extract(value, '$.created_timestamp'), json_extract(value, '$.updated_timestamp'),
       json_extract(value, '$.username'), json_extract(value, '$.body'),
       coalesce(json_extract(value, '$.version'), 1){{values}}
FROM json_each(:notes) ORDER BY key
RETURNING {_NOTE_COLUMNS}
"""
_INSERT_NOTES = {
    ("sqlite", False): _SQLITE_INSERT_NOTES.format(columns="", values=""),
    ("sqlite", True): _SQLITE_INSERT_NOTES.format(
        columns="".join(f", {column}" for column in _IDENTITY_COLUMNS),
        values="".join(f", json_extract(value, '$.{column}')" for column in _IDENTITY_COLUMNS),
    ),
    ("postgresql", False): f"""
INSERT INTO notes ({_NOTE_COLUMNS}, tags, words)
SELECT r.created_timestamp, r.updated_timestamp, r.username, r.body,
       coalesce(r.id, nextval(pg_get_serial_sequence('notes', 'id'))), coalesce(r.version, 1),
       r.owner_subject, r.owner_issuer, r.editor, r.editor_subject, r.editor_issuer,
       r.tags, array_to_tsvector(r.words)
FROM jsonb_to_recordset(CAST(:notes AS jsonb)) AS r(id bigint, created_timestamp bigint,
     updated_timestamp bigint, username text, body text, version integer,
     owner_subject text, owner_issuer text, editor text, editor_subject text,
     editor_issuer text, tags text[], words text[])
RETURNING {_NOTE_COLUMNS}
""",
}
_INSERT_NOTES["postgresql", True] = _INSERT_NOTES["postgresql", False]
BULK_BATCH = 1000  # rows per statement of a bulk load (seed, copy; a copy's progress step)
# PostgreSQL's maintained counts, in the order the trigger takes them: (table, key, type).
_PG_COUNTS = (("note_counts", "username", "text"), ("note_hours", "hour", "bigint"),
              ("tag_counts", "tag", "text"))  # fmt: skip


def _derived(username: str, body: str) -> dict:
    """What PostgreSQL keeps beside a note's text, found by the app's rules."""
    return {"tags": extract_tags(body), "words": search_words(f"{body} {username}")}


def _insert_notes(tx: Database, notes: list[dict]) -> list:
    """Insert valid notes (Note's fields, id and version optional) in _write; return the rows."""
    dialect = _dialect(tx)
    if dialect == "postgresql":
        notes = [{**note, **_derived(note["username"], note["body"])} for note in notes]
    identity = any(note.get(column) is not None for note in notes for column in _IDENTITY_COLUMNS)
    batch = {"notes": json.dumps(notes, ensure_ascii=False)}
    return _execute(tx, _INSERT_NOTES[dialect, identity], batch).fetchall()


def _hour(timestamp: int) -> int:
    """The hour a note created at timestamp counts in, as SQL divides (toward zero)."""
    return timestamp // 3600 if timestamp >= 0 else -(-timestamp // 3600)


@contextmanager
def _bulk_load(tx: Database) -> Iterator[Callable[[list], None]]:
    """Load many notes in one transaction: yield added(rows), for _insert_notes's rows."""
    if _dialect(tx) == "sqlite":  # its triggers cost little per row
        yield lambda rows: None
        return
    # PostgreSQL's count trigger stands aside; the counts are added once, in key order
    _execute(tx, "SELECT set_config('notes.bulk_load', 'on', true)")
    counts: dict[tuple[str, str, str], Counter] = {table: Counter() for table in _PG_COUNTS}
    authors, hours, tags = counts.values()  # each (key, slot) -> notes

    def added(rows: list) -> None:
        for row in rows:
            slot = row["id"] % PG_COUNT_SLOTS
            authors.update([("", slot), (row["username"], slot)])
            hours[(_hour(row["created_timestamp"]), 0)] += 1  # folded (see _PG_FOLD_HOURS)
            tags.update((tag, slot) for tag in extract_tags(row["body"]))  # as _derived has them

    yield added
    _execute(tx, "SELECT set_config('notes.bulk_load', 'off', true)")
    for (table, key, kind), counted in counts.items():
        rows = [{"key": k, "slot": s, "notes": n} for (k, s), n in sorted(counted.items())]
        _execute(
            tx,
            f"INSERT INTO {table} ({key}, slot, notes)"
            " SELECT key, slot, notes FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
            f" AS r(key {kind}, slot smallint, notes bigint) ORDER BY key, slot"
            f" ON CONFLICT ({key}, slot) DO UPDATE SET notes = {table}.notes + excluded.notes",
            {"rows": json.dumps(rows, ensure_ascii=False)},
        )
    _execute(tx, "ANALYZE notes")  # so that searches use the right index at once


# Who may change a row, a condition of every UPDATE and DELETE of a note: the check and
# the write are one statement. Only when it finds nothing does _changeable say why.
_MAY_CHANGE = (
    " AND (:admin OR (coalesce(owner_subject, '') = coalesce(:actor_subject, '')"
    " AND coalesce(owner_issuer, '') = coalesce(:actor_issuer, '')))"
)


def _acting(actor: Actor | None) -> dict:
    """The parameters of _MAY_CHANGE for actor; NotAllowedError for a signed-out visitor."""
    if actor is None:
        raise NotAllowedError(MSG_SIGN_IN_TO_WRITE)
    return {"admin": actor.admin, "actor_subject": actor.subject, "actor_issuer": actor.issuer}


# Saving an edit: a new version, only if the note is still at the version the person
# saw (when given) and the text really changed. PostgreSQL takes the new tags and words.
_UPDATE_NOTE_SQL = {
    dialect: f"""
UPDATE notes SET username = :username, body = :body, version = version + 1{tags},
    editor = :editor, editor_subject = :editor_subject, editor_issuer = :editor_issuer,
    updated_timestamp = CASE WHEN :now > created_timestamp THEN :now ELSE created_timestamp END
WHERE id = :id AND version = coalesce(:version, version)
    AND (username <> :username OR body <> :body){_MAY_CHANGE}
RETURNING {_NOTE_COLUMNS}
"""
    for dialect, tags in (
        ("sqlite", ""),
        ("postgresql", ", tags = :tags, words = array_to_tsvector(CAST(:words AS text[]))"),
    )
}


_LISTING_COLUMNS = ", ".join(f"n.{name}" for name in _NOTE_FIELDS)  # a listing's notes "n"


def _listing_sql(template: str) -> dict[bool, str]:
    """Return template's "older" (newest first) and "newer" statements, keyed by newer."""
    return {
        newer: template.format(columns=_LISTING_COLUMNS, cmp=cmp, order=order, end=end)
        for newer, cmp, order, end in ((False, "<", "DESC", "min"), (True, ">", "ASC", "max"))
    }


# One listing per structure that can drive it in id order, so that LIMIT stops it
# early. SQLite: the search index, else the tag list, else the author index, else the
# notes table itself ("+" keeps SQLite from driving by the author index instead).
# PostgreSQL: the author index, else the notes table; searches and tags below.
_LIST_BOTH = {
    "author": _listing_sql(
        "SELECT {columns} FROM notes n WHERE n.username = :author AND n.id {cmp} :bound"
        " ORDER BY n.id {order} LIMIT :limit"
    ),
    "all": _listing_sql(
        "SELECT {columns} FROM notes n WHERE n.id {cmp} :bound ORDER BY n.id {order} LIMIT :limit"
    ),
    "trash": _listing_sql(
        "SELECT {columns}, n.deleted_timestamp FROM trash n WHERE n.id {cmp} :bound"
        " ORDER BY n.id {order} LIMIT :limit"
    ),
}
_LIST_SQL = {
    "sqlite": {
        **_LIST_BOTH,
        "search": _listing_sql(
            "SELECT {columns} FROM notes_fts JOIN notes n ON n.id = notes_fts.rowid"
            " WHERE notes_fts MATCH :match AND notes_fts.rowid {cmp} :bound"
            " AND (:author IS NULL OR +n.username = :author) AND (:tag IS NULL"
            " OR EXISTS (SELECT 1 FROM note_tags t WHERE t.tag = :tag AND t.id = n.id))"
            " ORDER BY notes_fts.rowid {order} LIMIT :limit"
        ),
        "tag": _listing_sql(
            "SELECT {columns} FROM note_tags t JOIN notes n ON n.id = t.id"
            " WHERE t.tag = :tag AND t.id {cmp} :bound"
            " AND (:author IS NULL OR +n.username = :author)"
            " ORDER BY t.id {order} LIMIT :limit"
        ),
    },
    "postgresql": _LIST_BOTH,
}


# PostgreSQL, a search or a tag: the planner takes a word it has no statistics for as common
# and walks the primary key: the whole table, for a word in no note. So a page reads the
# PG_WINDOW newest notes below the bound (an id range), then, if too few matched, the older
# ones: by the GIN index if none did ("n.id + 0" keeps the planner off the key), else as
# the planner chooses (walking the key is faster for common words).
PG_WINDOW = 10_000  # notes a filtered page walks in id order before it uses the index
_PG_FILTERS = {
    "search": "n.words @@ CAST(:match AS tsquery)"
    " AND (CAST(:author AS text) IS NULL OR n.username = :author)"
    " AND (CAST(:tag AS text) IS NULL OR n.tags @> ARRAY[CAST(:tag AS text)])",
    "tag": "n.tags @> ARRAY[CAST(:tag AS text)]"
    " AND (CAST(:author AS text) IS NULL OR n.username = :author)",
}
_PG_STEPS = {  # source -> the window, the rare and the common step
    source: [
        _listing_sql(
            f"SELECT {{columns}} FROM notes n WHERE {condition} AND {step} {{order}} LIMIT :limit"
        )
        for step in (
            "n.id {cmp} :bound AND :edge {cmp}= n.id ORDER BY n.id",
            # the subquery runs once, first: past the newest or oldest note, no index is read
            "n.id {cmp} :edge AND (SELECT {end}(id) FROM notes) {cmp} :edge ORDER BY n.id + 0",
            "n.id {cmp} :edge AND (SELECT {end}(id) FROM notes) {cmp} :edge ORDER BY n.id",
        )
    ]
    for source, condition in _PG_FILTERS.items()
}


def _pg_filtered_page(db: Database, source: str, params: dict, newer: bool, bound: int) -> list:
    """Rows of a search or tag listing on PostgreSQL, in listing order (see PG_WINDOW)."""
    if not newer and bound == MAX_NOTE_ID:  # the first page: the window ends at the newest note
        bound = _read(db, "SELECT coalesce(max(id), 0) + 1 AS top FROM notes")[0]["top"]
    edge = bound + PG_WINDOW if newer else bound - PG_WINDOW
    window, rare, common = (step[newer] for step in _PG_STEPS[source])
    rows = _read(db, window, {**params, "bound": bound, "edge": edge})
    if len(rows) < params["limit"]:
        rest = common if rows else rare
        rows += _read(db, rest, {**params, "edge": edge, "limit": params["limit"] - len(rows)})
    return rows


def _search_query(dialect: str, terms: list[str]) -> str:
    """Return an FTS5 query, or a tsquery, for all terms; the last, perhaps half-typed, a prefix."""
    # terms are letters and digits only: quoted, they leave no syntax to break
    if dialect == "postgresql":  # words as the index keeps them; a literal, not parsed
        *whole, last = [_fold(term)[:SEARCH_WORD_CHARS] for term in terms]
        return " & ".join([*(f"'{term}'" for term in whole), f"'{last}':*"])
    *whole, last = terms
    return " ".join([*(f'"{term}"' for term in whole), f'"{last}"*'])


def _bounds(before: int | None, after: int | None) -> tuple[bool, int]:
    """Return (newer, bound) for a keyset page; raise ValueError if given both bounds."""
    if before is not None and after is not None:
        raise ValueError(MSG_BOTH_BOUNDS)
    if after is not None:
        return True, after
    return False, MAX_NOTE_ID if before is None else before


def _page(
    conn: Database, source: str, params: dict, limit: int, before: int | None, after: int | None
) -> list[Note]:
    """Run a keyset listing: up to limit notes below `before` or above `after`, newest first."""
    newer, bound = _bounds(before, after)
    if _dialect(conn) == "postgresql" and source in _PG_FILTERS:
        rows = _pg_filtered_page(conn, source, {**params, "limit": limit}, newer, bound)
    else:
        sql = _LIST_SQL[_dialect(conn)][source][newer]
        rows = _read(conn, sql, {**params, "bound": bound, "limit": limit})
    notes = [TrashedNote(**dict(row)) if source == "trash" else _note(row) for row in rows]
    return notes[::-1] if newer else notes


def _changeable(conn: Database, table: str, id: int, actor: Actor | None, missing: str) -> Note:
    """Return note id from table if actor may change it; NoteNotFoundError(missing) if gone."""
    _acting(actor)
    rows = _read(conn, f"SELECT {_NOTE_COLUMNS} FROM {table} WHERE id = ?", (id,))
    if not rows:
        raise NoteNotFoundError(missing.format(id=id))
    note = _note(rows[0])
    if not actor.may_change(note):
        raise NotAllowedError(MSG_NOT_YOURS.format(id=id))
    return note


# Flood limits, checked in the write's transaction, read at most `limit` rows by an index.
_RECENT_NOTES_BY = {
    True: "owner_subject = :owner_subject AND owner_issuer = :owner_issuer",  # signed in
    False: "username = :username AND owner_subject IS NULL",  # open mode: the typed name
}


def _check_note_flood(tx: Database, note: dict, limit: int, now: int) -> None:
    """Raise TooFastError if note's author already wrote `limit` notes in the last minute."""
    if _dialect(tx) == "postgresql":  # a lock on the author: two servers count in turn
        author = f"{note['owner_issuer']} {note['owner_subject']} {note['username']}"
        lock = "SELECT pg_advisory_xact_lock(hashtextextended(:author, 0))"
        _execute(tx, lock, {"author": author})
    recent = _execute(
        tx,
        "SELECT count(*) AS n FROM (SELECT created_timestamp FROM notes"
        f" WHERE {_RECENT_NOTES_BY[note['owner_subject'] is not None]}"
        " ORDER BY id DESC LIMIT :limit) AS recent WHERE created_timestamp > :since",
        {**note, "limit": limit, "since": now - 60},
    ).fetchone()["n"]
    if recent >= limit:
        raise TooFastError(MSG_TOO_MANY_NOTES.format(count=_how_many(limit, "note")))


@dataclass(frozen=True)
class Activity:
    """What the Activity page shows, read from the maintained counts only."""

    notes: int  # in the feed now (not the trash)
    authors: int  # with a note in the feed
    tags: int  # on a note in the feed
    hours: tuple[tuple[int, int], ...]  # (UTC hour, see _hour; notes created in it), in order
    top_authors: tuple[tuple[str, int], ...]  # (username, notes), most first
    top_tags: tuple[tuple[str, int], ...]  # (tag, notes), most first


# Each reads a row per hour, author or tag (PostgreSQL sums their slots), never the notes.
_ACTIVITY_HOURS = (
    "SELECT hour, CAST(sum(notes) AS bigint) AS notes FROM note_hours"
    " WHERE hour BETWEEN :since AND :until GROUP BY hour HAVING sum(notes) > 0 ORDER BY hour"
)
# A table's keys with notes, most first, and how many there are. Ties go by code point on
# both backends (PostgreSQL would otherwise sort names by the server's locale).
_ACTIVITY_TOP = {
    dialect: "SELECT {key} AS name, CAST(sum(notes) AS bigint) AS notes,"
    " count(*) OVER () AS total FROM {table} WHERE {key} <> '' GROUP BY {key}"
    f" HAVING sum(notes) > 0 ORDER BY notes DESC, {{key}}{collate} LIMIT :top"
    for dialect, collate in (("sqlite", ""), ("postgresql", ' COLLATE "C"'))
}
ACTIVITY_TOP = 10  # authors and tags the Activity page ranks


class NoteService:
    """Every operation on notes. Each takes the connection first and returns Notes."""

    @staticmethod
    def list_notes(
        conn: Database,
        limit: int = FEED_PAGE_SIZE,
        before: int | None = None,
        after: int | None = None,
        *,
        search: str = "",
        author: str | None = None,
        tag: str | None = None,
    ) -> list[Note]:
        """Return up to limit notes, newest first, below `before` or above `after` (not both);
        filters: `search` (words, each a prefix; never FTS syntax), `author`, `tag` (no #)."""
        terms = search_terms(search)
        if search and not terms:
            _bounds(before, after)  # the same refusal as any other listing
            return []  # only punctuation or symbols: nothing can match
        source = "search" if terms else "tag" if tag else "author" if author else "all"
        match = _search_query(_dialect(conn), terms) if terms else None
        params = {"match": match, "author": author, "tag": tag.lower() if tag else None}
        return _page(conn, source, params, limit, before, after)

    @staticmethod
    def get_note(conn: Database, id: int) -> Note:
        """Return note number id. Raises NoteNotFoundError if there is none."""
        rows = _read(conn, f"SELECT {_NOTE_COLUMNS} FROM notes WHERE id = ?", (id,))
        if not rows:
            raise NoteNotFoundError(MSG_NOT_FOUND.format(id=id))
        return _note(rows[0])

    @staticmethod
    def count_notes(conn: Database, author: str | None = None, tag: str | None = None) -> int:
        """Return how many notes there are (by author, or with tag), from maintained counts."""
        table, key = ("tag_counts", "tag") if tag else ("note_counts", "username")
        counted = f"SELECT CAST(coalesce(sum(notes), 0) AS bigint) AS notes FROM {table}"
        return _read(conn, counted + f" WHERE {key} = ?", (tag or author or "",))[0]["notes"]

    @staticmethod
    def activity(conn: Database, since: int, until: int, top: int = ACTIVITY_TOP) -> Activity:
        """Return the feed's totals, notes per hour from since to until, top authors and tags."""
        hours = _read(conn, _ACTIVITY_HOURS, {"since": _hour(since), "until": _hour(until)})
        authors, tags = (
            _read(conn, _ACTIVITY_TOP[_dialect(conn)].format(key=key, table=table), {"top": top})
            for table, key in (("note_counts", "username"), ("tag_counts", "tag"))
        )
        return Activity(
            notes=NoteService.count_notes(conn),
            authors=authors[0]["total"] if authors else 0,
            tags=tags[0]["total"] if tags else 0,
            hours=tuple((row["hour"], row["notes"]) for row in hours),
            top_authors=tuple((row["name"], row["notes"]) for row in authors),
            top_tags=tuple((row["name"], row["notes"]) for row in tags),
        )

    @staticmethod
    def create_note(
        conn: Database,
        username: object,
        body: object,
        now: int | None = None,
        *,
        actor: Actor | None = VISITOR,
        per_minute: int | None = None,
    ) -> Note:
        """Validate and store a new note by actor (signed in, named as the actor); return it.
        Raises InvalidNoteError, NotAllowedError, TooFastError (over `per_minute` a minute)."""
        _acting(actor)
        username, body = validate_note(actor.name if actor.signed_in else username, body)
        stamp = now_timestamp() if now is None else now
        note = dict(username=username, body=body, created_timestamp=stamp, updated_timestamp=stamp)
        note.update(owner_subject=actor.subject, owner_issuer=actor.issuer, **actor.identity())
        with _write(conn) as tx:
            if per_minute is not None:
                _check_note_flood(tx, note, per_minute, stamp)
            [row] = _insert_notes(tx, [note])
        return _note(row)

    @staticmethod
    def update_note(
        conn: Database,
        id: int,
        username: object,
        body: object,
        *,
        version: int | None = None,
        now: int | None = None,
        actor: Actor | None = VISITOR,
    ) -> Note:
        """Save a new version of a note (at `version`, if given); the same text saves nothing.
        Raises NoteNotFoundError, ConflictError if it changed, or NotAllowedError."""
        acting = _acting(actor)
        if actor.signed_in:  # the author's name stays: read it (and refuse early)
            username = _changeable(conn, "notes", id, actor, MSG_NOT_FOUND).username
        username, body = validate_note(username, body)
        text = {"username": username, "body": body, **_derived(username, body)}
        stamp = now_timestamp() if now is None else now
        with _write(conn) as tx:
            row = _execute(
                tx,
                _UPDATE_NOTE_SQL[_dialect(tx)],
                {**text, **actor.identity(), **acting, "id": id, "version": version, "now": stamp},
            ).fetchone()
        if row is not None:
            return _note(row)
        current = _changeable(conn, "notes", id, actor, MSG_NOT_FOUND)  # gone, or not theirs
        if version is not None and current.version != version:
            raise ConflictError(MSG_CONFLICT.format(id=id, version=current.version), current)
        return current  # the same text again: nothing to save, no new version

    @staticmethod
    def note_history(
        conn: Database,
        id: int,
        limit: int | None = None,
        before: int | None = None,
        after: int | None = None,
    ) -> list[NoteVersion]:
        """Return note id's earlier versions, newest first: all, or a page (after=0: the first)."""
        newer, bound = _bounds(before, after)
        rows = _read(
            conn,
            f"SELECT {_HISTORY_COLUMNS} FROM note_history WHERE id = :id"
            f" AND version {'>' if newer else '<'} :bound"
            f" ORDER BY version {'ASC' if newer else 'DESC'} LIMIT :limit",
            {"id": id, "bound": bound, "limit": MAX_NOTE_ID if limit is None else limit},
        )
        versions = [NoteVersion(**dict(row)) for row in rows]
        return versions[::-1] if newer else versions

    @staticmethod
    def restore_version(
        conn: Database,
        id: int,
        old_version: int,
        *,
        version: int | None = None,
        actor: Actor | None = VISITOR,
    ) -> Note:
        """Save an earlier version as a new edit; NoteNotFoundError if unknown; as update_note."""
        sql = "SELECT username, body FROM note_history WHERE id = ? AND version = ?"
        rows = _read(conn, sql, (id, old_version))
        if not rows:
            raise NoteNotFoundError(MSG_VERSION_NOT_FOUND.format(id=id, version=old_version))
        username, body = rows[0]["username"], rows[0]["body"]
        return NoteService.update_note(conn, id, username, body, version=version, actor=actor)

    @staticmethod
    def delete_note(
        conn: Database,
        id: int,
        *,
        version: int | None = None,
        now: int | None = None,
        actor: Actor | None = VISITOR,
    ) -> Note:
        """Move a note (at `version`, if given) to the trash; return it. Raises as update_note."""
        acting = _acting(actor)
        with _write(conn) as tx:
            row = _execute(
                tx,
                "DELETE FROM notes WHERE id = :id AND version = coalesce(:version, version)"
                f"{_MAY_CHANGE} RETURNING {_NOTE_COLUMNS}",
                {"id": id, "version": version, **acting},
            ).fetchone()
            if row is not None:
                _execute(
                    tx,
                    f"INSERT INTO trash ({_NOTE_COLUMNS}, deleted_timestamp)"
                    f" VALUES ({', '.join(':' + name for name in _NOTE_FIELDS)}, :deleted)",
                    {**dict(row), "deleted": now_timestamp() if now is None else now},
                )
        if row is None:
            current = _changeable(conn, "notes", id, actor, MSG_NOT_FOUND)  # gone, not theirs
            raise ConflictError(MSG_DELETE_CONFLICT.format(id=id), current)
        return _note(row)

    @staticmethod
    def list_trash(
        conn: Database,
        limit: int = FEED_PAGE_SIZE,
        before: int | None = None,
        after: int | None = None,
    ) -> list[TrashedNote]:
        """Return up to limit trashed notes, highest number first, as list_notes pages them."""
        return _page(conn, "trash", {}, limit, before, after)

    @staticmethod
    def restore_note(conn: Database, id: int, *, actor: Actor | None = VISITOR) -> Note:
        """Bring a trashed note back as it was; NoteNotFoundError or NotAllowedError if not."""
        acting = _acting(actor)
        with _write(conn) as tx:
            row = _execute(
                tx,
                f"DELETE FROM trash WHERE id = :id{_MAY_CHANGE} RETURNING {_NOTE_COLUMNS}",
                {"id": id, **acting},
            ).fetchone()
            if row is not None:
                _insert_notes(tx, [dict(row)])
        if row is None:
            _changeable(conn, "trash", id, actor, MSG_NOT_IN_TRASH)  # not there, or not theirs
            raise NoteNotFoundError(MSG_NOT_IN_TRASH.format(id=id))  # restored meanwhile
        return _note(row)

    @staticmethod
    def trash_ids(conn: Database, deleted_before: int | None = None) -> list[int]:
        """Return the trashed notes' numbers, lowest first (deleted before, if given): a purge's."""
        sql = "SELECT id FROM trash WHERE deleted_timestamp < ? ORDER BY id"
        before = MAX_NOTE_ID if deleted_before is None else deleted_before
        return [row["id"] for row in _read(conn, sql, (before,))]

    @staticmethod
    def purge_notes(conn: Database, ids: list[int], *, actor: Actor | None) -> int:
        """Purge these trashed notes and their history (admins only); return how many were there."""
        if actor is None or not actor.admin:
            raise NotAllowedError(MSG_ADMINS_ONLY)
        with _write(conn) as tx:
            chosen = "SELECT value FROM json_each(:ids)"
            if _dialect(tx) == "postgresql":
                chosen = "SELECT CAST(jsonb_array_elements_text(CAST(:ids AS jsonb)) AS bigint)"
            listed = {"ids": json.dumps(list(ids))}
            gone = _execute(tx, f"DELETE FROM trash WHERE id IN ({chosen}) RETURNING id", listed)
            purged = [row["id"] for row in gone.fetchall()]
            _execute(  # the history of the notes purged now, not of one restored meanwhile
                tx, f"DELETE FROM note_history WHERE id IN ({chosen})", {"ids": json.dumps(purged)}
            )
            return len(purged)

    @staticmethod
    def record_sign_out(conn: Database, actor: Actor, now: int | None = None) -> None:
        """Record that actor signed out now: their sign-ins from before count no more."""
        now = now_timestamp() if now is None else now
        with _write(conn) as tx:
            _execute(
                tx,
                "INSERT INTO sign_outs (issuer, subject, signed_out) VALUES (:iss, :sub, :now)"
                " ON CONFLICT (issuer, subject) DO UPDATE SET signed_out = excluded.signed_out",
                {"iss": actor.issuer or "", "sub": actor.subject, "now": now},
            )

    @staticmethod
    def signed_out_at(conn: Database, issuer: str, subject: str) -> int | None:
        """When the person (issuer, subject) last signed out, or None if never."""
        sql = "SELECT signed_out FROM sign_outs WHERE issuer = ? AND subject = ?"
        rows = _read(conn, sql, (issuer, subject))
        return rows[0]["signed_out"] if rows else None


# Store: upkeep (seed, backup, check, vacuum) ---------------------------------

MSG_SEARCH_INDEX_UNCHECKED = "search index: not checked, the file is read-only"
MSG_NUMBERS_RUNNING_OUT = (
    "note numbers: #{high:,} was given out, so only {left:,} new numbers are left; export the"
    " notes, remove the file's number column and import it into a new database"
)

_SEED_WORDS = (
    "coffee garden train morning idea meeting book walk rain code python sqlite streamlit "
    "lunch music river sunset bike recipe bread tea project deadline weekend friend city "
    "market photo movie hike snow beach paper plan draft bug fix release note list"
).split()
_SEED_TAGS = ["til", "python", "idea", "todo", "food", "travel", "music", "work", "weekend"]


def seed_notes(conn: Database, count: int, seed: int = 0) -> int:
    """Add count demo notes (300 authors, #tags, a year of timestamps) in one transaction."""
    import random  # only the seed command needs it

    if count < 0:
        raise ValueError("count must be 0 or more")
    rng = random.Random(seed)
    authors = [f"{rng.choice(_SEED_WORDS)}_{n}" for n in range(300)]
    start = now_timestamp() - 365 * 24 * 3600
    step = 365 * 24 * 3600 / max(count, 1)

    def rows() -> Iterator[dict]:
        for n in range(count):
            words = rng.choices(_SEED_WORDS, k=rng.randint(4, 14))
            if rng.random() < 0.3:
                words[0] = f"**{words[0]}**"
            if rng.random() < 0.4:
                words.append(f"#{rng.choice(_SEED_TAGS)}")
            stamp = int(start + n * step)
            yield {
                "created_timestamp": stamp,
                "updated_timestamp": stamp,
                "username": rng.choice(authors),
                "body": " ".join(words)[:CHAR_LIMIT].strip(),
            }

    batches = rows()
    with _write(conn) as tx, _bulk_load(tx) as added:
        while batch := list(itertools.islice(batches, BULK_BATCH)):
            added(_insert_notes(tx, batch))
    return count


@contextmanager
def _partial(target: Path) -> Iterator[str]:
    """Yield a new empty file beside target, removed at the end: written, then moved into place."""
    handle, partial = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".partial", dir=target.parent
    )
    os.close(handle)
    try:
        yield partial
    finally:
        with suppress(OSError):
            os.unlink(partial)


def backup_database(conn: sqlite3.Connection, target: str | os.PathLike) -> None:
    """Copy the database to a new file by SQLite's online backup; StorageError if that fails."""
    target = Path(target)
    if target.exists():
        raise StorageError(MSG_BACKUP_EXISTS.format(path=target))
    try:
        with _partial(target) as partial:
            with closing(sqlite3.connect(partial)) as copy:
                conn.backup(copy)
            os.link(partial, target)  # unlike a rename, never replaces a file made meanwhile
    except FileExistsError as error:
        raise StorageError(MSG_BACKUP_EXISTS.format(path=target)) from error
    except sqlite3.Error as error:
        raise StorageError(MSG_BACKUP_FAILED.format(path=target, error=error)) from error
    except OSError as error:
        raise StorageError(MSG_BACKUP_FAILED.format(path=target, error=error.strerror)) from error


MSG_COPY_TARGET_HAS_NOTES = (
    "{name} already holds notes ({totals}). Nothing was copied: copy into an empty "
    "database, or add --replace to delete what it holds first."
)
MSG_COPY_SAME = "The source and the target are the same database. Nothing was copied."


@contextmanager
def _snapshot(db: Database) -> Iterator[Database]:
    """Yield a connection that sees db as of one moment (a read transaction) until the end."""
    if isinstance(db, Postgres):
        with _lend(db) as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn
        return
    try:
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("ROLLBACK")
    except _SQLITE_FAULTS as error:
        raise _storage_error(error, _db_name(db)) from error


def _how_many(count: int, thing: str) -> str:
    """ "1 note", "2,000 notes"."""
    return f"{count:,} {thing}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Totals:
    """How much a database holds: what `stats`, `check` and `copy` report."""

    notes: int
    trash: int
    history: int

    def __str__(self) -> str:
        return (
            f"{_how_many(self.notes, 'note')}, {self.trash:,} in the trash, "
            f"{_how_many(self.history, 'earlier version')}"
        )


def _count_rows(tx: Database) -> Totals:
    """Count the rows of notes, trash and note_history on a connection."""
    return Totals(
        *(
            _execute(tx, f"SELECT count(*) AS n FROM {table}").fetchone()["n"]
            for table in ("notes", "trash", "note_history")
        )
    )


def database_totals(db: Database) -> Totals:
    """Count the notes, the trash and the kept versions, as of one moment."""
    with _snapshot(db) as tx:
        return _count_rows(tx)


_HIGH_WATER = {
    "sqlite": "SELECT seq AS high FROM sqlite_sequence WHERE name = 'notes'",
    "postgresql": "SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END AS high"
    " FROM notes_id_seq",
}
# The next number is at least high + 1, and above every note's. PostgreSQL's
# setval(seq, n, is_called): the next is n + 1, or 1 when nothing was given out.
_SET_HIGH_WATER = {
    "sqlite": [
        "DELETE FROM sqlite_sequence WHERE name = 'notes'",
        "INSERT INTO sqlite_sequence (name, seq)"
        " VALUES ('notes', max(:high, coalesce((SELECT max(id) FROM notes), 0)))",
    ],
    "postgresql": [
        "SELECT setval('notes_id_seq', greatest(:high, (SELECT max(id) FROM notes), 1),"
        " greatest(:high, (SELECT max(id) FROM notes)) > 0)"
    ],
}


def _high_water(tx: Database) -> int:
    """The highest note number ever given out (never reused, even once purged)."""
    row = _execute(tx, _HIGH_WATER[_dialect(tx)]).fetchone()
    return row["high"] if row else 0


def _set_high_water(tx: Database, high: int) -> None:
    """Make the next new note's number high + 1 at least."""
    for sql in _SET_HIGH_WATER[_dialect(tx)]:
        _execute(tx, sql, {"high": high})


def _is_new_feed(tx: Database, held: Totals) -> bool:
    """True if the database (holding `held`) holds nothing but its untouched welcome note."""
    if held not in (Totals(0, 0, 0), Totals(1, 0, 0)):
        return False
    rows = _execute(tx, "SELECT id, version, username, body FROM notes").fetchall()
    welcome = {"id": 1, "version": 1, "username": WELCOME_USERNAME}
    return all(
        all(row[name] == value for name, value in welcome.items())
        and row["body"] in (WELCOME_BODY, _EARLIER_WELCOME)
        for row in rows
    )


def _batches(tx: Database, table: str, columns: str, key: tuple[str, ...]) -> Iterator[list[dict]]:
    """Yield every row of table, BULK_BATCH at a time, in key order (keyset: flat memory)."""
    marks = ", ".join(f":{name}" for name in key)
    query = (
        f"SELECT {columns} FROM {table} WHERE ({', '.join(key)}) > ({marks})"
        f" ORDER BY {', '.join(key)} LIMIT {BULK_BATCH}"
    )
    last = dict.fromkeys(key, -1)
    while rows := _execute(tx, query, last).fetchall():
        batch = [dict(row) for row in rows]
        yield batch
        last = {name: batch[-1][name] for name in key}


def copy_database(
    source: Database,
    target: Database,
    *,
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> Totals:
    """Copy the notes, history and trash as they are, in one transaction; return what was copied.
    Unless replace (empty target first), StorageError if target holds more than its welcome note."""
    if source is target:
        raise StorageError(MSG_COPY_SAME)
    done = 0
    with _snapshot(source) as src, _write(target) as tx, _bulk_load(tx) as added:
        totals = _count_rows(src)
        total = totals.notes + totals.trash + totals.history
        held = None if replace else _count_rows(tx)  # counted once: checked, then reported
        if held is not None and not _is_new_feed(tx, held):
            raise StorageError(MSG_COPY_TARGET_HAS_NOTES.format(name=_db_name(target), totals=held))
        for table in ("note_history", "trash", "notes", "note_counts", "note_hours", "tag_counts"):
            _execute(tx, f"DELETE FROM {table}")
        for table, columns, key in (
            ("notes", _NOTE_COLUMNS, ("id",)),
            ("trash", f"{_NOTE_COLUMNS}, deleted_timestamp", ("id",)),
            ("note_history", _HISTORY_COLUMNS, ("id", "version")),
        ):
            values = re.sub(r"\w+", r":\g<0>", columns)
            insert = f"INSERT INTO {table} ({columns}) VALUES ({values})"
            for batch in _batches(src, table, columns, key):
                if table == "notes":  # the one INSERT of notes, which keeps their counts
                    added(_insert_notes(tx, batch))
                else:
                    pg = _dialect(tx) == "postgresql"
                    tx.cursor().executemany(_pg_sql(insert) if pg else insert, batch)
                done += len(batch)
                progress and progress(done, total)
        _set_high_water(tx, _high_water(src))
    return totals


@dataclass(frozen=True)
class CheckReport:
    """What `check` found: problems (empty if none), and parts it could not check."""

    problems: list[str]
    unchecked: list[str]


def _search_index_problems(path: str) -> list[str] | None:
    """Return what FTS5's own check finds in the search index, or None on a read-only file."""
    # The check is an INSERT: it runs on a second, writable handle, and is rolled back.
    try:
        with closing(sqlite3.connect(f"{Path(path).as_uri()}?mode=rw", uri=True)) as conn:
            conn.execute("BEGIN")
            try:
                conn.execute(
                    "INSERT INTO notes_fts (notes_fts, rank) VALUES ('integrity-check', 1)"
                )
            finally:
                conn.execute("ROLLBACK")
    except _SQLITE_FAULTS as error:
        if "readonly" in str(error).lower():
            return None
        return [f"search index: {error}"]
    return []


# Text that is not UTF-8: damage SQLite's integrity check lets through (it checks structure).
# not_utf8() is given the raw bytes: a TEXT argument would fail to decode before it ran.
_NOT_UTF8_SQL = """
SELECT 'note #' || id AS at FROM notes
    WHERE not_utf8(CAST(username AS BLOB)) OR not_utf8(CAST(body AS BLOB))
UNION ALL SELECT 'note #' || id || ' in the trash' FROM trash
    WHERE not_utf8(CAST(username AS BLOB)) OR not_utf8(CAST(body AS BLOB))
UNION ALL SELECT 'version ' || version || ' of note #' || id FROM note_history
    WHERE not_utf8(CAST(username AS BLOB)) OR not_utf8(CAST(body AS BLOB))
LIMIT 100
"""


def _not_utf8(text: bytes | None) -> bool:
    """True if text (a TEXT value's bytes) is not UTF-8."""
    return (text or b"").decode(errors="ignore").encode() != (text or b"")


# Each maintained count against the notes: per author ('' for all), per hour of
# creation, and per tag (the tags SQLite's note_tags holds, or PostgreSQL's tags column).
_COUNT_PROBLEMS_SQL = """
SELECT {label} AS name, c.notes AS kept, n.notes AS actual
FROM (SELECT {key}, CAST(sum(notes) AS bigint) AS notes FROM {table}
      GROUP BY {key} HAVING sum(notes) <> 0) c
FULL JOIN ({actual}) n ON c.{key} = n.{key}
WHERE coalesce(c.notes, 0) <> coalesce(n.notes, 0)
ORDER BY 1
"""
_COUNT_PROBLEMS = _COUNT_PROBLEMS_SQL.format(
    label="coalesce(c.username, n.username)",
    key="username",
    table="note_counts",
    actual="SELECT username, count(*) AS notes FROM notes GROUP BY username"
    " UNION ALL SELECT '', count(*) FROM notes",
)
_HOUR_PROBLEMS = _COUNT_PROBLEMS_SQL.format(
    label="'hour ' || CAST(coalesce(c.hour, n.hour) AS text)",
    key="hour",
    table="note_hours",
    actual="SELECT created_timestamp / 3600 AS hour, count(*) AS notes FROM notes GROUP BY 1",
)
_TAG_PROBLEMS = {
    dialect: _COUNT_PROBLEMS_SQL.format(
        label="'#' || coalesce(c.tag, n.tag)", key="tag", table="tag_counts", actual=actual
    )
    for dialect, actual in (
        ("sqlite", "SELECT tag, count(*) AS notes FROM note_tags GROUP BY tag"),
        (
            "postgresql",
            "SELECT tag, count(*) AS notes FROM"
            " (SELECT DISTINCT id, tag FROM notes, unnest(notes.tags) AS tag) AS t GROUP BY tag",
        ),
    )
}


def check_database(conn: Database) -> CheckReport:
    """Check the file (SQLite), the search index and the counts; StorageError if unreadable."""
    problems = [
        f"count for {row['name']!r}: stored {row['kept'] or 0}, actual {row['actual'] or 0}"
        for query in (_COUNT_PROBLEMS, _HOUR_PROBLEMS, _TAG_PROBLEMS[_dialect(conn)])
        for row in _read(conn, query)
    ]
    with _snapshot(conn) as tx:
        high = _high_water(tx)
    if MAX_NOTE_ID - high < NUMBERS_LEFT_WARNING:
        problems.append(MSG_NUMBERS_RUNNING_OUT.format(high=high, left=MAX_NOTE_ID - high))
    if isinstance(conn, Postgres):  # the server checks its own pages; search is a column
        return CheckReport(problems, [])
    integrity = _read(conn, "PRAGMA integrity_check")
    problems = [row[0] for row in integrity if row[0] != "ok"] + problems
    conn.create_function("not_utf8", 1, _not_utf8, deterministic=True)
    problems += [f"text that is not UTF-8 in {row['at']}" for row in _read(conn, _NOT_UTF8_SQL)]
    search = _search_index_problems(_db_name(conn))
    if search is None:
        return CheckReport(problems, [MSG_SEARCH_INDEX_UNCHECKED])
    return CheckReport(problems + search, [])


def vacuum_database(conn: Database) -> None:
    """Optimise the search index and compact the file, or VACUUM ANALYZE PostgreSQL's tables."""
    if isinstance(conn, Postgres):
        for table in ("notes", "note_history", "trash", "note_counts"):
            with _lend(conn) as lent:  # VACUUM runs outside a transaction: autocommit
                lent.execute(f"VACUUM (ANALYZE) {table}")
        return
    with _write(conn) as tx:
        tx.execute("INSERT INTO notes_fts (notes_fts) VALUES ('optimize')")
    try:
        conn.execute("VACUUM")  # cannot run inside a transaction
    except _SQLITE_FAULTS as error:
        raise _storage_error(error, _db_name(conn)) from error


# Store: notes as files (export and import) -----------------------------------
#
# A file holds one row per note, in EXPORT_COLUMNS (times ISO 8601, UTC). Tags come from the
# body, so an import ignores them; history, the trash and who signed in are not in a file.

EXPORT_FORMATS = {"csv": "text/csv", "json": "application/json", "md": "text/markdown"}
# A CSV starts with a byte-order mark: it tells a spreadsheet the file is UTF-8.
EXPORT_ENCODINGS = {"csv": "utf-8-sig", "json": "utf-8", "md": "utf-8"}
EXPORT_COLUMNS = ["number", "author", "created", "updated", "version", "tags", "body"]
EXPORT_BATCH = 1000  # notes read, formatted and written at a time (memory stays flat)
IMPORT_BATCH = 1000  # notes per INSERT (and per progress step) of an import
IMPORT_MAX_ROWS = 1_000_000  # rows one file may hold (the command line)
IMPORT_PAGE_MAX_ROWS = 100_000  # rows one upload may hold: 3 s and 50 MB to check, at most
IMPORT_FUTURE_S = 300  # a created time this far ahead of the clock is a clock's skew, not bad
_IMPORT_REQUIRED = ("author", "body", "created")
# A CSV cell a spreadsheet would run as a formula (OWASP's list), and its escape: export
# writes '=1 for =1 and ''x for 'x (so the escape round-trips); import takes one off.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_CSV_ESCAPE = "'"

MSG_FILE_EMPTY = "The file is empty. Export notes first, or pick another file."
MSG_FILE_NOT_TEXT = (
    "The file is not a CSV or JSON text file (it holds binary data). Export notes as "
    "CSV or JSON and import that file."
)
MSG_FILE_ENCODING = (
    "The file is not UTF-8 text (byte 0x{byte:02x} at position {position:,}). Save it as "
    "UTF-8 (in a spreadsheet: CSV UTF-8) and import it again."
)
MSG_FILE_KIND = "'{name}' is not a .csv or .json file. Import a file exported as CSV or JSON."
MSG_FILE_CSV = "The file is not valid CSV: {error}. Nothing was imported."
MSG_FILE_JSON = "The file is not valid JSON: {error} (line {line}). Nothing was imported."
MSG_FILE_JSON_SHAPE = (
    'The JSON file must be a list of notes, like an export: [{"author": ..., '
    '"body": ..., "created": ...}, ...].'
)
MSG_FILE_COLUMNS_MISSING = (
    "The file has no {missing} column. An export's columns are: {columns}; "
    "author, body and created are required."
)
MSG_FILE_COLUMNS_UNKNOWN = (
    "The file has columns this app does not know: {unknown}. An export's columns are: {columns}."
)
MSG_FILE_COLUMNS_TWICE = "The file has the column {column} twice."
MSG_FILE_TOO_MANY_ROWS = "The file has more than {limit:,} notes. Split it and import each part."
MSG_IMPORT_NOT_ALLOWED = (
    "Only an admin, signed in, can import notes: a file's notes carry other people's names."
    " The operator can import from the command line: python app.py import FILE."
)
MSG_ROW_FORMULA = (
    "{column} starts with {char}, which a spreadsheet runs as a formula. If it is really "
    "the text, write it with an apostrophe first ('{char}...), as an export does."
)
MSG_ROW_FIELDS = "the row has {count} fields; the header has {expected}"
MSG_ROW_NOT_OBJECT = "the note is not an object with author, body and created"
MSG_ROW_TIME = "{column} '{value}' is not a time like 2026-11-26T07:15:13Z"
MSG_ROW_TIME_RANGE = "{column} {value} is before 1970 or too far in the future"
MSG_ROW_UPDATED_EARLY = "updated {updated} is before created {created}"
MSG_ROW_WHOLE_NUMBER = "{column} '{value}' is not a whole number from 1 to {limit:,}"
_DIGITS = re.compile(r"[0-9]{1,19}")  # ASCII ("²".isdigit() is True), short enough for int()


class InvalidFileError(NotesError, ValueError):
    """A file to import cannot be read as notes at all (not its rows: the whole of it)."""


@dataclass(frozen=True)
class ImportRow:
    """One note read from a file and checked by the form's rules; line: its CSV line or note."""

    line: str
    username: str
    body: str
    created_timestamp: int
    updated_timestamp: int
    version: int
    number: int | None


@dataclass(frozen=True)
class Rejected:
    """A row of a file that cannot be imported, and why."""

    line: str
    reason: str


@dataclass(frozen=True)
class NotesFile:
    """A file read for import: its good rows and its rejected ones, in file order."""

    format: str
    rows: list[ImportRow]
    rejected: list[Rejected]


@dataclass(frozen=True)
class ImportPlan:
    """What an import would do: the rows it would add, those already present, those rejected."""

    new: list[ImportRow]
    present: list[ImportRow]
    rejected: list[Rejected]


def _iso_times(timestamps: list[int]) -> list[str]:
    """Unix times as ISO 8601 in UTC (2026-11-26T07:15:13Z), by numpy: 20 times datetime's pace."""
    moments = np.array(timestamps, dtype="datetime64[s]")
    return [f"{moment}Z" for moment in np.datetime_as_string(moments, unit="s")]


def iso_time(timestamp: int) -> str:
    """One Unix time as _iso_times writes it."""
    return _iso_times([timestamp])[0]


def _spreadsheet_safe(text: str) -> str:
    """The text as a CSV cell a spreadsheet shows as text: a formula (or an escape) escaped."""
    return _CSV_ESCAPE + text if text.startswith((*_FORMULA_STARTS, _CSV_ESCAPE)) else text


def _export_frame(notes: list[Note], fmt: str) -> pd.DataFrame:
    """One batch of notes in the file's columns (CSV: tags as "#a #b", text spreadsheet-safe)."""
    tags = [extract_tags(note.body) for note in notes]
    safe = _spreadsheet_safe if fmt == "csv" else str
    return pd.DataFrame(
        {
            "number": [note.id for note in notes],
            "author": [safe(note.username) for note in notes],
            "created": _iso_times([note.created_timestamp for note in notes]),
            "updated": _iso_times([note.updated_timestamp for note in notes]),
            "version": [note.version for note in notes],
            "tags": tags if fmt == "json" else [" ".join(f"#{t}" for t in ts) for ts in tags],
            "body": [safe(note.body) for note in notes],
        }
    )


def _markdown_export(notes: list[Note]) -> str:
    """Notes as markdown to read: a heading per note, its body quoted (its headings stay inside)."""
    parts = []
    created = _iso_times([note.created_timestamp for note in notes])
    updated = _iso_times([note.updated_timestamp for note in notes])
    for note, made, changed in zip(notes, created, updated, strict=True):
        author = _escape_markdown(note.username)
        edited = f", edited {changed}" if note.edited else ""
        quoted = "\n".join(f"> {line}".rstrip() for line in note.body.split("\n"))
        parts.append(f"## Note {note.id}\n\n{author} · {made}{edited}\n\n{quoted}\n\n")
    return "".join(parts)


def _view_name(search: str = "", author: str | None = None, tag: str | None = None) -> str:
    """What a view of the feed shows: " by ann tagged #x matching “word”" ("" for all)."""
    what = f" by {author}" if author else ""
    what += f" tagged #{tag}" if tag else ""
    return what + (f" matching “{search}”" if search else "")


def export_parts(
    db: Database,
    fmt: str = "csv",
    *,
    search: str = "",
    author: str | None = None,
    tag: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Iterator[str]:
    """Yield the file of the notes the feed shows for these filters (csv, json or md), newest
    first, as of one moment, EXPORT_BATCH at a time; return how many. progress(done, total)
    after each batch (total None for a search or tag). Raises ValueError for another format."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}: use csv, json or md.")
    filters = {"search": search, "author": author, "tag": tag}
    done = 0
    with _snapshot(db) as tx:
        total = None if search or tag else NoteService.count_notes(tx, author)
        if fmt == "json":
            yield "["
        elif fmt == "csv":
            yield ",".join(EXPORT_COLUMNS) + "\n"
        else:
            yield f"# Littlest Notes{_escape_markdown(_view_name(**filters))}\n\n"
        before = None
        while notes := NoteService.list_notes(tx, EXPORT_BATCH, before, **filters):
            if fmt == "md":
                yield _markdown_export(notes)
            elif fmt == "csv":
                frame = _export_frame(notes, fmt)
                yield frame.to_csv(index=False, header=False, lineterminator="\n")
            else:
                records = _export_frame(notes, fmt).to_json(orient="records", force_ascii=False)
                yield ("," if done else "") + "\n" + records[1:-1]
            done += len(notes)
            before = notes[-1].id
            progress and progress(done, total)
        if fmt == "json":
            yield "\n]\n"
    return done


def export_notes(db: Database, out: TextIO, fmt: str = "csv", **filters: object) -> int:
    """Write export_parts(db, fmt, **filters) to out; return how many notes it holds."""
    parts = export_parts(db, fmt, **filters)
    while True:
        try:
            out.write(next(parts))
        except StopIteration as end:
            return end.value


def _whole_number(value: object, column: str, limit: int) -> int | None:
    """A file's number or version: an int, or a string of digits; None when blank."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= limit:
        return value
    shown = str(value)[:40] + ("…" if len(str(value)) > 40 else "")
    raise InvalidNoteError(MSG_ROW_WHOLE_NUMBER.format(column=column, value=shown, limit=limit))


def _file_time(value: object, column: str, now: int) -> int:
    """A file's created or updated time (ISO 8601; without a zone, UTC) as a Unix time."""
    try:
        moment = datetime.fromisoformat(value.strip())  # type: ignore[union-attr]
    except (AttributeError, TypeError, ValueError):
        raise InvalidNoteError(MSG_ROW_TIME.format(column=column, value=str(value)[:40])) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
    stamp = int(moment.timestamp())
    if not 0 <= stamp <= now + IMPORT_FUTURE_S:
        raise InvalidNoteError(MSG_ROW_TIME_RANGE.format(column=column, value=value.strip()))
    return stamp


def _import_row(line: str, cells: object, now: int) -> ImportRow | Rejected:
    """Check one row of a file by the form's rules; return it as a note, or why not."""
    if not isinstance(cells, dict):
        return Rejected(line, MSG_ROW_NOT_OBJECT)
    try:
        username, body = validate_note(cells.get("author"), cells.get("body"))
        created = _file_time(cells.get("created"), "created", now)
        updated = cells.get("updated")
        updated = created if updated in (None, "") else _file_time(updated, "updated", now)
        if updated < created:
            raise InvalidNoteError(
                MSG_ROW_UPDATED_EARLY.format(updated=iso_time(updated), created=iso_time(created))
            )
        version = _whole_number(cells.get("version"), "version", MAX_VERSION) or 1
        number = _whole_number(cells.get("number"), "number", MAX_KEPT_NUMBER)
    except InvalidNoteError as error:
        return Rejected(line, str(error))
    return ImportRow(line, username, body, created, updated, version, number)


def _check_columns(columns: list[str]) -> None:
    """Raise InvalidFileError unless columns are an export's, each once, with those required."""
    if twice := [column for column in columns if columns.count(column) > 1]:
        raise InvalidFileError(MSG_FILE_COLUMNS_TWICE.format(column=twice[0]))
    known = ", ".join(EXPORT_COLUMNS)
    if unknown := [column for column in columns if column not in EXPORT_COLUMNS]:
        shown = ", ".join(repr(column[:40]) for column in unknown[:5])
        raise InvalidFileError(MSG_FILE_COLUMNS_UNKNOWN.format(unknown=shown, columns=known))
    if missing := [column for column in _IMPORT_REQUIRED if column not in columns]:
        raise InvalidFileError(
            MSG_FILE_COLUMNS_MISSING.format(missing=" or ".join(missing), columns=known)
        )


def _csv_cells(header: list[str], record: list[str]) -> dict[str, str]:
    """A CSV record's cells by column, unescaped; a cell a spreadsheet would run is refused."""
    if len(record) != len(header):
        raise InvalidNoteError(MSG_ROW_FIELDS.format(count=len(record), expected=len(header)))
    cells = dict(zip(header, record, strict=True))
    for column in ("author", "body", "tags"):
        text = cells.get(column, "")
        if text.startswith(_CSV_ESCAPE):
            cells[column] = text[1:]
        elif text.startswith(_FORMULA_STARTS):
            raise InvalidNoteError(MSG_ROW_FORMULA.format(column=column.capitalize(), char=text[0]))
    return cells


def _read_csv(text: str, now: int, max_rows: int) -> list[ImportRow | Rejected]:
    """Read an export's CSV; rows are named by the line they start on."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    results: list[ImportRow | Rejected] = []
    try:
        header = [column.strip().lower() for column in next(reader, [])]
        _check_columns(header)
        start = reader.line_num + 1
        for record in reader:
            line = f"line {start:,}"
            start = reader.line_num + 1
            if not any(record):
                continue  # a blank line
            if len(results) >= max_rows:
                raise InvalidFileError(MSG_FILE_TOO_MANY_ROWS.format(limit=max_rows))
            try:
                results.append(_import_row(line, _csv_cells(header, record), now))
            except InvalidNoteError as error:
                results.append(Rejected(line, str(error)))
    except csv.Error as error:
        where = f"{error} (line {reader.line_num:,})"
        raise InvalidFileError(MSG_FILE_CSV.format(error=where)) from None
    return results


def _read_json(text: str, now: int, max_rows: int) -> list[ImportRow | Rejected]:
    """Read an export's JSON (a list of notes); rows are named by their position."""
    try:
        # an integer too long for int() (4,301 digits raise) stays text, for _whole_number
        notes = json.loads(
            text, parse_int=lambda digits: int(digits) if len(digits) <= 20 else digits
        )
    except json.JSONDecodeError as error:
        raise InvalidFileError(MSG_FILE_JSON.format(error=error.msg, line=error.lineno)) from None
    except RecursionError:  # "[[[[..." deeper than Python's stack
        raise InvalidFileError(MSG_FILE_JSON.format(error="nested too deeply", line=1)) from None
    if not isinstance(notes, list):
        raise InvalidFileError(MSG_FILE_JSON_SHAPE)
    if len(notes) > max_rows:
        raise InvalidFileError(MSG_FILE_TOO_MANY_ROWS.format(limit=max_rows))
    objects = [note for note in notes if isinstance(note, dict)]
    _check_columns(sorted({*_IMPORT_REQUIRED, *(key for note in objects for key in note)}))
    return [_import_row(f"note {n:,}", note, now) for n, note in enumerate(notes, start=1)]


def read_notes_file(
    data: bytes, name: str, now: int | None = None, *, max_rows: int | None = None
) -> NotesFile:
    """Read a CSV or JSON file of notes (by its name's suffix), every row checked as the form does;
    InvalidFileError if the file as a whole is not an export of at most max_rows notes."""
    max_rows = IMPORT_MAX_ROWS if max_rows is None else max_rows
    now = now_timestamp() if now is None else now
    kind = Path(name).suffix.lower().lstrip(".")
    if kind not in ("csv", "json"):
        raise InvalidFileError(MSG_FILE_KIND.format(name=Path(name).name[:80]))
    if not data.strip():
        raise InvalidFileError(MSG_FILE_EMPTY)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16, as some spreadsheets save
        raise InvalidFileError(MSG_FILE_ENCODING.format(byte=data[0], position=0))
    if b"\x00" in data:
        raise InvalidFileError(MSG_FILE_NOT_TEXT)
    try:
        text = data.decode("utf-8-sig")  # a spreadsheet's CSV UTF-8 starts with a BOM
    except UnicodeDecodeError as error:
        raise InvalidFileError(
            MSG_FILE_ENCODING.format(byte=data[error.start], position=error.start)
        ) from None
    results = (_read_csv if kind == "csv" else _read_json)(text, now, max_rows)
    rows = [row for row in results if isinstance(row, ImportRow)]
    return NotesFile(kind, rows, [row for row in results if isinstance(row, Rejected)])


# The notes a database holds of a file's authors at the file's created times, in one statement.
# SQLite reads a few authors' notes through the author index, but most of a feed faster by
# walking the table ("+" keeps it off the index); PostgreSQL's planner weighs that itself.
_PRESENT_SQL = {
    "sqlite": "SELECT username, body, created_timestamp FROM notes"
    " WHERE {author} IN (SELECT value FROM json_each(:authors))"
    " AND created_timestamp IN (SELECT value FROM json_each(:stamps))",
    "postgresql": "SELECT username, body, created_timestamp FROM notes"
    " WHERE username IN (SELECT jsonb_array_elements_text(CAST(:authors AS jsonb)))"
    " AND created_timestamp IN"
    " (SELECT CAST(jsonb_array_elements_text(CAST(:stamps AS jsonb)) AS bigint))",
}
PRESENT_BY_INDEX_SHARE = 0.2  # SQLite: the author index, if the authors wrote less of the feed


def _sort_out(tx: Database, rows: list[ImportRow]) -> tuple[list[ImportRow], list[ImportRow]]:
    """Split rows into (new, present): present if the database or an earlier row has the note."""
    params = {
        "authors": json.dumps(sorted({row.username for row in rows}), ensure_ascii=False),
        "stamps": json.dumps(sorted({row.created_timestamp for row in rows})),
    }
    sql = _PRESENT_SQL[_dialect(tx)]
    if _dialect(tx) == "sqlite":
        theirs, total = _execute(
            tx,
            "SELECT (SELECT coalesce(sum(notes), 0) FROM note_counts WHERE username IN"
            " (SELECT value FROM json_each(:authors)) AND username <> '') AS theirs,"
            " (SELECT coalesce(sum(notes), 0) FROM note_counts WHERE username = '') AS total",
            {"authors": params["authors"]},
        ).fetchone()
        by_index = theirs <= PRESENT_BY_INDEX_SHARE * total
        sql = sql.format(author="username" if by_index else "+username")
    found = _execute(tx, sql, params).fetchall()
    seen = {(row["username"], row["body"], row["created_timestamp"]) for row in found}
    new, present = [], []
    for row in rows:
        key = (row.username, row.body, row.created_timestamp)  # the import's rule: the same note
        (present if key in seen else new).append(row)
        seen.add(key)
    return new, present


def plan_import(db: Database, notes: NotesFile) -> ImportPlan:
    """What importing notes would do now: which rows are new, already present, rejected."""
    with _snapshot(db) as tx:
        new, present = _sort_out(tx, notes.rows)
    return ImportPlan(new, present, notes.rejected)


def import_notes(
    db: Database,
    notes: NotesFile,
    *,
    actor: Actor | None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportPlan:
    """Add a file's new notes in one transaction (all or nothing); return what was done. They
    keep their numbers if all are above every number given out, or the database holds nothing
    but its untouched welcome note (which goes). NotAllowedError unless actor is an admin."""
    if actor is None or not actor.admin:
        raise NotAllowedError(MSG_IMPORT_NOT_ALLOWED)
    with _write(db) as tx:
        if _dialect(tx) == "postgresql":  # one import at a time, as SQLite's one writer
            _execute(tx, "SELECT pg_advisory_xact_lock(hashtextextended('notes import', 0))")
        new, present = _sort_out(tx, notes.rows)  # again: a file imported twice at once adds once
        numbers = {row.number for row in new}
        unique = None not in numbers and len(numbers) == len(new)
        if new and unique and _is_new_feed(tx, _count_rows(tx)):  # the welcome note gives way
            _execute(tx, "DELETE FROM notes")
            _set_high_water(tx, 0)
        keep = bool(new) and unique and min(numbers) > _high_water(tx)  # type: ignore[type-var]
        # oldest first (a stable sort: file order among notes of the same second)
        rows = sorted(new, key=(lambda r: r.number) if keep else (lambda r: r.created_timestamp))
        for start in range(0, len(rows), IMPORT_BATCH):
            batch = rows[start : start + IMPORT_BATCH]
            _insert_notes(tx, [{**vars(row), "id": row.number if keep else None} for row in batch])
            progress and progress(min(start + IMPORT_BATCH, len(rows)), len(rows))
        if keep:
            _set_high_water(tx, _high_water(tx))
    return ImportPlan(new, present, notes.rejected)


###############################################################################
# Views ########################################################################
###############################################################################

# Views: shared parts ---------------------------------------------------------

MSG_NO_NOTES = "No notes yet. Write the first one."
MSG_CREATED = "Note #{id} saved."
MSG_UPDATED = "Note #{id} updated."
MSG_DELETED = "Note #{id} deleted. It is in the Trash until purged."
MSG_RESTORED = "Note #{id} restored."
MSG_VERSION_RESTORED = "Note #{id} is back to version {old} (saved as version {new})."
MSG_TRASH_KEPT = (
    "Deleted notes stay here, with their history, until the site's operator purges them:"
    " no one can destroy a note from this page. Anyone can restore one."
)
MSG_TRASH_KEPT_SIGNED_IN = (
    "Deleted notes stay here, with their history, until an admin deletes them for good."
    " A note's author or an admin can restore it."
)
MSG_TRASH_EMPTY = "The trash is empty."
MSG_FEED_PAGE_EMPTY = "No notes on this page any more. Go back to the newest notes."
MSG_NO_MATCHES = "No notes match. Try fewer or shorter words."
MSG_NO_PICKS = "No notes match that search."
MSG_EDIT_GONE = (
    "Note #{id} was deleted by someone else before you saved, so nothing was saved. "
    "Your text is below: copy it, or save it as a new note."
)


def _secrets() -> Mapping[str, object]:
    """Return the secrets the app reads, or {} when the app has no secrets file."""
    try:
        url = st.secrets.get("connections", {}).get("notes", {}).get("url")
        return {"database_url": url, **{name: st.secrets.get(name) for name in _SETTINGS}}
    except FileNotFoundError:  # StreamlitSecretNotFoundError when there is no secrets.toml
        return {}


# The secrets _secrets reads as named (edits_per_note_per_minute: edits_per_minute's old name).
_SETTINGS = """notes_db auth admins admin_subjects client_ip_header notes_per_minute
    deletes_per_minute edits_per_minute edits_per_note_per_minute frame_ancestors""".split()


@st.cache_resource(show_spinner=False)
def _connections(path: str) -> threading.local:
    """Hold one sqlite3 connection per thread (a session's thread): reads stay concurrent."""
    return threading.local()


@st.cache_resource(show_spinner=False, on_release=lambda db: db.close())
def _postgres(url: str) -> Postgres:
    """Hold the process's one PostgreSQL pool (a failure is not cached: the app recovers)."""
    return open_postgres(url)


def _database() -> Database | Path:
    """The configured database: the process's PostgreSQL pool, or the SQLite file's path."""
    target = resolve_database(os.environ, _secrets())
    return _postgres(str(target)) if is_database_url(target) else Path(target)


def get_connection() -> Database:
    """Return the configured database: the PostgreSQL pool, or this thread's SQLite connection."""
    source = _database()
    if isinstance(source, Postgres):
        return source
    local = _connections(str(source))
    if getattr(local, "conn", None) is None:
        local.conn = connect(source)
    return local.conn


class Kind(enum.StrEnum):
    """How a store call turned out (a StrEnum, so an Outcome survives a module reload)."""

    SAVED = "saved"  # written; the note (if any) is shown
    DELETED = "deleted"  # moved to the trash; Undo is offered
    CONFLICT = "conflict"  # someone else changed the note first; both texts are shown
    GONE = "gone"  # the note no longer exists; the person's text (if any) is kept
    FAILED = "failed"  # refused or a database fault; the message says why
    NOTHING = "nothing"  # nothing to do (an import of notes all here already); says so


@dataclass(frozen=True)
class Outcome:
    """What a callback did, left in session state for its page's next run to show once."""

    kind: Kind
    message: str
    note: Note | None = None  # saved, deleted, or (after a conflict) the stored note
    draft: tuple[str, str] | None = None  # the person's (username, body), to keep on screen


def _attempt(action: Callable[[], Note], success: Callable[[Note], Outcome]) -> Outcome:
    """Run one store call for a person and return its Outcome (the views' one try/except)."""
    try:
        note = action()
    except ConflictError as error:
        return Outcome(Kind.CONFLICT, str(error), error.current)
    except NoteNotFoundError as error:
        return Outcome(Kind.GONE, str(error))
    except NotesError as error:
        return Outcome(Kind.FAILED, str(error))
    return success(note)


@dataclass(frozen=True)
class _Recent:
    """Each browser session's last done Outcome per page, and locks to act on it alone."""

    outcomes: dict[tuple[str, str], tuple[Outcome, float]]  # (token, page) -> (it, monotonic)
    locks: tuple[threading.RLock, ...]  # a session's lock: locks[hash(token) % len(locks)]
    events: dict[tuple[str, str], deque]  # (who, kind) -> monotonic times, a minute
    events_lock: threading.Lock


@st.cache_resource(show_spinner=False)
def _recent() -> _Recent:
    """Hold what each session did last, behind locks: a double click's callbacks can race."""
    return _Recent({}, tuple(threading.RLock() for _ in range(64)), {}, threading.Lock())


def _session_token() -> str:
    """Return this browser session's random token (made on its first page run)."""
    return st.session_state.setdefault("session_token", uuid.uuid4().hex)


def _once(page: str, is_repeat: Callable[[Outcome], bool], act: Callable[[], Outcome]) -> Outcome:
    """Return act()'s Outcome, or this session's last one on page if act() would repeat it."""
    recent, token = _recent(), _session_token()
    key = (token, page)
    with recent.locks[hash(token) % len(recent.locks)]:
        last = recent.outcomes.get(key)
        fresh = last is not None and time.monotonic() - last[1] < DOUBLE_SUBMIT_S
        if fresh and is_repeat(last[0]):
            return last[0]
        outcome = act()
        if outcome.kind in (Kind.SAVED, Kind.DELETED):
            now = time.monotonic()
            for other, (_, when) in list(recent.outcomes.items()):  # forget the old ones
                if now - when >= DOUBLE_SUBMIT_S:
                    recent.outcomes.pop(other, None)
            recent.outcomes[key] = (outcome, now)
    return outcome


def _client_address(headers: Mapping[str, str], ip: str | None) -> str | None:
    """The browser's address: `client_ip_header`'s last entry (the operator's proxy's), else
    the connection's, an IPv6 /64 as one; None on the server's own machine."""
    header = _secrets().get("client_ip_header")
    value = None
    if isinstance(header, str) and header.strip():
        value = (headers.get(header.strip()) or "").split(",")[-1].strip()
    if (value := value or ip) is None:
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value[:100]  # not an address: still one client's label
    # A dual-stack server sees an IPv4 client as ::ffff:a.b.c.d (as one /64, every one of them).
    if (address := getattr(address, "ipv4_mapped", None) or address).is_loopback:
        return None
    return str(
        ipaddress.ip_network(f"{address}/64", strict=False) if address.version == 6 else address
    )


def _take_turn(kind: str, counted: list[str], limit: int) -> tuple[float, list[deque]] | None:
    """Count one `kind` now for each of counted (who): (when, their counts), or None if one
    of them did limit this minute."""
    recent, now = _recent(), time.monotonic()
    with recent.events_lock:
        if len(recent.events) > 10_000:  # forget whoever was idle for a minute
            for key, times in list(recent.events.items()):
                if not times or now - times[-1] >= 60:
                    recent.events.pop(key, None)
        counts = [recent.events.setdefault((who, kind), deque()) for who in counted]
        for done in counts:
            while done and now - done[0] >= 60:
                done.popleft()
        if any(len(done) >= limit for done in counts):
            return None
        for done in counts:
            done.append(now)
    return now, counts


def _limited(
    kind: str, limit: int, message: str, act: Callable[[], Outcome], what: str = "note"
) -> Outcome:
    """Return act()'s Outcome, or FAILED if the session, its address or its person did limit
    of kind this minute. The place is taken before act() runs, so racing clicks cannot pass."""
    # A new tab, a new name or a new session changes only one of whom it counts.
    counted = [f"session {_session_token()}"]
    if (address := _client_address(st.context.headers, st.context.ip_address)) is not None:
        counted.append(f"address {address}")
    if st.user.get("is_logged_in") is True and _claim("sub") is not None:
        counted.append(f"person {_claim('iss')} {_claim('sub')}")
    if (turn := _take_turn(kind, counted, limit)) is None:
        return Outcome(Kind.FAILED, message.format(count=_how_many(limit, what)))
    outcome = act()
    if outcome.kind not in (Kind.SAVED, Kind.DELETED):  # nothing was done: not counted
        now, counts = turn
        with _recent().events_lock:
            for done in counts:
                with suppress(ValueError):
                    done.remove(now)
    return outcome


_FILTER_PARAMS = (("search", "q"), ("author", "author"), ("tag", "tag"))  # filter, its parameter


def _address(path: str, filters: Mapping[str, str | None], **more: int) -> str:
    """path with filters (and more) in its query string, named as in the feed's address."""
    named = {key: filters.get(name) for name, key in _FILTER_PARAMS} | more
    query = urllib.parse.urlencode({key: v for key, v in named.items() if v or v == 0})
    return f"{path}?{query}" if query else path


# Views: who is writing -------------------------------------------------------
#
# Open mode (no [auth] in secrets): everyone is VISITOR and types a name per note. Signed-in
# mode: st.login with the provider under [auth]; the store gets st.user's claims as an Actor.

MSG_OPEN_MODE = "**Open mode**: anyone can write, under any name."
MSG_SIGNED_OUT = "**Signed-in mode**: anyone can read; sign in to write."
MSG_SIGN_IN_PAGE = "Sign in to write a note."
MSG_SIGN_IN_AGAIN = "You signed out after this sign-in (here or elsewhere): sign in again to write."
MSG_AUTH_MISCONFIGURED = (
    "Sign-in is not set up completely, so no one can sign in yet. The operator must check"
    " [auth] in the app's secrets (redirect_uri, cookie_secret, client_id, client_secret,"
    " server_metadata_url)."
)
MSG_BAD_SETTING = (
    "`{name}` in the app's secrets must be a whole number from 1 to 10,000; using {default}."
)


def signed_in_mode() -> bool:
    """True when an [auth] provider is configured: writing needs sign-in."""
    return isinstance(_secrets().get("auth"), Mapping)


_LIMITS = {  # the flood limits an operator may set in the secrets, and their defaults
    "notes_per_minute": NOTES_PER_MINUTE,
    "deletes_per_minute": DELETES_PER_MINUTE,
    "edits_per_minute": EDITS_PER_MINUTE,
}


def _is_limit(value: object) -> bool:
    return type(value) is int and 1 <= value <= 10_000


def _setting(name: str) -> int:
    """A flood limit from the secrets (a whole number from 1 to 10,000), else its default."""
    value = _secrets().get(name)
    if value is None and name == "edits_per_minute":
        value = _secrets().get("edits_per_note_per_minute")
    return value if _is_limit(value) else _LIMITS[name]


def _bad_settings() -> list[str]:
    """What is wrong with the flood limits in the secrets, said once per run."""
    secrets = _secrets()
    return [
        MSG_BAD_SETTING.format(name=name, default=default)
        for name, default in _LIMITS.items()
        if secrets.get(name) is not None and not _is_limit(secrets.get(name))
    ]


def _is_admin(issuer: str, subject: str) -> bool:
    """True if `admins` names the verified e-mail (a real true), or `admin_subjects` the sign-in."""
    email = (_claim("email") or "").strip().lower()
    if st.user.get("email_verified") is True and email:
        admins = _secrets().get("admins") or []
        admins = [admins] if isinstance(admins, str) else admins
        if email in {str(admin).strip().lower() for admin in admins if isinstance(admin, str)}:
            return True
    # (issuer, subject) pairs, for a provider that verifies no e-mail.
    named = _secrets().get("admin_subjects") or []
    return (issuer, subject) in {
        (str(entry.get("issuer", "")), str(entry.get("subject", "")))
        for entry in (named if isinstance(named, list) else [])
        if isinstance(entry, Mapping) and entry.get("subject")
    }


def _claim(name: str) -> str | None:
    """One claim of the signed-in person's ID token, if it is non-empty text."""
    value = st.user.get(name)
    return value if isinstance(value, str) and value.strip() else None


def _display_name() -> str:
    """The signed-in person's valid author name: name, e-mail's name, or one from the subject."""
    email = _claim("email")
    for candidate in (_claim("name"), email and email.split("@")[0], _claim("preferred_username")):
        with suppress(InvalidNoteError):
            return validate_note(candidate, ".")[0]
    return f"user-{hashlib.sha256(str(_claim('sub')).encode()).hexdigest()[:8]}"


def current_actor() -> Actor | None:
    """Who is using this page: VISITOR in open mode, else the signed-in person or None."""
    if not signed_in_mode():
        return VISITOR
    if st.user.get("is_logged_in") is not True or _claim("sub") is None:
        return None
    issuer, subject = _claim("iss") or "", _claim("sub")
    # A sign-in cookie lasts 30 days: a copy of it must not outlive a sign-out (after `iat`).
    with suppress(NotesError):  # the database is down: every write fails and says so anyway
        signed_out = NoteService.signed_out_at(get_connection(), issuer, subject)
        issued = st.user.get("iat")
        if signed_out is not None and not (type(issued) is int and issued > signed_out):
            return None
    admin = _is_admin(issuer, subject)
    return Actor(name=_display_name(), subject=subject, issuer=issuer, admin=admin)


def _sign_in_buttons(key: str) -> None:
    """A Sign in button per provider (st.login sends the browser to the provider)."""
    auth = _secrets().get("auth") or {}
    # One unnamed provider ([auth] with client_id), else one per [auth.NAME] section.
    named = [name for name, value in auth.items() if isinstance(value, Mapping)]
    providers = named if named and "client_id" not in auth else [None]
    for provider in providers:
        label = "Sign in" if len(providers) == 1 else f"Sign in with {provider}"
        suffix = "" if len(providers) == 1 else f"_{provider}"
        if st.button(label, key=f"{key}{suffix}", icon=":material/login:"):
            try:
                st.login(provider)
            except StreamlitAuthError:  # says which setting, never a secret's value
                st.error(MSG_AUTH_MISCONFIGURED)


def _render_account(actor: Actor | None) -> None:
    """The sidebar's line on who may write, with Sign in or Sign out."""
    with st.sidebar:
        if not signed_in_mode():
            st.caption(MSG_OPEN_MODE)
        elif actor is None:
            signed_out = st.user.get("is_logged_in") is True  # signed out since, elsewhere
            st.caption(MSG_SIGN_IN_AGAIN if signed_out else MSG_SIGNED_OUT)
            _sign_in_buttons("sign_in")
        else:
            role = " (admin)" if actor.admin else ""
            st.caption(f"Signed in as **{_escape_markdown(actor.name or '')}**{role}")
            if st.button("Sign out", key="sign_out", icon=":material/logout:"):
                # Every earlier sign-in of this person counts no more; the cookie goes anyway.
                with suppress(NotesError):
                    NoteService.record_sign_out(get_connection(), actor)
                st.logout()


def _cannot_change(actor: Actor | None, note: Note) -> bool:
    """Say why this person cannot change note, where its actions would be; True if so."""
    if actor is None:
        st.info(MSG_SIGN_IN_TO_WRITE)
        _sign_in_buttons("page_sign_in")
        return True
    if not actor.may_change(note):
        st.info(MSG_NOT_YOURS.format(id=note.id))
        return True
    return False


class _Keys:
    """The "<page>_<what>" keys of a page's (or the Edit dialog's) Outcome, form and picker."""

    _NAMES = ("outcome", "undo", "form", "username", "body", "submit", "preview", "find", "number")

    def __init__(self, page: str, picks: bool = False, lists_notes: bool = False) -> None:
        self.picks = picks  # a note picker (`number`): a restore or a vanished note changes it
        self.lists_notes = lists_notes  # the page shows notes itself (a restored one too)
        for name in self._NAMES:
            setattr(self, name, f"{page}_{name}")
        self.pick = f"{page}_pick_"  # + a note's number: its pick button
        self.searched = f"{page}_find_searched"  # the search the number was last chosen for
        self.asked = f"{page}_number_asked"  # the ?note= last shown (each is shown once)


_known_zones = functools.cache(zoneinfo.available_timezones)  # read once, when first asked


def _reader_zone() -> zoneinfo.ZoneInfo:
    """Return the browser's time zone, or UTC if it reports none or one that does not exist."""
    name = st.context.timezone  # sent by the browser: any string at all
    if name in _known_zones():
        with suppress(zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")


def _format_time(timestamp: int) -> str:
    """Return a UTC epoch second as a date and time in the reader's browser time zone."""
    return datetime.fromtimestamp(timestamp, _reader_zone()).strftime("%d %b %Y, %H:%M %Z")


def _ago(timestamp: int, now: float | None = None) -> str:
    """When, as a feed says: "just now", "5 min ago", "3 h ago", "Monday, 09:30" or "7 Jan 2027"."""
    zone = _reader_zone()
    then = datetime.fromtimestamp(timestamp, zone)
    today = datetime.fromtimestamp(time.time() if now is None else now, zone)
    seconds = (today - then).total_seconds()
    days = (today.date() - then.date()).days
    if seconds < 0 or days >= 7:  # a clock ahead, or long ago
        return f"{then.day} {then:%b %Y}"
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if days == 0:
        return f"{int(seconds // 3600)} h ago"
    return f"{'yesterday' if days == 1 else f'{then:%A}'}, {then:%H:%M}"


def _feed_page() -> st.Page:
    """Return the feed's page, for links to it (with query parameters) from any page."""
    return st.Page(render_read, title="Read Note Feed", icon=":material/feed:", default=True)


def _update_page() -> st.Page:
    """Return the Update page, for links to a note's form and history (?note=N)."""
    return st.Page(render_update, title="Update a Note", icon=":material/edit:", url_path="update")


# Views: showing a note ------------------------------------------------------
#
# Notes are public: markdown-it-py renders them, nh3 sanitises to an allow-list, and st.html
# runs no markdown of its own. Raw HTML shows as typed, links are http(s)/mailto only, images
# are never loaded, headings are bold text; LaTeX, emoji codes and :red[...] cannot happen.

_LINK_SCHEMES = re.compile(r"(?:https?|mailto):", re.IGNORECASE)
_TAG_LINK = re.compile(r"\./\?tag=[\w%-]+\Z")
# maxNesting: as deep as CHAR_LIMIT characters nest (20 hid text); deeper rows recurse too far.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": True, "maxNesting": CHAR_LIMIT})
_MARKDOWN.enable(["table", "strikethrough", "linkify"])
_MARKDOWN.validateLink = lambda url: _LINK_SCHEMES.match(url) is not None
_SANITISER = nh3.Cleaner(
    tags={"p", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr"}
    | {"table", "thead", "tbody", "tr", "th", "td", "br", "mark"},
    attributes={"*": set(), "a": {"href"}, "ol": {"start"}, "th": {"style"}, "td": {"style"}},
    filter_style_properties={"text-align"},  # a table column's alignment
    url_schemes={"http", "https", "mailto"},
    url_relative="pass_through",
    attribute_filter=lambda tag, name, value: (
        value
        if (tag, name) != ("a", "href") or _LINK_SCHEMES.match(value) or _TAG_LINK.match(value)
        else None
    ),  # a link goes to the web or (the app's own) to a #tag's feed
    set_tag_attribute_values={"a": {"target": "_blank"}},
)


def _in_link(tokens: list, i: int) -> bool:
    """True if inline token i is inside a link."""
    links = [t.type for t in tokens[:i] if t.type in ("link_open", "link_close")]
    return links.count("link_open") > links.count("link_close")


def _marked(text: str, highlight: re.Pattern | None) -> str:
    """text, escaped, with highlight's words in <mark>."""
    return "".join(
        f"<mark>{html.escape(part)}</mark>" if n % 2 else html.escape(part)
        for n, part in enumerate(highlight.split(text) if highlight else [text])
    )


def _render_text(tokens: list, i: int, _options: object, env: dict) -> str:
    """Plain text, escaped: each #tag (outside a link) a link to its feed, marked whole if a
    search word starts it; env["highlight"]'s words in <mark>."""
    parts = [tokens[i].content] if _in_link(tokens, i) else _TAG.split(tokens[i].content)
    highlight, out = env.get("highlight"), []
    for n, part in enumerate(parts):
        if n % 2 == 0:
            out.append(_marked(part, highlight))
            continue
        shown = html.escape(f"#{part}")
        if highlight and highlight.match(part):
            shown = f"<mark>{shown}</mark>"
        out.append(f'<a href="{html.escape(_address("./", {"tag": part.lower()}))}">{shown}</a>')
    return "".join(out)


def _render_image(tokens: list, i: int, _options: object, _env: dict) -> str:
    """An image as a link to it (http(s) only), never loaded; its alt text alone in a link."""
    alt = html.escape(f"{tokens[i].content} (image)".lstrip())
    src = tokens[i].attrGet("src") or ""
    if _in_link(tokens, i) or not re.match("(?i)https?:", src):
        return alt
    return f'<a href="{html.escape(src)}">{alt}</a>'


def _render_link_open(tokens: list, i: int, options: object, env: dict) -> str:
    """A link, showing its address when it has no text of its own."""
    tag = _MARKDOWN.renderer.renderToken(tokens, i, options, env)
    bare = tokens[i + 1].type == "link_close"
    return tag + (html.escape(tokens[i].attrGet("href") or "") if bare else "")


_MARKDOWN.renderer.rules |= {
    "text": _render_text,
    "link_open": _render_link_open,
    "image": _render_image,
    "heading_open": lambda *_: "<p><strong>",
    "heading_close": lambda *_: "</strong></p>\n",
}


@functools.lru_cache(maxsize=4096)
def note_html(body: str, terms: tuple[str, ...] = ()) -> str:
    """Return the HTML the app shows for a note body, words starting with one of terms marked."""
    words = "|".join(re.escape(term) for term in terms)
    highlight = re.compile(rf"(?<!\w)((?:{words})\w*)", re.IGNORECASE) if words else None
    return _SANITISER.clean(_MARKDOWN.render(body, {"highlight": highlight}))


# A note's text scrolls past about 16 lines, never spills sideways, and indents four levels at
# most; its byline takes two lines at most (a long name is cut short), beside the Actions menu.
# A table's "Download as CSV" is hidden: it writes =HYPERLINK(...) as is, which a spreadsheet
# runs (the feed's Download writes spreadsheet-safe CSV).
_NOTE_CSS = """<style>
BOX { max-height: 25rem; overflow: auto; min-width: 0; max-width: 100%; overflow-wrap: anywhere; }
BOX :is(p, ul, ol, blockquote, pre, table) { margin: 0 0 0.5rem; }
BOX :is(p, ul, ol, blockquote, pre, table):last-child { margin: 0; }
BOX blockquote { border-left: 0.25rem solid rgba(128, 128, 128, 0.5); padding-left: 0.75rem; }
BOX :is(code, pre) {
  font-family: "Source Code Pro", monospace; font-size: 0.875em;
  background: rgba(128, 128, 128, 0.15); border-radius: 0.25rem;
}
BOX pre { padding: 0.75rem; overflow: auto; }
BOX pre code { background: none; }
BOX table { display: block; overflow: auto; border-collapse: collapse; }
BOX :is(th, td) { border: 1px solid rgba(128, 128, 128, 0.5); padding: 0.25rem 0.5rem; }
:is(BOX, .notes-byline) a { color: #1c6dd0; }
BOX mark { background: #ffd27a; color: #0e1016; }
@media (prefers-color-scheme: dark) { :is(BOX, .notes-byline) a { color: #79b8ff; } }
BOX :is(ul, ol, blockquote) :is(ul, ol, blockquote) :is(ul, ol, blockquote)
  :is(ul, ol, blockquote) :is(ul, ol, blockquote) { margin: 0; padding-left: 0.25rem; border: 0; }
.notes-byline { margin-top: 0.5rem; padding-right: 7rem; font-size: 0.875rem; line-height: 1.5; }
.notes-byline a { text-decoration: none; }
.notes-byline a:hover { text-decoration: underline; }
.notes-byline > div { display: flex; gap: 0.4rem; white-space: nowrap; min-width: 0; }
.notes-byline > div > * { flex: none; }
.notes-byline > div > :first-child { flex: 0 1 auto; overflow: hidden; text-overflow: ellipsis; }
[class*="st-key-note_"] { position: relative; }
[class*="st-key-note_"] > .stElementContainer:has([class*="st-key-menu_"]),
[class*="st-key-note_"] > [class*="st-key-menu_"] {
  position: absolute; right: 1rem; bottom: 0.75rem; width: auto;
}
@media (max-width: 640px) {  /* a phone: the menu is its icon (and its name, for screen readers) */
  .notes-byline { padding-right: 2.5rem; }
  [class*="st-key-menu_"] [data-testid="stPopoverButton"] [data-testid="stMarkdownContainer"] {
    position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%);
  }
  [class*="st-key-menu_"] [data-testid="stPopoverButton"] > div > div[aria-hidden] {
    display: none;
  }
}
[data-testid="stElementToolbar"] button[aria-label="Download as CSV"] { display: none; }
.st-key-live_check { display: none; }
.st-key-live_slot { overflow: hidden !important; }  /* a banner or a line, then what is hidden */
</style>""".replace("BOX", ".notes-text")  # each rule's note text


def _note_text(body: str, key: str, terms: list[str] | None = None) -> None:
    """Show a note's text (note_html) in a box of its own, key, that _NOTE_CSS caps."""
    with st.container(key=key):
        st.html(f'<div class="notes-text">{note_html(body, tuple(terms or ()))}</div>')


def _show_in_feed(**params: str) -> None:
    """Show the feed with exactly these query parameters (and no search): a callback."""
    st.query_params.from_dict(params)


# A constant script, once per browser page: a link to the feed ("./?...", the app's own: a
# note's link is always absolute) is followed in this tab without loading the page again, as
# Back and Forward are (Streamlit reruns the page for the address on "popstate"). Each new
# address starts at the top; on a phone, picking a page in the sidebar closes it.
_LINK_SCRIPT = """<script>
if (!window.notesLinks) {
  window.notesLinks = true;
  const toTop = () => document.querySelectorAll('[data-testid="stMain"]')
    .forEach((main) => main.scrollTo({top: 0}));
  document.addEventListener("click", (event) => {
    if (event.button || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest && event.target.closest('a[href^="./?"]');
    if (link) {
      event.preventDefault();
      history.pushState({}, "", link.href);
      dispatchEvent(new PopStateEvent("popstate"));
      toTop();
    } else if (event.target.closest && event.target.closest('[data-testid="stSidebarNavLink"]')) {
      toTop();
      const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (close && matchMedia("(max-width: 767.98px)").matches) close.click();
    }
  }, true);
}
</script>"""


def _when(timestamp: int) -> str:
    """When, as the feed says it, with the exact time on hover."""
    return f'<span title="{html.escape(_format_time(timestamp))}">{_ago(timestamp)}</span>'


def _byline(note: Note, links: bool) -> str:
    """A note's byline as HTML: its author and number as links to the feed (if links), when
    it was written, and when and by whom it was edited (on a line of its own)."""
    name = html.escape(note.username)
    number = f"#{note.id}"
    if links:
        author = html.escape(_address("./", {"author": note.username}))
        name = f'<a href="{author}" title="All notes by this author">{name}</a>'
        number = f'<a href="./?note={note.id}" title="Link to this note alone">{number}</a>'
    lines = [
        f"<span>{name}</span><span>·</span>{_when(note.created_timestamp)}<span>·</span>{number}"
    ]
    if note.edited:
        by = f" by {html.escape(note.made_by)}" if note.made_by != note.username else ""
        lines.append(f"<span>edited {_when(note.updated_timestamp)}{by}</span>")
    return '<div class="notes-byline">' + "".join(f"<div>{line}</div>" for line in lines) + "</div>"


def _render_note(
    note: Note,
    terms: list[str] | None = None,
    links: bool = True,
    menu: bool = False,
    key: str = "note",
) -> None:
    """Show one note: its text (whose #tags link to the feed) and byline, whose author and
    number do too unless not links (trashed), and, if menu, its Actions menu. key: box prefix."""
    with st.container(border=True, key=f"{key}_{note.id}"):
        text = note_html(note.body, tuple(terms or ()))
        st.html(f'<div class="notes-text">{text}</div>{_byline(note, links)}')
        if menu:
            _note_menu(note)
        elif isinstance(note, TrashedNote):
            _trashed(note)


def _notes_frame(notes: list[Note]) -> pd.DataFrame:
    """Return notes as a table of their stored columns, times in the reader's time zone."""
    columns = ["id", "created_timestamp", "updated_timestamp", "username", "body"]
    frame = pd.DataFrame([asdict(note) for note in notes], columns=columns)
    zone = _reader_zone()
    for column in ("created_timestamp", "updated_timestamp"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True).dt.tz_convert(zone)
    return frame


_TABLE_COLUMNS = {  # how the raw table shows its columns
    "created_timestamp": st.column_config.DatetimeColumn("created", format="D MMM YYYY, HH:mm"),
    "updated_timestamp": st.column_config.DatetimeColumn("updated", format="D MMM YYYY, HH:mm"),
}


def _query_int(name: str) -> int | None:
    """Return query parameter name as a note number, or None if absent or not one."""
    value = st.query_params.get(name) or ""
    number = int(value) if _DIGITS.fullmatch(value) else 0
    return number if 0 < number <= MAX_NOTE_ID else None


def _go_to_page(direction: str | None = None, id: int | None = None) -> None:
    """Move a listing to the page before or after note id, or to the newest (in the URL)."""
    for name in ("before", "after"):
        st.query_params.pop(name, None)
    if direction is not None:
        st.query_params[direction] = str(id)
        st.session_state[_SCROLL_TOP] = st.session_state.get(_SCROLL_TOP, 0) + 1


_SCROLL_TOP = "scroll_top"  # how many page turns asked to land at the top
# A constant script: a turned page is read from its top (Streamlit keeps the scroll position).
_SCROLL_TO_TOP = """<script data-turn="{turn}">
for (const el of [document.scrollingElement,
                  ...document.querySelectorAll('[data-testid="stMain"], .stMain')]) {{
  if (el) el.scrollTo({{top: 0}});
}}
</script>"""


def _page_bounds() -> tuple[int | None, int | None]:
    """Return the (before, after) of the listing page in the URL (`before` if it has both)."""
    before = _query_int("before")
    return before, None if before is not None else _query_int("after")


def _page_gone(prefix: str) -> None:
    """Say that a bookmarked page of a listing is empty now, and offer the newest."""
    st.info(MSG_FEED_PAGE_EMPTY)
    st.button("Newest notes", key=f"{prefix}_newest", on_click=_go_to_page)


def _page_buttons(prefix: str, notes: list[Note], listing: Callable[..., list[Note]]) -> None:
    """Show "← Newer" and "Older →" under a page of notes, each if listing finds a note there."""
    if turn := st.session_state.get(_SCROLL_TOP):  # after a page turn, once: land at the top
        st.html(_SCROLL_TO_TOP.format(turn=turn), unsafe_allow_javascript=True)
        st.session_state[_SCROLL_TOP] = 0
    left, right = st.columns(2)
    for column, label, name, direction, id in (
        (left, "← Newer", "newer", "after", notes[0].id),
        (right, "Older →", "older", "before", notes[-1].id),
    ):
        if listing(limit=1, **{direction: id}):
            column.button(label, key=f"{prefix}_{name}", on_click=_go_to_page, args=(direction, id))


def _on_restore(keys: _Keys, id: int) -> None:
    """Bring note id back from the trash (Undo, or the Trash page's Restore) and pick it."""
    outcome = _attempt(
        lambda: NoteService.restore_note(get_connection(), id, actor=current_actor()),
        lambda note: Outcome(Kind.SAVED, MSG_RESTORED.format(id=id), note),
    )
    if outcome.kind == Kind.SAVED and keys.picks:
        st.session_state[keys.number] = id
    if outcome.kind == Kind.SAVED and (keys.picks or keys.lists_notes):
        outcome = Outcome(Kind.SAVED, outcome.message)  # the page shows the note itself
    st.session_state[keys.outcome] = outcome


def _shows_outcomes(*pages: _Keys) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Decorate a page to forget each Outcome once a run has finished showing it (not cut short)."""

    def decorate(render: Callable[[], None]) -> Callable[[], None]:
        @functools.wraps(render)
        def page() -> None:
            state = st.session_state
            state.pop(_OUTCOME_SHOWN, None)
            try:
                render()
            except NotesError as error:
                # main() says why the page failed; a shown Outcome would come back with the
                # database, so it goes too, and if it said the same, once is enough.
                for keys in pages:
                    outcome = state.get(keys.outcome)
                    if outcome is not None and state.get(_OUTCOME_SHOWN) is outcome:
                        del state[keys.outcome]
                        if outcome.message == str(error):
                            return
                raise
            for keys in pages:
                state.pop(keys.outcome, None)  # only reached by a finished run

        return page

    return decorate


_OUTCOME_SHOWN = "outcome_shown"  # the Outcome the current run has shown


def _show_outcome(keys: _Keys) -> None:
    """Show the Outcome a callback left for this page (see _shows_outcomes)."""
    outcome: Outcome | None = st.session_state.get(keys.outcome)
    if outcome is None:
        return
    st.session_state[_OUTCOME_SHOWN] = outcome
    if outcome.kind == Kind.DELETED:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.success(outcome.message)
        right.button("Undo", key=keys.undo, on_click=_on_restore, args=(keys, outcome.note.id))
    else:
        {Kind.SAVED: st.success, Kind.NOTHING: st.info}.get(outcome.kind, st.error)(outcome.message)
    if outcome.kind == Kind.SAVED and outcome.note is not None:
        _render_note(outcome.note)
    elif outcome.kind == Kind.CONFLICT:
        theirs, yours = st.columns(2)
        with theirs:
            st.caption(f"Saved now (version {outcome.note.version})")
            _render_note(outcome.note, links=False, key="saved")
        with yours:
            st.caption("Your text (still in the form)")
            with st.container(border=True):  # rendered as the feed would render it
                _note_text(outcome.draft[1] if outcome.draft else "", "text_of_draft")
    elif outcome.kind == Kind.GONE and outcome.draft is not None:
        username, body = outcome.draft
        st.caption(f"Your text, as {_escape_markdown(username)} wrote it:")
        st.code(body, language=None, wrap_lines=True)  # as typed, ready to copy


# The live character count under a note box: a constant script, once per browser page, that
# counts as the app does on every keystroke. It replaces a lone surrogate half with U+FFFD
# (the server drops a message of bad UTF-8, so Save would say nothing) and names its field.
_COUNTER_SCRIPT = f"""<script>
if (!window.notesCounter) {{
  window.notesCounter = true;
  const limit = {CHAR_LIMIT};
  const graphemes = new Intl.Segmenter(undefined, {{granularity: "grapheme"}});
  const keys = ["create_body", "compose_body", "update_body", "edit_body"];
  // A whole pair, else a lone half. (No "<" in this script: the sanitiser of st.html,
  // DOMPurify, empties a script whose text has "<" before a letter, "/" or "!".)
  const halves = /[\\ud800-\\udbff][\\udc00-\\udfff]|[\\ud800-\\udfff]/g;
  const mendHalves = (text) => text.replace(halves, (m) => (m.length === 2 ? m : "\\ufffd"));
  const setters = new Map([HTMLInputElement, HTMLTextAreaElement].map((type) =>
    [type.prototype, Object.getOwnPropertyDescriptor(type.prototype, "value").set]));
  // Capture phase on the document: before React reads the value. The prototype's setter
  // leaves React's own record of the value behind, so React takes the mended value.
  const mend = (event) => {{
    const el = event.target, set = setters.get(Object.getPrototypeOf(el));
    if (!set || typeof el.value !== "string") return;
    const mended = mendHalves(el.value);
    if (mended === el.value) return;
    const [start, end] = [el.selectionStart, el.selectionEnd];  // same length: caret stays
    set.call(el, mended);
    if (start !== null) el.setSelectionRange(start, end);
  }};
  document.addEventListener("input", mend, true);
  document.addEventListener("change", mend, true);
  // Each count goes into its own slot (an st.html of the app's), never into the
  // widgets' elements: React owns those, and a node added there broke their clicks.
  const count = (key) => {{
    const box = document.querySelector(`.st-key-${{key}} textarea`);
    const slot = document.querySelector(`.notes-counter[data-for="${{key}}"]`);
    if (!box || !slot) return;
    const name = document.querySelector(`.st-key-${{key.replace("_body", "_username")}} input`);
    const broken = [[name, "Username"], [box, "Note"]]
      .filter(([field]) => field && field.value.includes("\\ufffd")).map(([, label]) => label);
    const n = [...graphemes.segment(box.value.replace(/^[ \\t\\n]+|[ \\t\\n]+$/g, ""))].length;
    const verb = broken.length > 1 ? "have" : "has";
    const text = (broken.length ? `${{broken.join(" and ")}} ${{verb}} a broken character`
      + ` (\\ufffd): remove it \\u00b7 ` : "") + `${{n}} / ${{limit}}`
      + (n > limit ? `: ${{n - limit}} over the limit` : "");
    if (slot.textContent === text) return;  // (writing it would wake the observer again)
    slot.textContent = text;
    slot.style.fontWeight = n > limit || broken.length ? "600" : "";
  }};
  document.addEventListener("input", () => keys.forEach(count));
  new MutationObserver(() => keys.forEach(count))
    .observe(document.body, {{childList: true, subtree: true}});
}}
</script>"""


def _render_preview(keys: _Keys) -> None:
    """Below a form whose Preview was pressed: its note as the feed will show it."""
    if not st.session_state.get(f"{keys.preview}_shown"):
        return
    body = (st.session_state.get(keys.body) or "").strip()
    st.caption("Preview, as the feed will show it:")
    with st.container(border=True, key=f"{keys.preview}_box"):
        if body:
            _note_text(body, f"text_of_{keys.preview}")
        else:
            st.markdown("*Nothing to preview yet.*")


def _note_fields(keys: _Keys, with_username: bool = True) -> None:
    """Show the Username (open mode only) and Note inputs, with the note's live count."""
    if with_username:
        st.text_input("Username", key=keys.username, placeholder="Who is writing?")
    # No max_chars: the browser drops a paste too long; the save says how far over it is.
    st.text_area(
        "Note",
        key=keys.body,
        height=NOTE_BOX_HEIGHT_PX if keys is not _COMPOSE else "content",  # the feed's: it grows
        placeholder=f"Up to {CHAR_LIMIT} characters. Markdown works: **bold**, - lists, [links](https://…)",
    )
    # Forms keep enter_to_submit: Ctrl+Enter (⌘+Enter) in the box saves, as Enter does above.
    # The count (_COUNTER_SCRIPT) has a fixed height: one that grew moved Save from a click.
    typed = (st.session_state.get(keys.body) or "").strip(" \t\n")
    st.html(
        f'<div class="notes-counter" data-for="{keys.body}" aria-live="polite" style="font-size:'
        f' 0.875rem; text-align: right; height: 1.5rem">{len(_GRAPHEME.findall(typed))}'
        f" / {CHAR_LIMIT}</div>"
    )
    st.html(_COUNTER_SCRIPT, unsafe_allow_javascript=True)


def _note_form(
    keys: _Keys, save: str, on_save: Callable, args: tuple, with_username: bool, byline: str = ""
) -> None:
    """The Create and Update pages' form: byline (markdown), fields, Save and Preview."""
    with st.form(keys.form):
        if byline:
            st.caption(byline)
        _note_fields(keys, with_username)
        with st.container(horizontal=True, gap="small"):
            st.form_submit_button(
                save, key=keys.submit, on_click=on_save, args=args, type="primary"
            )
            st.form_submit_button(
                "Preview",
                key=keys.preview,
                on_click=_set_state,
                args=(f"{keys.preview}_shown", True),
            )


# The markdown a pick button's label drops: links keep their text; emphasis, code and blocks go.
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_BLOCKS = re.compile(r"^[ \t]*(?:(?:#{1,6}|>|[-*+]|\d+[.)])[ \t]+)+", re.MULTILINE)
_MARKDOWN_MARKS = re.compile(r"[*`~]+|(?<!\w)_+|_+(?!\w)|\\(?=\S)")


def _pick_note(keys: _Keys) -> Note | None:
    """Let the person choose a note by number, or from recent notes or a search; return it."""
    conn = get_connection()
    find = st.text_input(
        "Find a note", key=keys.find, placeholder="Words from a note, or its author"
    )
    candidates = NoteService.list_notes(conn, limit=RECENT_PICKS, search=find or "")
    if find != st.session_state.get(keys.searched) and candidates:
        # A new search picks its best match, so the form never edits a note it hides.
        st.session_state[keys.number] = candidates[0].id
    st.session_state[keys.searched] = find
    asked = _query_int("note")  # opened from a note's menu (?note=N): show that note
    if asked is not None and st.session_state.get(keys.asked) != asked:
        st.session_state[keys.number] = st.session_state[keys.asked] = asked
    if st.session_state.get(keys.number) is None:
        newest = NoteService.list_notes(conn, limit=1) if find else candidates
        if not newest:
            st.info(MSG_NO_NOTES)
            return None
        st.session_state[keys.number] = newest[0].id
    st.caption("Matches:" if find else "Recent notes:")
    if find and not candidates:
        st.caption(MSG_NO_PICKS)
    with st.container(horizontal=True, gap="small"):
        for note in candidates:
            text = _MARKDOWN_BLOCKS.sub("", _MARKDOWN_LINK.sub(r"\1", note.body))
            text = " ".join(_MARKDOWN_MARKS.sub("", text).split())  # one line, as in the feed
            excerpt = textwrap.shorten(text, PICK_EXCERPT_CHARS, placeholder=" …")
            label = f"\\#{note.id} {_escape_markdown(note.username)}: {_escape_markdown(excerpt)}"
            chosen = note.id == st.session_state.get(keys.number)
            st.button(
                label,
                key=f"{keys.pick}{note.id}",
                on_click=_set_state,
                args=(keys.number, note.id),
                type="secondary" if chosen else "tertiary",
                icon=":material/check:" if chosen else None,
            )
    # Streamlit bounds the box to what a browser holds exactly (2**53 - 1), within SQLite's.
    number = st.number_input("Note number", key=keys.number, min_value=1, step=1)
    try:
        return NoteService.get_note(conn, int(number))
    except NoteNotFoundError as error:
        st.warning(str(error))
        return None


def _set_state(key: str, value: object) -> None:
    """Set one session-state value (a callback, so it may set a widget's value)."""
    st.session_state[key] = value


# Views: a note's menu --------------------------------------------------------
#
# Each note's Actions menu: Edit (a dialog), Delete (with Undo), History and its link.

_FEED = _Keys("feed", lists_notes=True)
_UPDATE = _Keys("update", picks=True)  # the Update page's, and the History dialog's
_UPDATE_LOADED = "update_loaded"  # (id, version) of the note loaded into the form
_COMPOSE = _Keys("compose")  # the feed's own box for a new note
_WRITER = "writer"  # the name this session last wrote under (open mode), for the next note
_EDIT = _Keys("edit")
_EDITING = "edit_note"  # (id, version) of the note open in the Edit dialog


def _on_delete(keys: _Keys, id: int, version: int, off: str) -> None:
    """Trash note id if still at version, within the delete limit (off: the box to untick)."""
    st.session_state[off] = False
    outcome = _limited(
        "delete",
        _setting("deletes_per_minute"),
        MSG_TOO_MANY_DELETES,
        lambda: _attempt(
            lambda: NoteService.delete_note(
                get_connection(), id, version=version, actor=current_actor()
            ),
            lambda note: Outcome(Kind.DELETED, MSG_DELETED.format(id=note.id), note),
        ),
    )
    if outcome.kind == Kind.DELETED and keys.picks:
        st.session_state[keys.number] = None  # the picker offers the newest note
    elif outcome.kind == Kind.CONFLICT:
        outcome = Outcome(Kind.FAILED, outcome.message)
    st.session_state[keys.outcome] = outcome


def _create(username: str, body: str, actor: Actor | None) -> Outcome:
    """Save a new note within the session's create limit (the Create page, Save as new)."""
    limit = _setting("notes_per_minute")
    return _limited(
        "create",
        limit,
        MSG_TOO_MANY_NOTES,
        lambda: _attempt(
            lambda: NoteService.create_note(
                get_connection(), username, body, actor=actor, per_minute=limit
            ),
            lambda note: Outcome(Kind.SAVED, MSG_CREATED.format(id=note.id), note),
        ),
    )


def _save_edit(
    keys: _Keys,
    loaded: str,
    write: Callable[[int], Note],
    success: Callable[[Note], Outcome],
    limited: bool = True,
) -> Outcome:
    """Run write(the version loaded) within the edit limit if `limited`; keep text on failure."""
    state = st.session_state
    id, draft = state[loaded][0], (state.get(keys.username, ""), state.get(keys.body, ""))

    def saved(note: Note) -> Outcome:
        state[loaded] = (id, note.version)
        return success(note)

    act = functools.partial(_attempt, lambda: write(state[loaded][1]), saved)
    if limited:
        outcome = _limited("edit", _setting("edits_per_minute"), MSG_TOO_MANY_EDITS, act, "edit")
    else:
        outcome = act()
    if outcome.kind == Kind.CONFLICT:
        state[loaded] = (id, outcome.note.version)
        outcome = Outcome(outcome.kind, outcome.message, outcome.note, draft)
    elif outcome.kind == Kind.GONE:
        if keys.picks:
            state[keys.number] = None  # the picker offers the newest note
        outcome = Outcome(outcome.kind, MSG_EDIT_GONE.format(id=id), draft=draft)
    state[keys.outcome] = outcome
    return outcome


def _on_update(keys: _Keys, loaded: str) -> None:
    """Save the Update page's or Edit dialog's form if its note is still the version loaded."""
    state = st.session_state
    if loaded not in state:  # a double click's second press: the first saved and closed
        return
    id, username, body = state[loaded][0], state.get(keys.username, ""), state[keys.body]
    outcome = _save_edit(
        keys,
        loaded,
        lambda version: NoteService.update_note(
            get_connection(), id, username, body, version=version, actor=current_actor()
        ),
        lambda note: Outcome(Kind.SAVED, MSG_UPDATED.format(id=id), note),
    )
    if keys is _EDIT and outcome.kind == Kind.SAVED:
        _close_editor()
        state[_FEED.outcome] = Outcome(Kind.SAVED, outcome.message)


def _open_editor(note: Note) -> None:
    """Open the Edit dialog on note, as it was shown."""
    state = st.session_state
    state[f"menu_{note.id}"] = False  # the dialog, not the menu, in front
    state[_EDITING] = (note.id, note.version)
    state[_EDIT.username], state[_EDIT.body] = note.username, note.body
    state.pop(_EDIT.outcome, None)


def _close_editor() -> None:
    st.session_state.pop(_EDITING, None)
    st.session_state.pop(_EDIT.outcome, None)


@st.dialog("Edit note", width="medium", on_dismiss=_close_editor)
def _edit_dialog() -> None:
    """The Edit dialog: the Update page's form for the note opened from its menu."""
    editing = st.session_state.get(_EDITING)
    if editing is None:
        st.rerun()  # saved or cancelled: the whole page, since a dialog reruns alone
    st.caption(f"Note \\#{editing[0]}, by {_escape_markdown(st.session_state[_EDIT.username])}")
    _show_outcome(_EDIT)
    with st.form(_EDIT.form, border=False):
        _note_fields(_EDIT, with_username=False)  # the text; a name changes on the Update page
        with st.container(horizontal=True, gap="small"):
            st.form_submit_button(
                "Save changes",
                key=_EDIT.submit,
                on_click=_on_update,
                args=(_EDIT, _EDITING),
                type="primary",
            )
            st.form_submit_button("Cancel", key="edit_cancel", on_click=_close_editor)


_HISTORY_OF = "history_of"  # the note whose History dialog is open


def _open_history(id: int) -> None:
    st.session_state[f"menu_{id}"] = False  # the dialog, not the menu, in front
    st.session_state[_HISTORY_OF] = id
    st.session_state.pop(_HISTORY_BEFORE, None)


def _close_history() -> None:
    st.session_state.pop(_HISTORY_OF, None)


@st.dialog("History", width="medium", on_dismiss=_close_history)
def _history_dialog() -> None:
    """A note's versions, opened from its menu over the feed, to restore where permitted."""
    state = st.session_state
    if (id := state.get(_HISTORY_OF)) is None:
        st.rerun()
    try:
        note = NoteService.get_note(get_connection(), id)
    except NoteNotFoundError as error:
        st.warning(str(error))
        return
    state[_UPDATE_LOADED] = (note.id, note.version)  # what a restore replaces: what is shown
    _show_outcome(_UPDATE)
    actor = current_actor()
    _render_history(note, actor is not None and actor.may_change(note), expanded=True)


def _permalink(id: int) -> str:
    """The address of note id alone, on the host the browser shows (else relative)."""
    url = urllib.parse.urlsplit(st.context.url or "")
    base = f"{url.scheme}://{url.netloc}" if url.scheme in ("http", "https") else ""
    return f"{base}{url.path or '/'}?note={id}"  # the feed's own path (menus are there)


def _note_menu(note: Note) -> None:
    """The note's Actions menu (Edit and Delete only for who may change it)."""
    # on_change="rerun": its contents run only while open; callbacks close it by its key.
    with st.popover(
        "Actions",  # a name screen readers say (an icon alone is read as "more_horiz icon")
        icon=":material/more_horiz:",
        type="tertiary",
        key=f"menu_{note.id}",
        help="Actions: edit, delete, history, link",
        on_change="rerun",
    ) as menu:
        if not menu.open:
            return
        actor = current_actor()  # (signed in, a query: only for the menu that is open)
        if actor is not None and actor.may_change(note):
            st.button(
                "Edit",
                key=f"menu_edit_{note.id}",
                icon=":material/edit:",
                on_click=_open_editor,
                args=(note,),
            )
            st.button(
                "Delete",
                key=f"menu_delete_{note.id}",
                icon=":material/delete:",
                on_click=_on_delete,
                args=(_FEED, note.id, note.version, f"menu_{note.id}"),
            )
        st.button(
            "History",
            key=f"menu_history_{note.id}",
            icon=":material/history:",
            on_click=_open_history,
            args=(note.id,),
        )
        st.caption("Link to this note:")
        st.code(_permalink(note.id), language=None)


# Views: the live feed --------------------------------------------------------
#
# The newest feed page's banner slot (kept free, so nothing read moves) is a fragment. While
# it is shown, its script (_LIVE_SCRIPT) asks /api/live every LIVE_FEED_TICK_S for the
# numbers and versions of the notes from the oldest shown up, answered from a read a second
# per process (see Web addresses): an idle tab costs no script run. Only when that differs
# from what the page shows does it press the slot's hidden Check button: the fragment reruns
# (a tick), rereads them in one listing, and reruns the page only if a shown note changed.

MSG_NEW_NOTES = "{count} — show"
MSG_LIVE_WAITING = "Live: notes others write show up here."
MSG_LIVE_PAUSED = "New notes cannot be checked right now. Trying again every {seconds} s."
_LIVE = "feed_live"  # the _LiveView the newest page of the feed shows
_LIVE_KEEP = "feed_live_keep"  # the next full run shows _LIVE as a tick read it
_LIVE_SHOW = "live_show"  # the banner's button
_LIVE_CHECK = "live_check"  # the slot's hidden button: its press is a tick


@dataclass(frozen=True)
class _LiveView:
    """What the live feed shows, as its last read (a full run's, or a tick's) found it."""

    filters: tuple  # the search and filters of the page it shows
    shown: frozenset[int]  # the notes the page first showed: a tick shows these, never others
    after: int  # a tick lists the notes numbered above this: the oldest shown, minus one
    newest: int  # notes numbered above this are new: the newest shown (or in the feed)
    notes: tuple[Note, ...]  # the shown notes still there, as they are now, newest first
    new: int = 0  # notes above `newest`; LIVE_MAX_NEW + 1 stands for more


def _live_first(conn: Database, filters: dict) -> _LiveView:
    """Read the newest page of the feed (with filters), as a full run shows it."""
    notes = NoteService.list_notes(conn, **filters)
    if notes:
        newest, after = notes[0].id, notes[-1].id - 1
    else:  # nothing matches yet: whatever comes after the newest note is new
        top = NoteService.list_notes(conn, limit=1) if any(filters.values()) else []
        newest = after = top[0].id if top else 0
    shown = frozenset(note.id for note in notes)
    return _LiveView(tuple(filters.items()), shown, after, newest, tuple(notes))


def _live_tick(conn: Database, view: _LiveView) -> _LiveView:
    """Reread view's notes and count newer ones (to LIVE_MAX_NEW + 1) in one listing.
    A note that was not shown waits for a full run: it would push down what is being read."""
    limit = len(view.shown) + LIVE_MAX_NEW + 1
    notes = NoteService.list_notes(conn, limit=limit, after=view.after, **dict(view.filters))
    new = min(sum(1 for note in notes if note.id > view.newest), LIVE_MAX_NEW + 1)
    kept = tuple(note for note in notes if note.id in view.shown)
    return _LiveView(view.filters, view.shown, view.after, view.newest, kept, new)


def _new_notes(count: int) -> str:
    """The banner's words: "1 new note — show", "3 new notes — show", "100+ new notes — show"."""
    many = f"{LIVE_MAX_NEW}+ new notes" if count > LIVE_MAX_NEW else _how_many(count, "new note")
    return MSG_NEW_NOTES.format(count=many)


def _on_show_new() -> None:
    """The banner's "show": rerun the whole page (not just the fragment), from its top."""
    st.session_state.pop(_LIVE_KEEP, None)
    st.session_state[_SCROLL_TOP] = st.session_state.get(_SCROLL_TOP, 0) + 1
    st.rerun(scope="app")


# What the slot tells its script: where to ask, what it shows, and if its last read failed.
_LIVE_STATE = (
    '<div class="notes-live" data-poll="{poll}" data-newest="{newest}" data-new="{new}"'
    ' data-shown="{shown}" data-problem="{problem}"></div>'
)
# A constant script, once per browser page (no "<" in it: see _COUNTER_SCRIPT). A hidden
# tab asks nothing; a press waits for its run (the slot changes), or two ticks, to press again.
_LIVE_SCRIPT = f"""<script>
if (!window.notesLive) {{
  window.notesLive = true;
  let pressed = 0, pressedOn = "";
  const press = (slot) => {{
    const check = document.querySelector(".st-key-{_LIVE_CHECK} button");
    const seen = slot.outerHTML, waited = Date.now() - pressed >= {2000 * LIVE_FEED_TICK_S};
    if (check && (seen !== pressedOn || waited)) {{
      [pressed, pressedOn] = [Date.now(), seen];
      check.click();
    }}
  }};
  const tick = async () => {{
    const slot = document.querySelector(".notes-live");
    if (slot && !document.hidden) {{
      const state = slot.dataset;
      try {{
        const answer = await fetch(state.poll, {{cache: "no-store"}});
        if (answer.status === 429) return;
        if (!answer.ok) throw new Error(answer.status);
        const now = new Map(await answer.json());
        const shown = state.shown.split(",").filter(Boolean).map((pair) => pair.split(":"));
        const changed = shown.some(([id, version]) => now.get(Number(id)) !== Number(version));
        const fresh = Math.min([...now.keys()].filter((id) => id > Number(state.newest)).length,
                               {LIVE_MAX_NEW + 1});
        if (changed || fresh !== Number(state.new) || state.problem) press(slot);
      }} catch (error) {{
        if (!state.problem) press(slot);  // the tick says why it cannot read
      }}
    }}
  }};
  setInterval(tick, {1000 * LIVE_FEED_TICK_S});
}}
</script>"""


@st.fragment
def _live_banner() -> None:
    """The banner's slot above the newest page's notes; a press of its Check (by _LIVE_SCRIPT)
    is a tick, which rereads them."""
    state = st.session_state
    view: _LiveView = state[_LIVE]
    problem = None
    if state.get(_LIVE_CHECK):
        try:
            ticked = _live_tick(get_connection(), view)
        except NotesError as error:
            problem = str(error)
        else:
            changed = ticked.notes != view.notes
            state[_LIVE] = view = ticked
            # A shown note was edited or deleted: the page shows it so now, or, under an open
            # dialog, when it closes (a whole rerun cut short a Save pressed in it meanwhile,
            # and Streamlit dropped the press).
            if changed and _EDITING not in state and _HISTORY_OF not in state:
                state[_LIVE_KEEP] = True
                st.rerun(scope="app")
    with st.container(height=LIVE_SLOT_HEIGHT_PX, border=False, key="live_slot"):
        if problem is not None:
            st.caption(
                f":material/sync_problem: {MSG_LIVE_PAUSED.format(seconds=LIVE_FEED_TICK_S)}",
                help=_escape_markdown(problem),
            )
        elif view.new:
            st.button(
                _new_notes(view.new),
                key=_LIVE_SHOW,
                icon=":material/arrow_upward:",
                on_click=_on_show_new,
            )
        else:  # the slot says what it is for, so it is no empty band
            st.caption(MSG_LIVE_WAITING)
        shown = ",".join(f"{note.id}:{note.version}" for note in view.notes)
        poll = _address("/api/live", dict(view.filters), after=view.after)
        st.html(
            _LIVE_STATE.format(
                poll=html.escape(poll), newest=view.newest, new=view.new, shown=shown,
                problem="1" if problem else "",
            )
        )  # fmt: skip
        st.button("Check for new notes", key=_LIVE_CHECK)  # hidden (_NOTE_CSS)
        st.html(_LIVE_SCRIPT, unsafe_allow_javascript=True)


def _render_newest(conn: Database, filters: dict) -> tuple[Note, ...]:
    """Start the newest page of the feed, live (see _live_banner); return its notes."""
    state = st.session_state
    view: _LiveView | None = state.get(_LIVE)
    keep = state.pop(_LIVE_KEEP, False) and view is not None
    if not keep or view.filters != tuple(filters.items()):
        view = state[_LIVE] = _live_first(conn, filters)
    _live_banner()
    if not view.notes:
        st.info(MSG_NO_MATCHES if any(filters.values()) else MSG_NO_NOTES)
    return view.notes


# Views: Read Note Feed -------------------------------------------------------


def _render_permalink(conn: Database, id: int) -> None:
    """Show note id alone (the target of its permalink), with its exact times."""
    try:
        note = NoteService.get_note(conn, id)
        _render_note(note, menu=True)
        exact = f"Written {_format_time(note.created_timestamp)}"
        if note.edited:
            exact += f", edited {_format_time(note.updated_timestamp)} (version {note.version})"
        st.caption(exact)
    except NoteNotFoundError as error:
        st.warning(str(error))
    st.button(
        "All notes", key="feed_all_notes", icon=":material/arrow_back:", on_click=_show_in_feed
    )


_SEARCHED = "searched"  # the search in the address the box last took


def _on_search() -> None:
    """Show the newest page of a search, a step of the tab's history (Back undoes it)."""
    params = {
        k: v for k, v in st.query_params.to_dict().items() if k not in ("q", "before", "after")
    }
    st.query_params.from_dict(params | ({"q": st.session_state.q} if st.session_state.q else {}))
    st.session_state[_SEARCHED] = st.session_state.q


@_shows_outcomes(_FEED, _COMPOSE, _UPDATE)
def render_read() -> None:
    """The feed: newest notes first, a page at a time, with search and filters in the URL."""
    st.title("Read Note Feed")
    _show_outcome(_FEED)
    if _EDITING in st.session_state:
        _edit_dialog()
    elif _HISTORY_OF in st.session_state:
        _history_dialog()
    conn = get_connection()
    if (id := _query_int("note")) is not None:
        _render_permalink(conn, id)
        return
    author, tag = st.query_params.get("author"), st.query_params.get("tag")
    if st.session_state.get(_SEARCHED) != (asked := st.query_params.get("q", "")):
        st.session_state.q = st.session_state[_SEARCHED] = asked  # a new address, or Back
    before, after = _page_bounds()
    if not (asked or author or tag or before or after) and (actor := current_actor()):
        _compose(_COMPOSE, actor)  # on the newest page, whose top shows the note saved
    search = st.text_input(
        "Search notes",
        key="q",
        on_change=_on_search,
        placeholder="Words from a note or an author's name, then Enter",
    )
    if author or tag:
        # st.text, not markdown: a link can carry any value, and markdown links even escaped URLs.
        what = f"Notes{_view_name(author=author, tag=tag)}"
        count = ""
        if not (author and tag):
            count = f" ({NoteService.count_notes(conn, author, tag and tag.lower()):,} in all)"
        left, right = st.columns([4, 1], vertical_alignment="center")
        # On one line, and no text-direction control from the address turns the count around.
        left.text(" ".join(_BIDI_CONTROLS.sub("\ufffd", what).split()) + count)
        right.button("Show all", key="feed_show_all", on_click=_show_in_feed)
    filters = {"search": search or "", "author": author or None, "tag": tag or None}
    terms = search_terms(search or "")
    if before is None and after is None:  # the newest page: live
        notes = list(_render_newest(conn, filters))
        if not notes:
            return  # it says so, and shows notes as they come
    else:
        notes = NoteService.list_notes(conn, before=before, after=after, **filters)
        if not notes:
            _page_gone("feed")
            return
    for note in notes:
        _render_note(note, terms, menu=True)
    _page_buttons("feed", notes, functools.partial(NoteService.list_notes, conn, **filters))
    # The feed's download (every note its search and filters show) and its Atom feed.
    # (Menus that rerun when opened build their contents only while open: closed, they cost
    # the feed's run nothing.)
    with st.container(horizontal=True, gap="small"):
        with st.popover(
            "Download", icon=":material/download:", key="feed_export", on_change="rerun"
        ) as download:
            if download.open:
                _download_buttons("feed_export", conn, filters)
        atom = _address("/feed.atom", filters)
        st.link_button("Atom feed", atom, key="feed_atom", icon=":material/rss_feed:")
    with st.expander("Raw Note Table Data", key="feed_raw", on_change="rerun") as raw:
        if raw.open:
            st.dataframe(
                _notes_frame(notes), hide_index=True, key="feed_table", column_config=_TABLE_COLUMNS
            )


# Views: Create a Note --------------------------------------------------------

_CREATE = _Keys("create")


def _is_text_of(note: Note, username: object, body: object) -> bool:
    """True if username and body, as they would be stored, are note's text."""
    try:
        return validate_note(username, body) == (note.username, note.body)
    except InvalidNoteError:
        return False


def _on_create(keys: _Keys) -> None:
    """Save the Create page's or the feed's form and clear its box; a double press reports the
    first note (_once). The feed's message names the note, which it shows at its top."""
    state = st.session_state
    actor = current_actor()
    username, body = state.get(keys.username, ""), state[keys.body]
    if actor is not None and actor.signed_in:
        username = actor.name
    cleared = not (body or "").strip()
    outcome = _once(
        "create",
        lambda last: last.note is not None and (cleared or _is_text_of(last.note, username, body)),
        lambda: _create(username, body, actor),
    )
    if outcome.kind == Kind.SAVED:
        state[keys.body] = ""
        state.pop(f"{keys.preview}_shown", None)
        if not (actor and actor.signed_in):
            state[_WRITER] = username
        if keys is _COMPOSE:
            outcome = Outcome(outcome.kind, outcome.message)
    state[keys.outcome] = outcome


def _compose(keys: _Keys, actor: Actor) -> None:
    """The form for a new note (the Create page's, or the feed's), under the name last used."""
    _session_token()  # before any click, so that every click of this session shares it
    if actor.signed_in:
        st.markdown(f"Posting as **{_escape_markdown(actor.name or '')}**")
    elif keys.username not in st.session_state:
        st.session_state[keys.username] = st.session_state.get(_WRITER, "")
    _note_form(keys, "Save note", _on_create, (keys,), with_username=not actor.signed_in)
    _show_outcome(keys)
    _render_preview(keys)


@_shows_outcomes(_CREATE)
def render_create() -> None:
    """The Create page: a form for a new note."""
    st.title("Create a Note")
    actor = current_actor()
    if actor is None:
        st.info(MSG_SIGN_IN_PAGE)
        _sign_in_buttons("create_sign_in")
        return
    _compose(_CREATE, actor)


# Views: Update a Note --------------------------------------------------------


def _on_restore_version(id: int, old_version: int) -> None:
    """Make an earlier version of note id current again, and load it into the form.
    Its author or an admin restores beyond the edit limit: a vandal cannot lock them out."""
    state = st.session_state
    actor, owner = current_actor(), False
    if actor is not None and actor.signed_in:
        with suppress(NotesError):  # a vanished note: the restore itself says so
            owner = actor.may_change(NoteService.get_note(get_connection(), id))

    def loaded(note: Note) -> Outcome:
        state[_UPDATE.username], state[_UPDATE.body] = note.username, note.body
        message = MSG_VERSION_RESTORED.format(id=id, old=old_version, new=note.version)
        return Outcome(Kind.SAVED, message)

    _save_edit(
        _UPDATE,
        _UPDATE_LOADED,
        lambda version: NoteService.restore_version(
            get_connection(), id, old_version, version=version, actor=actor
        ),
        loaded,
        limited=not owner,
    )


def _on_save_as_new(username: str, body: str) -> None:
    """Save the text of a note that vanished under its writer as a new note, and edit it."""
    outcome = _create(username, body, current_actor())
    if outcome.kind == Kind.SAVED:
        st.session_state[_UPDATE.number] = outcome.note.id
    st.session_state[_UPDATE.outcome] = outcome


_HISTORY_BEFORE = "update_history_before"  # (note id, version) the history page shows below


def _render_version(note: Note, old: NoteVersion, may_change: bool) -> None:
    """One earlier version: who made it and when, its text, and (if allowed) Restore."""
    st.caption(
        f"Version {old.version} · by {_escape_markdown(old.made_by)}"
        f" · {_ago(old.updated_timestamp)}",
        help=_format_time(old.updated_timestamp),
    )
    with st.container(border=True):
        _note_text(old.body, f"text_of_{note.id}_v{old.version}")
    if may_change:
        st.button(
            f"Restore version {old.version}",
            key=f"update_restore_{old.version}",
            on_click=_on_restore_version,
            args=(note.id, old.version),
        )


def _render_history(note: Note, may_change: bool, expanded: bool = False) -> None:
    """Show a note's earlier versions a page at a time, newest first, and always the first."""
    conn, state = get_connection(), st.session_state
    earlier = note.version - 1  # every edit kept the version it replaced
    with st.expander(f"History: {_how_many(earlier, 'earlier version')}", expanded=expanded):
        if not earlier:
            st.caption("This note has not been edited.")
            return
        st.caption(f"Version {note.version} (now) · by {_escape_markdown(note.made_by)}")
        shown = state.get(_HISTORY_BEFORE)
        before = shown[1] if shown and shown[0] == note.id else None
        versions = NoteService.note_history(conn, note.id, limit=HISTORY_PAGE_SIZE, before=before)
        for old in versions:
            _render_version(note, old, may_change)
        older = (note.id, versions[-1].version) if versions and versions[-1].version > 1 else None
        with st.container(horizontal=True, gap="small"):
            for label, key, shows, offered in (
                ("← Newest versions", "update_history_newest", None, before is not None),
                ("Older versions →", "update_history_older", older, older is not None),
            ):
                if offered:
                    st.button(label, key=key, on_click=_set_state, args=(_HISTORY_BEFORE, shows))
        if versions and versions[-1].version > 2:  # the original is further back: show it
            st.caption("The first version:")
            for first in NoteService.note_history(conn, note.id, limit=1, after=0):
                _render_version(note, first, may_change)


@_shows_outcomes(_UPDATE)
def render_update() -> None:
    """The Update page: choose a note, edit it, save; see and restore earlier versions."""
    st.title("Update a Note")
    state = st.session_state
    loaded = state.get(_UPDATE_LOADED)
    if loaded is not None and _UPDATE.body in state and _UPDATE.number not in state:
        state[_UPDATE.number] = loaded[0]  # a failed run kept the form, not the picker
    try:
        note = _pick_note(_UPDATE)
    except NotesError as error:
        actor = current_actor()
        if loaded is None or _UPDATE.body not in state or actor is None:
            raise  # nothing typed to keep, or no one to save it: main() shows the message
        # The database failed with an edit in the form: say so once, keep what was typed.
        outcome = state.get(_UPDATE.outcome)
        if outcome is None or outcome.message != str(error):
            st.error(str(error))
        _show_outcome(_UPDATE)
        _update_form(actor, state.get(_UPDATE.username, ""))
        return
    outcome: Outcome | None = state.get(_UPDATE.outcome)
    gone = outcome is not None and outcome.kind == Kind.GONE and outcome.draft is not None
    if gone or note is None:
        _show_outcome(_UPDATE)
        if gone:  # the note the person edited is gone: their text, not another note's form
            st.button(
                "Save as a new note",
                key="update_save_as_new",
                icon=":material/note_add:",
                on_click=_on_save_as_new,
                args=outcome.draft,
            )
        return
    actor = current_actor()
    if _cannot_change(actor, note):
        _show_outcome(_UPDATE)
        _render_note(note)
        _render_history(note, may_change=False)
        return
    # Load the chosen note when the choice changes or the form was cleared, never over typing.
    if loaded is None or loaded[0] != note.id or _UPDATE.body not in state:
        state[_UPDATE.username], state[_UPDATE.body] = note.username, note.body
        state[_UPDATE_LOADED] = (note.id, note.version)
    _show_outcome(_UPDATE)  # above the form, where the person who pressed Save is looking
    _update_form(actor, note.username)
    _render_history(note, may_change=True)


def _update_form(actor: Actor, author: str) -> None:
    """The Update page's form for the note loaded (author: whose note it is)."""
    byline = f"By **{_escape_markdown(author)}**" if actor.signed_in else ""
    args = (_UPDATE, _UPDATE_LOADED)
    _note_form(_UPDATE, "Save changes", _on_update, args, not actor.signed_in, byline)
    _render_preview(_UPDATE)


# Views: Delete a Note --------------------------------------------------------

_DELETE = _Keys("delete", picks=True)
_DELETE_CONFIRM = "delete_confirm"


@_shows_outcomes(_DELETE)
def render_delete() -> None:
    """The Delete page: choose a note, see it, confirm, delete (to the trash)."""
    st.title("Delete a Note")
    _show_outcome(_DELETE)
    note = _pick_note(_DELETE)
    if note is None:
        return
    _render_note(note)
    if _cannot_change(current_actor(), note):
        return
    confirmed = st.checkbox(
        f"Yes, delete note #{note.id}",
        key=_DELETE_CONFIRM,
        help="It goes to the Trash, where it can be restored.",
    )
    st.button(
        "Delete note",
        key="delete_submit",
        type="primary",
        disabled=not confirmed,
        on_click=_on_delete,
        args=(_DELETE, note.id, note.version, _DELETE_CONFIRM),
    )


# Views: Trash ----------------------------------------------------------------

_TRASH = _Keys("trash")


# The ids to confirm; not the button's key: Streamlit won't draw a button a callback set.
_TRASH_PURGE = "trash_purge_asked"
MSG_PURGE_CONFIRM = (
    "Delete {notes} for good: {numbers}? Their text and history cannot be brought back."
    " Notes deleted after you pressed the button are not included."
)
MSG_PURGED = "{notes} deleted for good."
MSG_PURGED_SOME = "{notes} deleted for good; {kept} had been restored meanwhile and {verb} kept."


def _on_purge(ids: tuple[int, ...]) -> None:
    """Delete for good exactly the trashed notes the admin confirmed, no other."""
    st.session_state.pop(_TRASH_PURGE, None)
    try:
        purged = NoteService.purge_notes(get_connection(), list(ids), actor=current_actor())
    except NotesError as error:
        st.session_state[_TRASH.outcome] = Outcome(Kind.FAILED, str(error))
        return
    kept, notes = len(ids) - purged, _how_many(purged, "note")
    verb = "is" if kept == 1 else "are"
    message = (MSG_PURGED_SOME if kept else MSG_PURGED).format(notes=notes, kept=kept, verb=verb)
    st.session_state[_TRASH.outcome] = Outcome(Kind.SAVED, message)


def _render_purge(notes: list[Note]) -> None:
    """An admin's button to delete this page's notes for good, then a confirmation naming them."""
    asked: tuple[int, ...] | None = st.session_state.get(_TRASH_PURGE)
    if not asked:
        st.button(
            f"Delete these {_how_many(len(notes), 'note')} for good…",
            key="trash_purge",
            icon=":material/delete_forever:",
            on_click=_set_state,
            args=(_TRASH_PURGE, tuple(note.id for note in notes)),
        )
        return
    numbers = ", ".join(f"#{id}" for id in asked)
    st.warning(MSG_PURGE_CONFIRM.format(notes=_how_many(len(asked), "note"), numbers=numbers))
    with st.container(horizontal=True, gap="small"):
        st.button(
            f"Yes, delete {_how_many(len(asked), 'note')} for good",
            key="trash_purge_confirm",
            type="primary",
            on_click=_on_purge,
            args=(asked,),
        )
        st.button(
            "Cancel", key="trash_purge_cancel", on_click=_set_state, args=(_TRASH_PURGE, None)
        )


def _trashed(note: TrashedNote) -> None:
    """In a trashed note's box: when it was deleted, and Restore for who may."""
    with st.container(horizontal=True, gap="small", vertical_alignment="center"):
        actor = current_actor()
        if actor is not None and actor.may_change(note):
            st.button(
                "Restore",
                key=f"trash_restore_{note.id}",
                on_click=_on_restore,
                args=(_TRASH, note.id),
                icon=":material/restore_from_trash:",
            )
        st.caption(f"Deleted {_ago(note.deleted_timestamp)}")


@_shows_outcomes(_TRASH)
def render_trash() -> None:
    """The Trash page: deleted notes a page at a time, to restore, or (an admin) to purge."""
    st.title("Trash")
    actor = current_actor()
    st.caption(MSG_TRASH_KEPT_SIGNED_IN if signed_in_mode() else MSG_TRASH_KEPT)
    _show_outcome(_TRASH)
    conn = get_connection()
    before, after = _page_bounds()
    notes = NoteService.list_trash(conn, before=before, after=after)
    if not notes:
        if before is not None or after is not None:
            _page_gone("trash")
        else:
            st.info(MSG_TRASH_EMPTY)
        return
    if actor is not None and actor.admin:
        _render_purge(notes)
    for note in notes:
        _render_note(note, links=False)
    _page_buttons("trash", notes, functools.partial(NoteService.list_trash, conn))


# Views: Export and import ----------------------------------------------------
#
# A download is a link to the server's /export.csv (.json, .md; see Web addresses): streamed
# as it is read, it holds no file in a session's memory.

PREVIEWS_AT_ONCE = 2  # import previews a process holds at once (each up to ~50 MB)
IMPORT_SHOWN_REJECTS = 200  # rejected rows listed in the page; all of them in a download
_FORMAT_NAMES = {"csv": "CSV (spreadsheets)", "json": "JSON", "md": "Markdown (to read)"}
MSG_EXPORT_FILTERED = "Download the notes this view shows"
MSG_IMPORT_HOW = (
    "Add notes from a CSV or JSON file in the export's format (columns: {columns}; author, body "
    "and created are required, tags are read from the body). Every row is checked like a note "
    "typed in the form. A note already here, with the same author, body and created time, is not "
    "added again: importing a file twice adds its notes once. Numbers are kept when none of them "
    "was ever used here; otherwise the notes get the next numbers, oldest first. Nothing is "
    "written until you press Import, and then all of it or none."
)
MSG_IMPORT_SIGNED_OUT = "Sign in as an admin to import notes."
MSG_IMPORTED = "Imported {added} ({present} already here{skipped}). They are in the feed now."
MSG_IMPORT_NOTHING = "Nothing to import: every good row of this file is already here."
MSG_IMPORT_BUSY = "Other imports are being checked right now. Try again in a minute."


def _download_buttons(key: str, conn: Database, filters: dict[str, str | None]) -> None:
    """A format choice and a link to download the notes these filters show (and how many)."""
    if filters["search"] or filters["tag"]:
        label = MSG_EXPORT_FILTERED
    else:
        count = NoteService.count_notes(conn, filters["author"])
        label = f"Download {'all ' if count > 1 else ''}{_how_many(count, 'note')}"
        label += " by this author" if filters["author"] else ""
    fmt = st.radio(  # (a segmented control's chosen option fails contrast in both themes)
        "Format",
        list(_FORMAT_NAMES),
        format_func=_FORMAT_NAMES.get,
        key=f"{key}_format",
        horizontal=True,
    )
    fmt = fmt if fmt in EXPORT_FORMATS else "csv"  # a widget value is hostile input
    url = _address(f"/export.{fmt}", filters)
    st.link_button(label, url, key=f"{key}_download", icon=":material/download:")


def _rejects_csv(rejected: list[Rejected]) -> bytes:
    """The rejected rows and why, as a CSV to fix the file by."""
    reasons = [_spreadsheet_safe(r.reason) for r in rejected]
    frame = pd.DataFrame({"row": [r.line for r in rejected], "reason": reasons})
    return frame.to_csv(index=False).encode("utf-8-sig")


@st.cache_resource(show_spinner=False)
def _previews() -> tuple[dict[str, str], threading.Lock]:
    """The process's import previews (each large): Streamlit's session id by session token."""
    return {}, threading.Lock()


def _forget_preview() -> None:
    """Drop this session's import preview and its place (its file was removed or imported)."""
    st.session_state.pop("import_preview", None)
    previews, lock = _previews()
    with lock:
        previews.pop(_session_token(), None)


def _import_preview(file: object) -> tuple[NotesFile, ImportPlan] | str:
    """The upload read and planned once per upload id, or why not (PREVIEWS_AT_ONCE at a time)."""
    cached = st.session_state.get("import_preview")
    if cached is not None and cached[0] == file.file_id:
        return cached[1]
    previews, lock = _previews()
    token = _session_token()
    with lock:
        for other, session in list(previews.items()):  # an ended session's place is free
            if Runtime.exists() and not Runtime.instance().is_active_session(session):
                del previews[other]
        if token not in previews and len(previews) >= PREVIEWS_AT_ONCE:
            return MSG_IMPORT_BUSY
        ctx = get_script_run_ctx()  # what Streamlit's runtime knows the session by
        previews[token] = ctx.session_id if ctx else token
    st.session_state.pop("import_preview", None)  # an earlier file's, before reading this one
    try:
        notes = read_notes_file(file.getvalue(), file.name, max_rows=IMPORT_PAGE_MAX_ROWS)
        result: tuple[NotesFile, ImportPlan] | str = notes, plan_import(get_connection(), notes)
    except InvalidFileError as error:
        result = str(error)
    except BaseException:
        _forget_preview()
        raise
    st.session_state.import_preview = (file.file_id, result)
    return result


def _render_plan(plan: ImportPlan) -> None:
    """The preview: how many rows would be added, are here already, are rejected (and why)."""
    counts = {"Will be added": plan.new, "Already here": plan.present, "Rejected": plan.rejected}
    for column, (label, rows) in zip(st.columns(3), counts.items(), strict=True):
        column.metric(label, f"{len(rows):,}")
    if plan.rejected:
        shown = plan.rejected[:IMPORT_SHOWN_REJECTS]
        more = len(plan.rejected) - len(shown)
        st.warning(
            f"{_how_many(len(plan.rejected), 'row')} cannot be imported and will be skipped"
            + (f"; the first {len(shown)} are listed" if more else "")
            + ". Fix them in the file and import it again to add them."
        )
        st.dataframe(
            pd.DataFrame({"Row": [r.line for r in shown], "Reason": [r.reason for r in shown]}),
            hide_index=True,
            key="import_rejected",
        )
        st.download_button(
            f"Download all {_how_many(len(plan.rejected), 'rejected row')}",
            _rejects_csv(plan.rejected),
            file_name="rejected-rows.csv",
            mime="text/csv",
            key="import_rejected_download",
            on_click="ignore",
        )


def _run_import(file_id: str, notes: NotesFile, actor: Actor | None) -> None:
    """Import the file's new notes with a progress bar; keep what happened for the page."""
    bar = st.progress(0.0, text="Importing…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / max(total, 1), text=f"Importing… {done:,} of {total:,}")

    try:
        done = import_notes(get_connection(), notes, actor=actor, progress=progress)
    except NotesError as error:
        bar.empty()
        st.session_state.import_outcome = (file_id, Outcome(Kind.FAILED, str(error)))
        return
    bar.empty()
    _forget_preview()  # what is present has changed
    earlier = st.session_state.get("import_outcome")
    if not done.new and earlier is not None and earlier[0] == file_id:
        return  # a second press on the same file (a double click): keep the first message
    skipped = f", {len(done.rejected):,} rejected skipped" if done.rejected else ""
    message = MSG_IMPORTED.format(
        added=_how_many(len(done.new), "note"), present=f"{len(done.present):,}", skipped=skipped
    )
    st.session_state.import_outcome = (
        file_id,
        Outcome(Kind.SAVED, message) if done.new else Outcome(Kind.NOTHING, MSG_IMPORT_NOTHING),
    )


def render_data() -> None:
    """The Export and import page: download every note, or add notes from a file."""
    st.title("Export and import")
    st.subheader("Export")
    st.caption(
        "Every note in the feed, newest first, with its number, author, created and "
        "updated times (UTC), version, tags and text. To download only a search, an "
        "author or a tag, use Download on the feed."
    )
    _download_buttons("data_export", get_connection(), {"search": "", "author": None, "tag": None})
    st.subheader("Import")
    actor = current_actor()
    if actor is None or not actor.admin:
        st.info(MSG_IMPORT_SIGNED_OUT if actor is None else MSG_IMPORT_NOT_ALLOWED)
        if actor is None:
            _sign_in_buttons("data_sign_in")
        return
    st.caption(MSG_IMPORT_HOW.format(columns=", ".join(EXPORT_COLUMNS)))
    file = st.file_uploader("A CSV or JSON export", type=["csv", "json"], key="import_file")
    outcome = st.session_state.get("import_outcome")
    if file is None:
        _forget_preview()
        return
    preview = _import_preview(file)
    if isinstance(preview, str):
        st.error(_escape_markdown(preview))  # it may quote the file: show it as text
        return
    notes, plan = preview
    if outcome is not None and outcome[0] == file.file_id:
        done: Outcome = outcome[1]
        {Kind.SAVED: st.success, Kind.NOTHING: st.info}.get(done.kind, st.error)(done.message)
    _render_plan(plan)
    if plan.new and st.button(
        f"Import {_how_many(len(plan.new), 'note')}",
        key="import_submit",
        type="primary",
        icon=":material/upload:",
    ):
        _run_import(file.file_id, notes, actor)
        st.rerun()


# Views: About ----------------------------------------------------------------


_OPEN_MODE = (
    "It runs in **open mode**: anyone who opens it can write a note under any"
    " name, edit or delete any note, and restore it from the Trash."
)
_SIGNED_IN_MODE = (
    "It runs in **signed-in mode**: anyone can read; to write, people sign in"
    " with the app's identity provider (OpenID Connect, through Streamlit's"
    " `st.login`), and a note is signed with their name. Only a note's author, or"
    " an admin the operator names, can edit, delete or restore it; only an admin"
    " can delete notes for good."
)


def render_about() -> None:
    """The About page: what the app is and how it is built, its mode and its limits."""
    st.title("About")
    notes = _how_many(_setting("notes_per_minute"), "new note")
    edits = _how_many(_setting("edits_per_minute"), "edit")
    deletes = _how_many(_setting("deletes_per_minute"), "note")
    st.markdown(
        f"""
**Littlest Notes** is a public feed of short markdown notes of up to {CHAR_LIMIT}
characters. {_SIGNED_IN_MODE if signed_in_mode() else _OPEN_MODE}

It is a whole web app in one Python file, `app.py`:

- **Streamlit** draws every page and runs the server;
- **SQLite** (Python's `sqlite3`) keeps the notes in one file, `notes.db`, in WAL
  mode with one connection per server thread, so many people can write at once; or,
  when a database URL is configured, **PostgreSQL** does (through a pool of `psycopg`
  connections), so that several servers share one feed and a redeploy loses nothing;
- the database enforces the app's rules as well (a length cap, no control or
  text-direction characters), keeps counts and history by triggers (on SQLite the
  search index and tags too; on PostgreSQL the app writes them with each note), and
  never reuses the number of a deleted note;
- a full-text index (SQLite's FTS5, or PostgreSQL's `tsvector` with GIN) makes search,
  and keyset paging makes every page of the feed, as fast at a million notes as at a
  hundred.

Nothing is lost: an edit never overwrites someone else's newer edit unseen, every
earlier version is kept in the note's history, and a deleted note waits in the Trash
until the operator purges it (or, signed in, an admin deletes it for good): no visitor
can destroy a note.
Notes are rendered as markdown with raw HTML shown as text, never run; links in notes
go only to http, https and mailto addresses, and images in notes are shown as links,
never loaded.
To keep floods out, each person (counted by browser session, by address and, signed in,
by account; and each author) may save {notes}, make {edits} and delete {deletes} a
minute. A note's author and an admin can always restore an earlier version.
"""
    )
    try:
        db = get_connection()
        stored = _how_many(NoteService.count_notes(db), "note")
        st.caption(f"{stored} stored in {describe_database(db)}.")
    except NotesError as error:
        st.caption(str(error))


# Views: Activity -------------------------------------------------------------
#
# From the store's counts, never the notes, so it costs the same at any size. Each UTC hour
# counts on the reader's day by its middle. Charts are pictures: every figure is in words too.

MSG_NO_ACTIVITY = (
    "No notes yet, so no activity to show. Write the first one on the **Create a Note** page."
)
MSG_NO_RECENT_ACTIVITY = "No notes were written in the last {days} days."
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _local_counts(activity: Activity, zone: zoneinfo.ZoneInfo, first: pd.Timestamp, days: int):
    """Notes per day for `days` days from `first` (local midnight), and per hour of the day."""
    counted = np.array(activity.hours, dtype=np.int64).reshape(-1, 2)
    middles = pd.to_datetime(counted[:, 0] * 3600 + 1800, unit="s", utc=True)
    local = pd.DatetimeIndex(middles).tz_convert(zone).tz_localize(None).as_unit("s").asi8
    day = local // 86400 - int(first.timestamp()) // 86400  # local wall-clock days
    keep = (day >= 0) & (day < days)
    notes = counted[keep, 1]
    per_day = np.bincount(day[keep], weights=notes, minlength=days).astype(np.int64)
    per_hour = np.bincount(local[keep] % 86400 // 3600, weights=notes, minlength=24)
    index = pd.date_range(first, periods=days, freq="D")
    return pd.Series(per_day, index=index), pd.Series(per_hour.astype(np.int64))


def _day_chart(days: pd.Series):
    """A calendar of days (a column a week, Monday on top), darker for more notes."""
    import altair as alt  # only this page draws with Altair

    frame = pd.DataFrame({"notes": days.to_numpy()}, index=days.index)
    frame["date"] = days.index.strftime("%a %d %b %Y")
    monday = days.index - pd.to_timedelta(days.index.day_of_week, unit="D")
    frame["week"] = monday.strftime("%Y-%m-%d")
    frame["weekday"] = [_WEEKDAYS[d] for d in days.index.day_of_week]
    # A week's column is labelled with its month when the month starts in it.
    month_label = "utcdate(toDate(datum.value)) <= 7 ? utcFormat(toDate(datum.value), '%b') : ''"
    return (
        alt.Chart(frame)
        .mark_rect(cornerRadius=2)
        .encode(
            x=alt.X(
                "week:O",
                title=None,
                axis=alt.Axis(labelExpr=month_label, labelAngle=0, ticks=False, domain=False),
            ),
            y=alt.Y("weekday:O", sort=list(_WEEKDAYS), title=None, axis=alt.Axis(domain=False)),
            # a day without notes is a faint grey square in either theme, not a pale green
            color=alt.condition(
                "datum.notes > 0",
                alt.Color("notes:Q", title="notes", scale=alt.Scale(scheme="greens")),
                alt.value("rgba(128, 128, 128, 0.15)"),
            ),
            tooltip=[alt.Tooltip("date:N", title="day"), alt.Tooltip("notes:Q", format=",")],
        )
        .properties(height=170)
    )


def _ranked_links(title: str, ranked: tuple[tuple[str, int], ...], param: str, prefix: str):
    """A ranking (authors or tags) as links to the feed filtered by each, with its count."""
    st.subheader(title)
    if not ranked:
        st.caption("None yet.")
        return
    tip = f"The notes {'tagged' if param == 'tag' else 'by'} this {param}"
    for rank, (name, notes) in enumerate(ranked, start=1):
        shown = rf"\#{_escape_markdown(name)}" if param == "tag" else _escape_markdown(name)
        label = f"{rank}. {shown} · {_how_many(notes, 'note')}"
        with st.container(key=f"{prefix}_{rank}"):
            st.page_link(_feed_page(), label=label, help=tip, query_params={param: name})


def render_activity() -> None:
    """The Activity page: totals, notes per day and hour, the most active authors and tags."""
    st.title("Activity")
    zone = _reader_zone()
    today = datetime.fromtimestamp(time.time(), zone).date()
    first = pd.Timestamp(today) - pd.Timedelta(days=ACTIVITY_DAYS - 1)
    # An hour before the first local midnight: an hour counts on the day of its middle.
    since = int(datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()) - 3600
    activity = NoteService.activity(get_connection(), since, now_timestamp())
    if not activity.notes:
        st.info(MSG_NO_ACTIVITY)
        return
    days, hours = _local_counts(activity, zone, first, ACTIVITY_DAYS)
    recent = int(days.sum())
    st.caption(
        f"Counted as the notes are written; days and hours in your time zone, {zone.key}."
        " Deleted notes do not count."
    )
    with st.container(horizontal=True, key="activity_totals"):
        st.metric("Notes", f"{activity.notes:,}", border=True)
        st.metric("Authors", f"{activity.authors:,}", border=True)
        st.metric("Tags", f"{activity.tags:,}", border=True)
        st.metric(f"Last {ACTIVITY_DAYS} days", f"{recent:,}", border=True)
    st.subheader("Notes per day")
    if not recent:
        st.info(MSG_NO_RECENT_ACTIVITY.format(days=ACTIVITY_DAYS))
    else:
        busiest = days.idxmax()
        summary = (
            f"{_how_many(recent, 'note')} in the last {ACTIVITY_DAYS} days, on"
            f" {int((days > 0).sum()):,} of them; the busiest day was"
            f" {busiest:%A} {busiest.day} {busiest:%B %Y}, with"
            f" {_how_many(int(days.max()), 'note')}."
        )
        st.altair_chart(_day_chart(days), key="activity_days_chart", alt=summary)
        st.markdown(summary)
        months = days.groupby(days.index.to_period("M")).sum()
        with st.expander("Notes per month", key="activity_months"):
            st.table(
                pd.DataFrame({"month": months.index.strftime("%B %Y"), "notes": months.to_numpy()}),
                hide_index=True,
            )
        st.subheader("Busiest hours")
        top = hours.sort_values(ascending=False, kind="stable").head(3)
        busiest_hours = "; ".join(
            f"{hour:02d}:00–{(hour + 1) % 24:02d}:00 ({notes / recent:.0%})"
            for hour, notes in top.items()
            if notes
        )
        summary = f"The hours of the day with the most notes, in your time zone: {busiest_hours}."
        st.bar_chart(
            pd.DataFrame({"hour": [f"{h:02d}" for h in range(24)], "notes": hours.to_numpy()}),
            x="hour",
            y="notes",
            x_label=f"hour of the day ({zone.key})",
            y_label="notes",
            height=220,
            alt=summary,
        )
        st.markdown(summary)
    left, right = st.columns(2)
    with left:
        _ranked_links("Most active authors", activity.top_authors, "author", "activity_author")
    with right:
        _ranked_links("Most used tags", activity.top_tags, "tag", "activity_tag")


###############################################################################
# Web addresses ################################################################
###############################################################################
#
# Beside the pages, `streamlit run app.py` serves these routes (the st.App at the end): the
# feed as Atom, a read-only JSON API, streamed downloads and a health check. All are public
# reading, each request within REQUESTS_PER_MINUTE per client address; Starlette runs each in
# a worker thread. Every response, page or route, carries _SecurityHeaders.

ATOM_ENTRIES = 50  # the newest notes a feed reader gets
API_PAGE_MAX = 100  # the most notes one page of /api/notes holds
REQUESTS_PER_MINUTE = 120  # requests one client address may make to these routes a minute
EXPORTS_AT_ONCE = 2  # downloads streamed at once (each holds a snapshot and a little CPU)
LIVE_READ_S = 1.0  # a live page's answer is read at most this often per process
LIVE_POLLS_PER_MINUTE = 600  # a live feed's polls one address may make (30 open tabs)
MSG_ROUTE_TOO_FAST = "Too many requests from your address. Wait a minute, then try again."
MSG_EXPORTS_BUSY = "Other downloads are running right now. Try again in a minute."
MSG_BAD_NUMBER = "`{name}` must be a note number from 1 to {max}."
MSG_BAD_LIMIT = "`limit` must be a whole number from 1 to {max}."
MSG_BAD_TEXT = "A search or filter cannot hold the character U+0000."
MSG_NO_ADDRESS = "There is nothing at this address."
MSG_ROUTE_FAILED = "The server failed to answer. Try again later."
_XML_UNSAFE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class _BadRequest(NotesError, ValueError):
    """A request's parameter is not one the address takes (HTTP 400)."""


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status, {"Retry-After": "60"} if status > 428 else {})


def _route(path: str, handler: Callable[[Request], Response], limit: int = 0) -> Route:
    """A GET route: handler within the client's REQUESTS_PER_MINUTE for all routes (or its own
    limit); errors are JSON."""

    def endpoint(request: Request) -> Response:
        address = _client_address(request.headers, request.client and request.client.host)
        counted = [f"address {address}"] if address is not None else []
        if _take_turn(path if limit else "request", counted, limit or REQUESTS_PER_MINUTE) is None:
            return _error(429, MSG_ROUTE_TOO_FAST)
        try:
            return handler(request)
        except _BadRequest as error:
            return _error(400, str(error))
        except NoteNotFoundError as error:
            return _error(404, str(error))
        except NotesError as error:
            return _error(503, str(error))
        except Exception:  # logged with its traceback for the operator; the client gets a line
            logging.getLogger(__name__).exception("%s failed", path)
            return _error(500, MSG_ROUTE_FAILED)

    return Route(path, endpoint, methods=["GET"])


def _number(request: Request, name: str, least: int = 1) -> int | None:
    """A query parameter that is a note number (or 0 if least is), None if absent."""
    value = request.query_params.get(name)
    if value is None:
        return None
    if not _DIGITS.fullmatch(value) or not least <= int(value) <= MAX_NOTE_ID:
        raise _BadRequest(MSG_BAD_NUMBER.format(name=name, max=MAX_NOTE_ID))
    return int(value)


def _filters(request: Request) -> dict[str, str | None]:
    """The search and filters in a request, named as in the feed's address (q, author, tag)."""
    filters = {name: request.query_params.get(key) or None for name, key in _FILTER_PARAMS}
    filters["search"] = filters["search"] or ""
    if any("\x00" in (value or "") for value in filters.values()):
        raise _BadRequest(MSG_BAD_TEXT)  # no note holds it, and PostgreSQL refuses to compare it
    return filters


def _plain(body: str, limit: int = 80) -> str:
    """A note's text as one line of plain text, for an entry's title."""
    text = " ".join(html.unescape(nh3.clean(note_html(body), tags=set())).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _atom(request: Request, notes: list[Note], filters: dict, updated: int) -> bytes:
    """The Atom document of notes, newest first: each entry its permalink and safe HTML."""
    base = str(request.base_url)

    def add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str):
        element = ET.SubElement(parent, tag, attributes)
        element.text = text and _XML_UNSAFE.sub("\ufffd", text)  # what XML cannot hold
        return element

    feed = ET.Element("feed", xmlns="http://www.w3.org/2005/Atom")
    add(feed, "title", " ".join(f"Littlest Notes{_view_name(**filters)}".split()))
    itself = _address(f"{base}feed.atom", filters)
    add(feed, "id", itself)
    add(feed, "link", rel="self", href=itself)
    add(feed, "link", rel="alternate", type="text/html", href=_address(base, filters))
    add(feed, "updated", iso_time(updated))
    for note in notes:
        entry, permalink = add(feed, "entry"), f"{base}?note={note.id}"
        add(entry, "id", permalink)
        add(entry, "title", _plain(note.body))
        add(entry, "link", rel="alternate", type="text/html", href=permalink)
        add(add(entry, "author"), "name", note.username)
        add(entry, "published", iso_time(note.created_timestamp))
        add(entry, "updated", iso_time(note.updated_timestamp))
        for tag in extract_tags(note.body):
            add(entry, "category", term=tag)
        add(entry, "content", note_html(note.body), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _feed_atom(request: Request) -> Response:
    """GET /feed.atom: the newest ATOM_ENTRIES notes; 304 when the reader's copy is current."""
    filters = _filters(request)
    notes = NoteService.list_notes(get_connection(), ATOM_ENTRIES, **filters)
    modified = max((note.updated_timestamp for note in notes), default=0)
    body = _atom(request, notes, filters, modified)
    headers = {
        "ETag": f'W/"{hashlib.sha256(body).hexdigest()[:32]}"',
        "Last-Modified": email.utils.formatdate(modified, usegmt=True),
        "Cache-Control": "no-cache",
    }
    asked, since = request.headers.get("if-none-match"), request.headers.get("if-modified-since")
    current = False
    if asked is not None:  # it decides alone when sent (RFC 9110)
        tags = [tag.strip().removeprefix("W/") for tag in asked.split(",")]
        current = "*" in tags or headers["ETag"].removeprefix("W/") in tags
    elif since:
        with suppress(TypeError, ValueError):
            when = email.utils.parsedate_to_datetime(since)
            current = when.tzinfo is not None and when.timestamp() >= modified
    if current:
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers, media_type="application/atom+xml; charset=utf-8")


def _api_records(request: Request, notes: list[Note]) -> list[dict]:
    """Notes as an export's JSON rows, each with its permalink."""
    records = _export_frame(notes, "json").to_dict("records") if notes else []
    return [{**row, "permalink": f"{request.base_url}?note={row['number']}"} for row in records]


def _api_notes(request: Request) -> Response:
    """GET /api/notes: a page of the feed (filters, keyset paging), with links to the next."""
    filters, before = _filters(request), _number(request, "before")
    after = _number(request, "after")
    limit = request.query_params.get("limit", str(FEED_PAGE_SIZE))
    if not _DIGITS.fullmatch(limit) or not 1 <= int(limit) <= API_PAGE_MAX:
        raise _BadRequest(MSG_BAD_LIMIT.format(max=API_PAGE_MAX))
    if before is not None and after is not None:
        raise _BadRequest(MSG_BOTH_BOUNDS)
    listing = functools.partial(NoteService.list_notes, get_connection(), **filters)
    notes = listing(int(limit), before, after)
    page = {"notes": _api_records(request, notes)}
    url = request.url.remove_query_params(["before", "after"])
    if notes and listing(limit=1, before=notes[-1].id):
        page["older"] = str(url.include_query_params(before=notes[-1].id))
    if notes and listing(limit=1, after=notes[0].id):
        page["newer"] = str(url.include_query_params(after=notes[0].id))
    return JSONResponse(page)


def _api_note(request: Request) -> Response:
    """GET /api/notes/{number}: one note."""
    value = request.path_params["number"]
    number = int(value) if _DIGITS.fullmatch(value) and int(value) <= MAX_NOTE_ID else 0
    if not number:
        raise NoteNotFoundError(MSG_NOT_FOUND.format(id=value[:30]))
    note = NoteService.get_note(get_connection(), number)
    return JSONResponse(_api_records(request, [note])[0])


@st.cache_resource(show_spinner=False)
def _live_reads() -> tuple[dict, threading.Lock]:
    """The process's last answer for each live page (its filters and bound), and its lock."""
    return {}, threading.Lock()


def _api_live(request: Request) -> Response:
    """GET /api/live?after=N (and filters): [number, version] of the notes above N, newest
    first, as many as a live page compares (_LIVE_SCRIPT); read at most once a second per
    process for all tabs that ask the same (a listing, never a script run)."""
    filters, after = _filters(request), _number(request, "after", least=0) or 0
    key, (answers, lock) = (after, *filters.values()), _live_reads()
    with lock:  # one read for everyone waiting on it
        when, body = answers.get(key, (-LIVE_READ_S, b""))
        if time.monotonic() - when >= LIVE_READ_S:
            limit = FEED_PAGE_SIZE + LIVE_MAX_NEW + 1
            notes = NoteService.list_notes(get_connection(), limit, after=after, **filters)
            body = json.dumps([[note.id, note.version] for note in notes], separators=(",", ":"))
            if len(answers) >= 10_000:  # pages no one has asked about for a while go
                answers.clear()
            answers[key] = (time.monotonic(), body)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@st.cache_resource(show_spinner=False)
def _exports() -> threading.BoundedSemaphore:
    """The process's turns to stream a download (one object for every session and request)."""
    return threading.BoundedSemaphore(EXPORTS_AT_ONCE)


def _export(request: Request) -> Response:
    """GET /export.{csv,json,md}: every note the filters show, streamed as it is read from one
    snapshot (memory stays flat); a client that leaves stops it at its next batch."""
    fmt = request.path_params["format"]
    if fmt not in EXPORT_FORMATS:
        return _error(404, MSG_NO_ADDRESS)
    filters, turns = _filters(request), _exports()
    name = f"littlest-notes-{time.strftime('%Y-%m-%d', time.gmtime())}.{fmt}"
    file = {
        "media_type": f"{EXPORT_FORMATS[fmt]}; charset=utf-8",
        "headers": {"Content-Disposition": f'attachment; filename="{name}"'},
    }
    if request.method == "HEAD":  # (a streamed body would be read whole, then dropped)
        return Response(**file)
    if not turns.acquire(blocking=False):
        return _error(503, MSG_EXPORTS_BUSY)
    parts = _streamed(turns, fmt, filters)
    first = next(parts)  # the snapshot opened: a database fault is still an error response
    # Ended, or the client left: the background task closes it and its turn is back.
    return StreamingResponse(
        itertools.chain([first], parts), **file, background=BackgroundTask(parts.close)
    )


def _streamed(turns: threading.BoundedSemaphore, fmt: str, filters: dict) -> Iterator[bytes]:
    """An export's bytes, read on a connection of its own (worker threads take turns at it);
    the turn is given back when it ends or is dropped."""
    try:
        source = _database()
        db = source if isinstance(source, Postgres) else connect(source, threads=True)
        try:
            encode = codecs.getincrementalencoder(EXPORT_ENCODINGS[fmt])().encode
            for part in export_parts(db, fmt, **filters):
                yield encode(part)
        finally:
            if db is not source:
                db.close()
    finally:
        turns.release()


def _healthz(request: Request) -> Response:
    """GET /healthz: 200 if the database answers, else 503 (no details)."""
    try:
        NoteService.count_notes(get_connection())
    except NotesError:
        return PlainTextResponse("unavailable", 503)
    return PlainTextResponse("ok")


def _inline_scripts() -> list[str]:
    """Every inline script a page runs: Streamlit's page's own and the app's constant ones."""
    page = (Path(st.__file__).parent / "static" / "index.html").read_text(encoding="utf-8")
    sources = (page, _COUNTER_SCRIPT, _SCROLL_TO_TOP.format(turn=0), _LIVE_SCRIPT, _LINK_SCRIPT)
    scripts = (re.findall(r"<script[^>]*>(.*?)</script>", text, re.S) for text in sources)
    return [script for found in scripts for script in found if script.strip()]


_SCRIPT_HASHES = " ".join(
    f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
    for script in _inline_scripts()
)
_FRAME_SOURCES = re.compile(r"'none'|('self'|[\w*.:/-]+)( ('self'|[\w*.:/-]+))*")


def _security_headers(host: str) -> list[tuple[bytes, bytes]]:
    """The headers every response carries. The page runs only its own scripts and the app's
    (by hash), loads nothing from elsewhere (no tracking image from a note), and is framed only
    where `frame_ancestors` says (default none; Community Cloud frames an app on its own host)."""
    ancestors = _secrets().get("frame_ancestors")
    if not (isinstance(ancestors, str) and _FRAME_SOURCES.fullmatch(ancestors)):
        ancestors = "'self'" if host.endswith(".streamlit.app") else "'none'"
    policy = (
        f"default-src 'self'; script-src 'self' {_SCRIPT_HASHES}; style-src 'self' 'unsafe-inline';"
        f" img-src 'self'; font-src 'self' data:; connect-src 'self'; object-src 'none';"
        f" base-uri 'self'; frame-ancestors {ancestors}"
    )
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]


_FEED_LINK = '<head><link rel="alternate" type="application/atom+xml" href="{}">'


class _SecurityHeaders:
    """ASGI middleware: _security_headers on every response, and the page's head names the
    Atom feed of the filters in its address, for feed readers' discovery."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").partition(":")[0]
        ours = _security_headers(host)
        names = {name for name, _ in ours}
        held: list[dict] = []  # the page's HTML, until its last part

        async def sending(message: dict) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message["headers"] if k.lower() not in names]
                message = {**message, "headers": kept + ours}
                page = (b"content-type", b"text/html; charset=utf-8") in kept
                if page and message["status"] == 200 and scope["method"] == "GET":
                    held.append(message)
                    return
            elif held:
                held.append(message)
                if message.get("more_body"):
                    return
                params = dict(urllib.parse.parse_qsl(scope["query_string"].decode("latin-1")))
                asked = {name: params.get(key) for name, key in _FILTER_PARAMS}
                link = _FEED_LINK.format(html.escape(_address("./feed.atom", asked)))
                body = b"".join(part.get("body", b"") for part in held[1:])
                body = body.replace(b"<head>", link.encode(), 1)
                start = held[0]
                start["headers"] = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                start["headers"].append((b"content-length", str(len(body)).encode()))
                await send(start)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        await self.app(scope, receive, sending)


ROUTES = [
    _route("/feed.atom", _feed_atom),
    _route("/api/notes", _api_notes),
    _route("/api/notes/{number}", _api_note),
    _route("/api/live", _api_live, LIVE_POLLS_PER_MINUTE),
    _route("/export.{format}", _export),
    Route("/healthz", _healthz, methods=["GET"]),
]
MIDDLEWARE = [Middleware(_SecurityHeaders)]

if __name__ != "__main__":  # imported by `streamlit run` (which serves `app`), or by tests
    app = st.App(__file__, routes=ROUTES, middleware=MIDDLEWARE)


###############################################################################
# Entry point ##################################################################
###############################################################################


def pages() -> list[st.Page]:
    """Return the app's pages in sidebar order, each at its own URL."""

    def page(render: Callable[[], None], title: str, icon: str, url_path: str) -> st.Page:
        return st.Page(render, title=title, icon=f":material/{icon}:", url_path=url_path)

    return [
        _feed_page(),
        page(render_create, "Create a Note", "edit_note", "create"),
        _update_page(),
        page(render_delete, "Delete a Note", "delete", "delete"),
        page(render_trash, "Trash", "restore_from_trash", "trash"),
        page(render_activity, "Activity", "insights", "activity"),
        page(render_data, "Export and import", "import_export", "data"),
        page(render_about, "About", "info", "about"),
    ]


# Served by the app itself: a ":material/...:" icon comes from fonts.gstatic.com, and an
# emoji or SVG one is a data: URL that a Content-Security-Policy of img-src 'self' refuses.
_FAVICON = Path(__file__).with_name("favicon.png")


def main() -> None:
    """Build the sidebar navigation and run the chosen page."""
    # Before st.navigation, which would otherwise make the page's icon the favicon.
    st.set_page_config(page_icon=str(_FAVICON) if _FAVICON.is_file() else "🗒️")
    page = st.navigation(pages(), position="sidebar")
    note = _query_int("note") if page.url_path == "" else None  # "" is the feed's path
    title = page.title if note is None else f"Note #{note}"  # a permalink's tab names it
    st.set_page_config(page_title=f"{title} · Littlest Notes")  # calls add up: adds the title
    # Style-only, so it takes no room; once per run, not per note (a dialog keeps it).
    st.html(_NOTE_CSS)
    st.html(_LINK_SCRIPT, unsafe_allow_javascript=True)
    try:
        _render_account(current_actor())
        for problem in _bad_settings():
            st.sidebar.warning(problem)
        page.run()
    except NotesError as error:  # a database fault: say so in the page, not as a traceback
        st.error(str(error))


def _whole(low: int, high: int, error: str) -> Callable[[str], int]:
    """An argparse type: up to 18 ASCII digits (a minus only if low < 0), from low to high."""

    def parse(text: str) -> int:
        import argparse

        digits = "-?[0-9]{1,18}" if low < 0 else "[0-9]{1,18}"
        if not re.fullmatch(digits, text.strip()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(error)
        return int(text)

    return parse


def _target(text: str) -> str | Path:
    """Parse --db, --to and --from: a postgresql:// URL, else a file path (argparse type)."""
    return text if is_database_url(text) else Path(text)


def _label(target: str | Path) -> str:
    """Name a database for the terminal: a file's path, or host/database (never a password)."""
    if is_database_url(target):
        try:
            return f"PostgreSQL {_pg_url_parts(str(target))[0]}"
        except StorageError:
            return "PostgreSQL (a malformed URL)"
    return str(target)


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int | None], None]]:
    """Yield progress(done, total): a one-line bar on stderr if a terminal, ended with the block."""
    shown = False

    def progress(done: int, total: int | None) -> None:
        nonlocal shown
        if total is None:  # a search or tag: how many is known only at the end
            sys.stderr.write(f"\r{what} {done:,} rows")
        else:
            width, share = 30, done / max(total, 1)
            bar = "#" * round(width * share)
            sys.stderr.write(f"\r{what} [{bar:<{width}}] {share:4.0%} {done:,}/{total:,} rows")
        sys.stderr.flush()
        shown = True

    try:
        yield progress if sys.stderr.isatty() else lambda done, total: None
    finally:
        if shown:
            sys.stderr.write("\n")


_DB_FILES = ("", "-wal", "-shm", "-journal")  # a SQLite database's files


def _copy(source: str | Path, target: str | Path, replace: bool) -> str:
    """The copy command: source to target; return what to print (a file it made goes on failure)."""
    for url in filter(is_database_url, (source, target)):
        _pg_url_parts(str(url))  # a malformed URL says so, not that two of them are the same
    files = not is_database_url(source) and not is_database_url(target)
    same = files and Path(target).exists() and Path(source).resolve() == Path(target).resolve()
    if same or _label(source) == _label(target):
        raise StorageError(MSG_COPY_SAME)
    made = not is_database_url(target) and not Path(target).exists()
    started = time.perf_counter()
    try:
        with (
            _progress("copying") as progress,
            closing(open_database(source, read_only=True)) as src,
            closing(open_database(target)) as dst,
        ):
            totals = copy_database(src, dst, replace=replace, progress=progress)
    except BaseException:
        if made:
            for suffix in _DB_FILES:
                with suppress(OSError):
                    os.unlink(f"{target}{suffix}")
        raise
    took = time.perf_counter() - started
    return f"copied {totals} from {_label(source)} to {_label(target)} in {took:.1f} s"


def _purge(conn: Database, target: str | Path, older_than: int | None, yes: bool) -> int:
    """The purge command: show what will go, ask, then delete exactly that."""
    before = None if older_than is None else now_timestamp() - older_than * 86_400
    ids = NoteService.trash_ids(conn, deleted_before=before)
    # --older-than 0 is every trashed note: no "over 0 days ago"
    which = f"deleted over {_how_many(older_than, 'day')} ago" if older_than else "in the trash"
    if not ids:
        print(f"{_label(target)}: no notes {which}; nothing to purge")
        return 0
    what = f"{_how_many(len(ids), 'note')} {which} (#{ids[0]} to #{ids[-1]})"
    if not yes:
        if not sys.stdin.isatty():
            raise StorageError(f"purge would delete {what} for good; add --yes to confirm")
        answer = input(f"Delete {what} and their history for good from {_label(target)}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing was purged")
            return 1
    purged = NoteService.purge_notes(conn, ids, actor=OPERATOR)
    print(f"purged {_how_many(purged, 'note')} and their history from {_label(target)}")
    return 0


MSG_EXPORT_OVER_DATABASE = "'{path}' is the database itself; export to another file."
MSG_EXPORT_EXISTS = "'{path}' already exists; export to a new file, or add --force to replace it."


def _export(db: Database, path: str, fmt: str | None, filters: dict, force: bool = False) -> str:
    """The export command: notes to path (- for stdout), never over the database's files, nor
    another file unless force (a failure leaves it as it was); return what to print."""
    if path != "-" and Path(path).exists():
        ends = () if isinstance(db, Postgres) else _DB_FILES
        files = [Path(f"{_db_name(db)}{end}") for end in ends]
        if any(file.exists() and file.samefile(path) for file in files):  # links too
            raise StorageError(MSG_EXPORT_OVER_DATABASE.format(path=path))
        if not force:
            raise StorageError(MSG_EXPORT_EXISTS.format(path=path))
    fmt = fmt or Path(path).suffix.lower().lstrip(".")
    fmt = fmt if fmt in EXPORT_FORMATS else "csv"
    started = time.perf_counter()
    with _progress("exporting") as progress:
        if path == "-":
            count = export_notes(db, sys.stdout, fmt, progress=progress, **filters)
        else:
            with _partial(Path(path)) as partial:
                with open(partial, "w", encoding=EXPORT_ENCODINGS[fmt], newline="") as out:
                    count = export_notes(db, out, fmt, progress=progress, **filters)
                os.replace(partial, path)
    took = time.perf_counter() - started
    where = "standard output" if path == "-" else path
    return f"exported {_how_many(count, 'note')} as {fmt} to {where} in {took:.1f} s"


def _import(db: Database, path: Path, skip_rejected: bool, label: str) -> int:
    """The import command: print each rejected row as one line on stderr and import
    nothing if there are any (unless skip_rejected); return the exit code."""
    notes = read_notes_file(path.read_bytes(), path.name)
    how = "skipped" if skip_rejected else "error"
    for row in notes.rejected:
        print(f"{how}: {path.name} {row.line}: {row.reason}", file=sys.stderr)
    if notes.rejected and not skip_rejected:
        rows = _how_many(len(notes.rejected), "rejected row")
        print(
            f"error: nothing imported: {rows} (--skip-rejected imports the rest)", file=sys.stderr
        )
        return 1
    with _progress("importing") as progress:
        done = import_notes(db, notes, actor=OPERATOR, progress=progress)
    skipped = f", {len(notes.rejected):,} rejected rows skipped" if notes.rejected else ""
    print(
        f"imported {_how_many(len(done.new), 'note')} from {path} into {label}"
        f" ({len(done.present):,} already present{skipped})"
    )
    return 0


def cli(argv: list[str]) -> int:
    """The command line (docs/features.md): every failure is one line on stderr and a non-zero
    exit code, never a traceback nor a password (databases are named by host/database)."""
    import argparse  # only the command line needs it

    parser = argparse.ArgumentParser(
        prog="python app.py",
        description="Littlest Notes maintenance (the app itself: streamlit run app.py).",
    )
    parser.add_argument(
        "--db",
        type=_target,
        help="database: a file, or a postgresql:// URL"
        " (default: $NOTES_DATABASE_URL, else $NOTES_DB, else notes.db)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    seed = commands.add_parser("seed", help="add demo notes")
    count = _whole(1, SEED_MAX_COUNT, f"must be a whole number from 1 to {SEED_MAX_COUNT:,}")
    seed.add_argument("--count", type=count, default=1000, help=f"1 to {SEED_MAX_COUNT:,}")
    number = _whole(-(10**18), 10**18, "must be a whole number")
    seed.add_argument("--seed", type=number, default=0, help="random seed (same seed, same notes)")
    commands.add_parser("stats", help="print note counts and the database size (read-only)")
    commands.add_parser("vacuum", help="optimise the search index and compact the database")
    commands.add_parser("migrate", help="upgrade an existing database to this app's schema")
    backup = commands.add_parser("backup", help="copy the live SQLite file, consistently, to PATH")
    backup.add_argument("path", type=Path)
    commands.add_parser("check", help="check the file, search index and counts (read-only)")
    copy = commands.add_parser(
        "copy",
        help="copy every note, its history and the trash to (or from) another database",
    )
    direction = copy.add_mutually_exclusive_group(required=True)
    direction.add_argument("--to", type=_target, help="copy --db into this file or URL")
    direction.add_argument("--from", dest="source", type=_target, help="copy this into --db")
    copy.add_argument(
        "--replace", action="store_true", help="delete what the target holds first (asked for)"
    )
    export = commands.add_parser("export", help="write the notes to a CSV, JSON or Markdown file")
    export.add_argument("path", help="the file to write (- for standard output)")
    export.add_argument(
        "--format", choices=list(EXPORT_FORMATS), help="default: from PATH's suffix, else csv"
    )
    export.add_argument("--search", default="", help="only notes matching these words")
    export.add_argument("--author", help="only notes by this author")
    export.add_argument("--tag", help="only notes with this #tag (without the #)")
    export.add_argument("--force", action="store_true", help="replace PATH if it exists")
    import_ = commands.add_parser(
        "import", help="add the notes of a CSV or JSON export (all or nothing)"
    )
    import_.add_argument("path", type=Path)
    import_.add_argument(
        "--skip-rejected", action="store_true", help="import the good rows of a file with bad ones"
    )
    purge = commands.add_parser("purge", help="delete trashed notes for good, after a prompt")
    purge.add_argument(
        "--older-than",
        type=_whole(0, 100_000, "must be a whole number of days from 0 to 100,000"),
        metavar="DAYS",
        help="only notes deleted this many days ago",
    )
    purge.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    args = parser.parse_args(argv)
    target = args.db if args.db else _target(str(resolve_database(os.environ)))
    name = _label(target)
    # How each command opens the database (opening upgrades the schema); copy opens its own.
    only = {"create": False}  # an existing database only
    opening = {"seed": {}, "import": {}, "vacuum": only, "purge": only, "migrate": only}
    try:
        if args.command == "copy":
            source, destination = (target, args.to) if args.to else (args.source, target)
            print(_copy(source, destination, args.replace))
        else:
            how = opening.get(args.command, {"read_only": True})
            with closing(open_database(target, **how)) as conn:
                if args.command == "migrate":
                    print(f"{name}: schema version {SCHEMA_VERSION}")
                elif args.command == "seed":
                    started = time.perf_counter()
                    seed_notes(conn, args.count, args.seed)
                    took = time.perf_counter() - started
                    print(f"added {_how_many(args.count, 'note')} in {took:.1f} s to {name}")
                elif args.command == "vacuum":
                    vacuum_database(conn)
                    print(f"optimised and compacted {name}")
                elif args.command == "import":
                    return _import(conn, args.path, args.skip_rejected, name)
                elif args.command == "export":
                    filters = {"search": args.search, "author": args.author, "tag": args.tag}
                    done = _export(conn, args.path, args.format, filters, args.force)
                    print(done, file=sys.stderr if args.path == "-" else sys.stdout)
                elif args.command == "purge":
                    return _purge(conn, target, args.older_than, args.yes)
                elif args.command == "stats":
                    sql = "SELECT pg_database_size(current_database()) AS n"
                    pg = isinstance(conn, Postgres)
                    size = _read(conn, sql)[0]["n"] if pg else Path(target).stat().st_size
                    print(f"{name}: {database_totals(conn)}, {size / 1e6:.1f} MB")
                elif args.command == "backup":
                    if isinstance(conn, Postgres):
                        raise StorageError(MSG_BACKUP_POSTGRES)
                    backup_database(conn, args.path)
                    print(f"backed up {target} to {args.path}")
                else:
                    report = check_database(conn)
                    for line in report.problems + report.unchecked:
                        print(line)
                    verdict = "problems in" if report.problems else "ok:"
                    print(f"{verdict} {name}: {database_totals(conn)}")
                    return 1 if report.problems else 0
    # Faults no message foresaw (text that is not UTF-8, an OS or server error): one line too.
    except (NotesError, *_SQLITE_FAULTS, OSError, psycopg.Error) as error:
        print(f"error: {_redacted(str(error), argv)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; nothing was written", file=sys.stderr)
        return 130
    return 0


def _redacted(text: str, argv: list[str]) -> str:
    """text with any password of a URL on the command line or in the environment starred."""
    for value in [*argv, os.environ.get("NOTES_DATABASE_URL", "")]:
        if is_database_url(value):
            with suppress(StorageError):
                password = _pg_url_parts(value)[1]
                if password:
                    text = text.replace(password, "***")
    return text.splitlines()[0] if text else text


if __name__ == "__main__":  # `python app.py`: the command line (the app returned at the top)
    sys.exit(cli(sys.argv[1:]))
