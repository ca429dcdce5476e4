"""What a second attack found (issue 19), each finding re-run and refused: numbers an import
keeps, huge numbers in a file, an admin by a string, floods from one address, a vandal who
locks the author out, exports and previews that outlive their session, an export over the
database, a sign-in that outlives its sign-out, and the database's own length rule."""

from __future__ import annotations

import json
from contextlib import closing

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import app
from app import Actor, NoteService
from tests.conftest import (
    BOTH_BACKENDS,
    TEST_ADMIN,
    TEST_AUTH,
    TEST_ISSUER,
    _page_script,
    messages,
    pages_on_sqlite,
    sql,
)

NOW = 1_700_000_000
ALICE = Actor(name="Alice", subject="alice", issuer=TEST_ISSUER)

backend = pages_on_sqlite()


def as_file(rows: list[dict]) -> app.NotesFile:
    return app.read_notes_file(json.dumps(rows).encode(), "notes.json")


def row(**extra) -> dict:
    return {"author": "mallory", "body": "imported", "created": "2026-01-01T00:00:00Z", **extra}


# 1. Kept numbers ---------------------------------------------------------------------


@BOTH_BACKENDS
def test_an_imported_number_past_the_kept_limit_is_a_rejected_row_and_notes_go_on(empty_db):
    notes = as_file([row(number=app.MAX_NOTE_ID)])
    assert notes.rows == []
    assert [(r.line, r.reason) for r in notes.rejected] == [
        (
            "note 1",
            f"number '{app.MAX_NOTE_ID}' is not a whole number from 1 to 9,007,199,254,740,991",
        )
    ]
    app.import_notes(empty_db, notes, actor=app.OPERATOR)
    assert NoteService.create_note(empty_db, "ann", "still works").id == 2  # after welcome


@BOTH_BACKENDS
def test_the_largest_kept_number_still_leaves_the_feed_its_numbers(empty_db):
    app.import_notes(empty_db, as_file([row(number=app.MAX_KEPT_NUMBER)]), actor=app.OPERATOR)
    assert NoteService.get_note(empty_db, app.MAX_KEPT_NUMBER).body == "imported"
    assert NoteService.create_note(empty_db, "ann", "next").id == app.MAX_KEPT_NUMBER + 1
    assert app.check_database(empty_db).problems == []


@BOTH_BACKENDS
def test_check_reports_a_database_close_to_running_out_of_numbers(empty_db, backend):
    high = app.MAX_NOTE_ID - 10
    if backend == "sqlite":
        sql(empty_db, "UPDATE sqlite_sequence SET seq = ? WHERE name = 'notes'", (high,))
    else:
        sql(empty_db, "SELECT setval('notes_id_seq', :n, true)", {"n": high})
    [problem] = app.check_database(empty_db).problems
    assert problem.startswith(f"note numbers: #{high:,} was given out, so only 10 new numbers")


# 7. Numbers of thousands of digits -----------------------------------------------------

HUGE = "9" * 5000


JSON_ROW = '[{"author": "ann", "body": "hi", "created": "2026-01-01", %s}]'


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.csv", f"author,body,created,number\nann,hi,2026-01-01,{HUGE}\n".encode()),
        ("notes.csv", f"author,body,created,version\nann,hi,2026-01-01,{HUGE}\n".encode()),
        ("notes.json", (JSON_ROW % f'"number": {HUGE}').encode()),
        ("notes.json", (JSON_ROW % f'"version": "{HUGE}"').encode()),
        ("notes.json", (JSON_ROW % f'"updated": {HUGE}').encode()),
    ],
)
def test_a_number_of_thousands_of_digits_is_a_rejected_row_not_an_exception(name, data):
    notes = app.read_notes_file(data, name)
    assert notes.rows == []
    [rejected] = notes.rejected
    assert rejected.line in ("line 2", "note 1")
    assert len(rejected.reason) < 200  # the digits are cut, not quoted whole


def test_the_import_command_names_a_row_of_thousands_of_digits_in_one_line(tmp_path, capsys):
    path = tmp_path / "notes.csv"
    path.write_text(f"author,body,created,number\nann,hi,2026-01-01,{HUGE}\n")
    assert app.cli(["--db", str(tmp_path / "notes.db"), "import", str(path)]) == 1
    err = capsys.readouterr().err
    assert "notes.csv line 2: number '99999" in err and "Traceback" not in err


# 2. Admin only with a real true --------------------------------------------------------


def signed_in(page: str | None, user: dict, secrets: dict | None = None) -> AppTest:
    """One page (or, None, the whole app with its sidebar) signed in as user."""
    if page is None:
        at = AppTest.from_file(app.APP_DIR / "app.py", default_timeout=30)
    else:
        at = AppTest.from_function(_page_script, default_timeout=30, args=(page,))
    at.secrets["auth"] = TEST_AUTH
    for key, value in ({"admins": ["root@example.com"]} if secrets is None else secrets).items():
        at.secrets[key] = value
    at.user = {"is_logged_in": True, "iss": TEST_ISSUER, **user}
    return at.run()


@pytest.fixture
def pages(db_target, monkeypatch):
    monkeypatch.setenv(
        "NOTES_DATABASE_URL" if app.is_database_url(db_target) else "NOTES_DB", str(db_target)
    )
    yield
    st.cache_resource.clear()


@pytest.mark.parametrize("verified", ["false", "true", None, 1, "absent"])
def test_an_admins_address_is_not_enough_unless_the_provider_says_true(pages, verified):
    user = {**TEST_ADMIN, "email_verified": verified}
    if verified == "absent":
        del user["email_verified"]
    at = signed_in("data", user)
    assert [m.value for m in at.info] == [app.MSG_IMPORT_NOT_ALLOWED]
    assert not at.get("file_uploader")
    assert not at.exception


def test_an_admin_verified_with_true_may_import(pages):
    at = signed_in("data", TEST_ADMIN)
    assert at.get("file_uploader") and not at.info


def test_an_admin_named_by_issuer_and_subject_needs_no_verified_address(pages):
    user = {"name": "Root", "sub": "root-42"}  # a provider that sends no email claims
    named = {"admin_subjects": [{"issuer": TEST_ISSUER, "subject": "root-42"}]}
    assert signed_in("data", user, named).get("file_uploader")
    other_issuer = {"admin_subjects": [{"issuer": "https://elsewhere/", "subject": "root-42"}]}
    assert not signed_in("data", user, other_issuer).get("file_uploader")


# 3. Open mode: export only, and limits per address --------------------------------------


def open_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_function(_page_script, default_timeout=30, args=(page,))
    at.query_params.update(query or {})
    return at.run()


def test_in_open_mode_the_page_offers_export_only_and_the_store_refuses_an_import(pages, empty_db):
    at = open_page("data")
    assert [m.value for m in at.info] == [app.MSG_IMPORT_NOT_ALLOWED]
    assert not at.get("file_uploader") and at.get("link_button")
    with pytest.raises(app.NotAllowedError, match="Only an admin"):
        app.import_notes(empty_db, as_file([row()]), actor=app.VISITOR)
    assert NoteService.count_notes(empty_db) == 0


@pytest.fixture
def one_address(monkeypatch):
    """Every session comes from 203.0.113.7, as if through a proxy that says so."""
    monkeypatch.setattr(app, "_client_address", lambda headers, ip: "203.0.113.7")


@BOTH_BACKENDS
def test_new_sessions_and_new_names_from_one_address_share_the_note_limit(
    pages, empty_db, one_address
):
    saved = 0
    for session in range(4):  # a new session every 3 notes, a new name each time
        at = open_page("create")
        for number in range(3):
            at.text_input(key="create_username").set_value(f"sock{session}-{number}")
            at.text_area(key="create_body").set_value(f"flood {session} {number}")
            at.button(key="create_submit").click().run()
            saved += not at.error
    assert saved == NoteService.count_notes(empty_db) == app.NOTES_PER_MINUTE
    assert messages(at)["error"] == [app.MSG_TOO_MANY_NOTES.format(count="10 notes")]
    assert not at.exception


def test_sessions_from_one_address_share_the_delete_limit(pages, empty_db, one_address):
    for number in range(25):
        NoteService.create_note(empty_db, "carol", f"note {number}", now=NOW)
    for _ in range(3):  # three sessions, each trying to delete 10
        at = open_page("delete")
        for _ in range(10):
            at.checkbox(key="delete_confirm").check().run()
            at.button(key="delete_submit").click().run()
    assert messages(at)["error"] == [app.MSG_TOO_MANY_DELETES.format(count="20 notes")]
    assert app.database_totals(empty_db).trash == app.DELETES_PER_MINUTE


def test_one_session_editing_many_different_notes_is_limited(pages, empty_db, one_address):
    ids = [NoteService.create_note(empty_db, "dan", f"note {n}", now=NOW).id for n in range(12)]
    at = open_page("update")
    edited = 0
    for id in ids:
        at.number_input(key="update_number").set_value(id).run()
        at.text_area(key="update_body").set_value(f"vandalised {id}")
        at.button(key="update_submit").click().run()
        edited += not at.error
    assert edited == app.EDITS_PER_MINUTE
    assert messages(at)["error"] == [app.MSG_TOO_MANY_EDITS.format(count="10 edits")]
    assert NoteService.get_note(empty_db, ids[-1]).body == f"note {len(ids) - 1}"


def test_an_ipv6_client_counts_as_its_whole_64(monkeypatch):
    monkeypatch.setattr(app, "_secrets", lambda: {})
    seen = []
    for peer in ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", "2001:db8:1:3::1", "198.51.100.4"):
        seen.append(app._client_address({}, peer))
    assert seen == ["2001:db8:1:2::/64", "2001:db8:1:2::/64", "2001:db8:1:3::/64", "198.51.100.4"]
    assert app._client_address({}, "127.0.0.1") is None  # the server's own machine
    # A dual-stack server's view of IPv4 clients: each its own, the machine's own still none.
    assert app._client_address({}, "::ffff:198.51.100.4") == "198.51.100.4"
    assert app._client_address({}, "::ffff:203.0.113.9") == "203.0.113.9"
    assert app._client_address({}, "::ffff:127.0.0.1") is None
    assert app._client_address({}, "::1") is None


def test_behind_a_proxy_the_named_header_s_last_address_counts(monkeypatch):
    monkeypatch.setattr(app, "_secrets", lambda: {"client_ip_header": "X-Forwarded-For"})
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}  # the client wrote the first
    assert app._client_address(headers, "10.0.0.2") == "203.0.113.7"


# 4. A vandal cannot lock the author out -------------------------------------------------


def test_a_vandals_edits_do_not_stop_another_person_restoring_the_note(
    pages, empty_db, monkeypatch
):
    note = NoteService.create_note(empty_db, "gina", "the original")
    monkeypatch.setattr(app, "_client_address", lambda headers, ip: "198.51.100.66")
    vandal = open_page("update", {"note": str(note.id)})
    for number in range(12):
        vandal.text_area(key="update_body").set_value(f"vandalised {number}")
        vandal.button(key="update_submit").click().run()
    assert NoteService.get_note(empty_db, note.id).version == 1 + app.EDITS_PER_MINUTE
    monkeypatch.setattr(app, "_client_address", lambda headers, ip: "203.0.113.7")
    author = open_page("update", {"note": str(note.id)})
    author.button(key="update_restore_1").click().run()
    assert not author.error
    assert NoteService.get_note(empty_db, note.id).body == "the original"


def test_a_signed_in_author_restores_whatever_her_own_edit_count(pages, empty_db):
    note = NoteService.create_note(empty_db, "", "her original", actor=ALICE)
    alice = {"name": "Alice", "sub": "alice", "email": "alice@example.com"}
    at = signed_in("update", alice, {"edits_per_minute": 2})
    at.number_input(key="update_number").set_value(note.id).run()
    for number in range(3):
        at.text_area(key="update_body").set_value(f"draft {number}")
        at.button(key="update_submit").click().run()
    assert messages(at)["error"] == [app.MSG_TOO_MANY_EDITS.format(count="2 edits")]
    at.button(key="update_restore_1").click().run()
    assert not at.error
    assert NoteService.get_note(empty_db, note.id).body == "her original"


# 5. Work that ends with its session -----------------------------------------------------


def test_a_third_session_previewing_an_import_is_told_to_wait(pages, empty_db):
    data = b"author,body,created\nann,hello,2026-01-01T10:00:00Z\n"
    sessions = [signed_in("data", TEST_ADMIN) for _ in range(3)]
    for at in sessions:
        at.file_uploader(key="import_file").set_value(("notes.csv", data, "text/csv")).run()
    assert [bool(at.metric) for at in sessions] == [True, True, False]
    assert [m.value.replace("\\", "") for m in sessions[2].error] == [app.MSG_IMPORT_BUSY]
    sessions[0].file_uploader(key="import_file").set_value(None).run()  # removed: freed
    sessions[2].run()
    assert sessions[2].metric and not sessions[2].error


# 6. export never over the database, nor over a file without --force ---------------------


def test_export_refuses_to_write_over_the_database_it_reads(tmp_path, capsys):
    db_file = tmp_path / "notes.db"
    with closing(app.open_database(db_file)) as db:
        NoteService.create_note(db, "ann", "keep me")
    for args in ([str(db_file)], [str(db_file), "--force"], [f"{db_file}-wal", "--force"]):
        assert app.cli(["--db", str(db_file), "export", *args, "--format", "csv"]) == 1
        assert "is the database itself" in capsys.readouterr().err
    with closing(app.open_database(db_file)) as db:
        assert [n.body for n in NoteService.list_notes(db)] == ["keep me", app.WELCOME_BODY]


def test_export_replaces_an_existing_file_only_with_force(tmp_path, capsys):
    db_file, out = tmp_path / "notes.db", tmp_path / "old.csv"
    app.open_database(db_file).close()
    out.write_text("yesterday\n")
    assert app.cli(["--db", str(db_file), "export", str(out)]) == 1
    assert "already exists" in capsys.readouterr().err and out.read_text() == "yesterday\n"
    assert app.cli(["--db", str(db_file), "export", str(out), "--force"]) == 0
    assert out.read_text(encoding="utf-8-sig").startswith("number,author")


# 8. Sign-out revokes the sign-ins before it ---------------------------------------------

BOB = {"name": "Bob", "sub": "bob", "email": "bob@example.com"}


@BOTH_BACKENDS
def test_a_sign_in_from_before_a_sign_out_writes_nothing(pages, empty_db):
    NoteService.record_sign_out(empty_db, Actor(name="Bob", subject="bob", issuer=TEST_ISSUER), NOW)
    for issued in (NOW - 86_400, NOW, None):  # the copied cookie, the same second, no iat
        at = signed_in("create", {**BOB, **({} if issued is None else {"iat": issued})})
        assert [m.value for m in at.info] == [app.MSG_SIGN_IN_PAGE]
        assert not at.get("text_area") and not at.exception
    fresh = signed_in("create", {**BOB, "iat": NOW + 5})  # signed in again since
    fresh.text_area(key="create_body").set_value("bob again")
    fresh.button(key="create_submit").click().run()
    assert [n.body for n in NoteService.list_notes(empty_db)] == ["bob again"]


def test_signing_out_records_when(pages, empty_db):
    at = signed_in(None, {**BOB, "iat": NOW})
    at.button(key="sign_out").click().run()
    stamp = NoteService.signed_out_at(empty_db, TEST_ISSUER, "bob")
    assert stamp is not None and stamp >= NOW


# 9. The database's own rule: 140 ASCII code points -------------------------------------


def write_raw(db, username: str, body: str) -> None:
    """Insert a note past the app's checks, as another writer would."""
    with app._write(db) as tx:
        note = {"created_timestamp": NOW, "updated_timestamp": NOW}
        app._insert_notes(tx, [{**note, "username": username, "body": body}])


@pytest.mark.parametrize("column", ["username", "body"])
@BOTH_BACKENDS
def test_the_database_refuses_ascii_text_over_140_from_another_writer(empty_db, column):
    values = {"username": "ann", "body": "ok", column: "x" * 141}
    with pytest.raises(app.InvalidNoteError):
        write_raw(empty_db, **values)
    note = NoteService.create_note(empty_db, "ann", "short")
    with pytest.raises(app.InvalidNoteError):
        sql(
            empty_db,
            f"UPDATE notes SET {column} = :v WHERE id = :id",
            {"v": "y" * 141, "id": note.id},
        )
    assert NoteService.get_note(empty_db, note.id).body == "short"
    assert NoteService.count_notes(empty_db) == 1


@BOTH_BACKENDS
def test_the_database_still_takes_text_of_more_code_points_than_characters(empty_db):
    write_raw(empty_db, "ann", "e\u0301" * 70 + "x")  # 141 code points, 71 characters
    assert NoteService.count_notes(empty_db) == 1
