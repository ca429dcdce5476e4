"""Notes as files (issue 12): export to CSV, JSON and Markdown, import from CSV and JSON,
on both backends, and the `export` and `import` commands."""

from __future__ import annotations

import csv
import io
import json
import threading
from contextlib import closing

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app
from app import OPERATOR, NoteService
from tests.conftest import all_notes, query_plan, run_cli, sql, statements_of, stored_rows

NOW = 1_790_000_000
# Hostile but valid text: everything a CSV or JSON writer must quote or escape, and
# every cell a spreadsheet would run as a formula.
HOSTILE = [
    ("zoë 👩‍👩‍👧‍👦", "emoji 🎉 and accents: café, naïve, 日本語 #Café"),
    ('bob "the quote"', "quotes \"double\" and 'single', commas, and\ttabs"),
    ("carol, inc.", "line one\nline two\n\nline four with a #tag"),
    ("=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","click")'),
    ("+plus", "+1 and -1"),
    ("-minus", "- a list item"),
    ("@at", "@SUM(A1:A9)"),
    ("'apostrophe", "'quoted start and a trailing apostrophe'"),
    ("dave", "a\\backslash, a /slash/ and </script>"),
]


def fill(db) -> list[app.Note]:
    """HOSTILE notes, one edited (version 2, updated after created); return them all."""
    for n, (username, body) in enumerate(HOSTILE):
        NoteService.create_note(db, username, body, now=NOW + n * 60)
    first = NoteService.list_notes(db, limit=100)[-1]
    NoteService.update_note(db, first.id, first.username, first.body + " (edited)", now=NOW + 999)
    return all_notes(db)


def exported(db, fmt: str = "csv", **filters) -> str:
    out = io.StringIO()
    app.export_notes(db, out, fmt, **filters)
    return out.getvalue()


def as_file(text: str, fmt: str = "csv") -> app.NotesFile:
    return app.read_notes_file(text.encode(), f"notes.{fmt}", now=NOW + 10_000)


@pytest.fixture
def other_db(backend, tmp_path, request):
    """A second new database on the same backend, with its welcome note deleted."""
    if backend == "sqlite":
        db = app.open_database(tmp_path / "other.db")
    else:
        cluster = request.getfixturevalue("pg_cluster")
        name = cluster.create_database(template=request.getfixturevalue("pg_template"))
        db = app.open_database(cluster.url(name))
    sql(db, "DELETE FROM notes")
    yield db
    db.close()
    if backend != "sqlite":
        cluster.drop_database(name)


# Export ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_then_import_into_an_empty_database_gives_back_exactly_the_same_notes(
    empty_db, other_db, fmt
):
    notes = fill(empty_db)
    plan = app.import_notes(other_db, as_file(exported(empty_db, fmt), fmt), actor=OPERATOR)
    assert (len(plan.new), len(plan.present), plan.rejected) == (len(HOSTILE), 0, [])
    assert all_notes(other_db) == notes  # numbers, times, versions, text
    assert NoteService.count_notes(other_db, "carol, inc.") == 1
    assert [n.id for n in NoteService.list_notes(other_db, tag="tag")] == [
        n.id for n in NoteService.list_notes(empty_db, tag="tag")
    ]
    assert NoteService.list_notes(other_db, search="naïve")[0].username == "zoë 👩‍👩‍👧‍👦"


def test_a_new_note_after_an_import_that_kept_numbers_gets_the_next_number(empty_db, other_db):
    notes = fill(empty_db)
    app.import_notes(other_db, as_file(exported(empty_db)), actor=OPERATOR)
    assert NoteService.create_note(other_db, "eve", "after the import").id == notes[0].id + 1


def test_csv_cells_that_a_spreadsheet_would_run_are_written_as_text(empty_db):
    fill(empty_db)
    text = exported(empty_db)
    records = list(csv.DictReader(io.StringIO(text)))
    assert len(records) == len(HOSTILE)
    for record in records:
        for cell in record.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    by_author = {record["author"]: record["body"] for record in records}
    assert by_author["'=cmd|' /C calc'!A0"] == '\'=HYPERLINK("http://evil.example","click")'
    assert by_author["'-minus"] == "'- a list item"
    assert by_author["''apostrophe"] == "''quoted start and a trailing apostrophe'"
    assert by_author["zoë 👩‍👩‍👧‍👦"].startswith("emoji")  # nothing else is touched


def test_the_csv_export_reads_back_in_pandas_with_the_issues_columns_in_utc(empty_db):
    notes = fill(empty_db)
    frame = pd.read_csv(io.StringIO(exported(empty_db)), dtype=str, keep_default_na=False)
    assert list(frame.columns) == [
        "number",
        "author",
        "created",
        "updated",
        "version",
        "tags",
        "body",
    ]
    newest = frame.iloc[0]
    assert int(newest["number"]) == notes[0].id
    assert newest["created"] == "2026-09-21T14:21:20Z"  # NOW + 8 minutes, in UTC
    edited = frame[frame["version"] == "2"].iloc[0]
    assert edited["updated"] == "2026-09-21T14:29:59Z"
    assert frame[frame["author"] == "carol, inc."].iloc[0]["tags"] == "#tag"


def test_the_json_export_is_one_valid_json_list_with_tags_as_lists(empty_db):
    fill(empty_db)
    notes = json.loads(exported(empty_db, "json"))
    assert len(notes) == len(HOSTILE)
    assert set(notes[0]) == set(app.EXPORT_COLUMNS)
    tagged = next(n for n in notes if n["author"] == "zoë 👩‍👩‍👧‍👦")
    assert tagged["tags"] == ["café"]
    formula = next(n for n in notes if n["author"] == HOSTILE[3][0])
    assert formula["body"] == HOSTILE[3][1]  # JSON text is never escaped for spreadsheets


def test_an_empty_feed_exports_a_header_an_empty_list_and_a_title(empty_db):
    assert exported(empty_db, "csv") == ",".join(app.EXPORT_COLUMNS) + "\n"
    assert json.loads(exported(empty_db, "json")) == []
    assert exported(empty_db, "md").startswith("# Littlest Notes")


def test_the_markdown_export_quotes_each_body_under_its_own_heading(empty_db):
    fill(empty_db)
    text = exported(empty_db, "md")
    assert text.count("\n## Note ") == len(HOSTILE)
    assert "> line one\n> line two\n>\n> line four with a #tag" in text
    assert "carol\\, inc\\." in text  # an author's markdown is shown, not run
    assert "\n# " not in text.split("\n", 1)[1]  # no note can start a heading of its own


@pytest.mark.parametrize(
    "filters",
    [{"search": "line"}, {"author": "dave"}, {"tag": "café"}, {"search": "more", "tag": "café"}],
)
def test_an_export_holds_exactly_what_the_feed_shows_for_its_filters_across_batches(
    empty_db, monkeypatch, filters
):
    fill(empty_db)
    for n in range(7):
        NoteService.create_note(empty_db, "dave", f"more line {n} and #café", now=NOW + 3000 + n)
    monkeypatch.setattr(app, "EXPORT_BATCH", 3)  # several keyset batches
    shown = NoteService.list_notes(empty_db, limit=1000, **filters)
    rows = list(csv.DictReader(io.StringIO(exported(empty_db, **filters))))
    assert [int(row["number"]) for row in rows] == [note.id for note in shown]
    assert len(shown) > 3


def test_an_unknown_export_format_is_refused(empty_db):
    with pytest.raises(ValueError, match="csv, json or md"):
        exported(empty_db, "xlsx")


# Import: the preview -------------------------------------------------------------


def test_the_preview_counts_new_present_and_rejected_rows_with_their_lines(empty_db):
    NoteService.create_note(empty_db, "ann", "already here", now=NOW)
    text = (
        "author,body,created\n"
        "ann,already here,2026-09-21T14:13:20Z\n"  # line 2: present
        'bo,"two\nlines",2026-09-21T14:13:20Z\n'  # lines 3-4: new
        ",no author,2026-09-21T14:13:20Z\n"  # line 5
        'cy,"=HYPERLINK(""http://x"")",2026-09-21T14:13:20Z\n'  # line 6
        "di,bad time,yesterday\n"  # line 7
        f"ed,{'x' * 141},2026-09-21T14:13:20Z\n"  # line 8
        "fay,too many,2026-09-21T14:13:20Z,extra\n"  # line 9
        'bo,"two\nlines",2026-09-21T14:13:20Z\n'  # lines 10-11: the same as line 3
    )
    plan = app.plan_import(empty_db, as_file(text))
    assert [row.line for row in plan.new] == ["line 3"]
    assert [row.line for row in plan.present] == ["line 2", "line 10"]
    reasons = {r.line: r.reason for r in plan.rejected}
    assert list(reasons) == ["line 5", "line 6", "line 7", "line 8", "line 9"]
    assert reasons["line 5"].startswith("Username is empty")
    assert "formula" in reasons["line 6"]
    assert reasons["line 7"] == "created 'yesterday' is not a time like 2026-11-26T07:15:13Z"
    assert reasons["line 8"].startswith("Note is 141 characters; the limit is 140")
    assert reasons["line 9"] == "the row has 4 fields; the header has 3"
    assert NoteService.count_notes(empty_db) == 1  # a preview writes nothing


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("a,b,2026-01-01,2025-01-01,,", "updated 2025-01-01T00:00:00Z is before created"),
        ("a,b,2999-01-01,,,", "created 2999-01-01 is before 1970 or too far in the future"),
        ("a,b,1969-12-31,,,", "created 1969-12-31 is before 1970"),
        ("a,b,2026-01-01,,0,", "version '0' is not a whole number"),
        ("a,b,2026-01-01,,1.5,", "version '1.5' is not a whole number"),
        ("a,b,2026-01-01,,,-3", "number '-3' is not a whole number"),
        ("a,b,2026-01-01,,,²", "number '²' is not a whole number"),
        ("a,b,=NOW(),,,", "created '=NOW()' is not a time"),
        ("a,\u202eexe.pdf,2026-01-01,,,", "text-direction control"),
        ("a,\u200b,2026-01-01,,,", "Note has no visible character"),
        ("@a,b,2026-01-01,,,", "Author starts with @, which a spreadsheet runs as a formula"),
    ],
)
def test_each_bad_row_is_rejected_with_a_reason_a_person_can_act_on(row, reason):
    notes = as_file(f"author,body,created,updated,version,number\n{row}\n")
    assert notes.rows == []
    assert notes.rejected[0].line == "line 2"
    assert reason in notes.rejected[0].reason


def test_times_with_an_offset_or_without_a_zone_are_read_as_the_same_moment():
    notes = as_file(
        "author,body,created\n"
        "a,b,2026-01-01T12:00:00Z\na,c,2026-01-01T13:00:00+01:00\na,d,2026-01-01 12:00:00\n"
    )
    assert {row.created_timestamp for row in notes.rows} == {1_767_268_800}


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"", "notes.csv", "The file is empty"),
        (b"  \n\n", "notes.csv", "The file is empty"),
        (b"PK\x03\x04\x00\x00binary", "notes.csv", "holds binary data"),
        ("author,body,created\nzoë,b,2026\n".encode("latin-1"), "notes.csv", "not UTF-8"),
        ("author,body\n".encode("utf-16"), "notes.csv", "not UTF-8"),
        (b"author,body\nx,y\n", "notes.csv", "no created column"),
        (b"author,body,created,colour\n", "notes.csv", "does not know: 'colour'"),
        (b"author,body,created,body\n", "notes.csv", "the column body twice"),
        (b'author,body,created\nx,"unclosed,2026\n', "notes.csv", "not valid CSV"),
        (b"<html><body>Not found</body></html>", "notes.csv", "columns this app does not know"),
        (b"number,author,body\n", "notes.csv", "no created column"),
        (b'{"author": "x"}', "notes.json", "must be a list of notes"),
        (b'[{"author": "x",', "notes.json", "not valid JSON"),
        (b"[" * 100_000, "notes.json", "not valid JSON"),
        (b"author,body,created\n", "notes.xlsx", "is not a .csv or .json file"),
        (
            b'[{"author": "x", "body": "y", "created": "2026", "secret": 1}]',
            "notes.json",
            "'secret'",
        ),
    ],
)
def test_a_file_that_is_not_an_export_is_refused_as_a_whole_with_a_clear_message(
    data, name, message
):
    with pytest.raises(app.InvalidFileError, match=message.replace("(", r"\(")):
        app.read_notes_file(data, name)


def test_json_notes_that_are_not_objects_are_rejected_by_position():
    notes = as_file('[{"author": "a", "body": "b", "created": "2026-01-01"}, 7, ["x"]]', "json")
    assert len(notes.rows) == 1
    assert [(r.line, r.reason) for r in notes.rejected] == [
        ("note 2", app.MSG_ROW_NOT_OBJECT),
        ("note 3", app.MSG_ROW_NOT_OBJECT),
    ]


def test_json_values_of_the_wrong_type_are_rejected_not_crashed_on():
    notes = as_file(
        '[{"author": 5, "body": "b", "created": "2026-01-01"},'
        ' {"author": "a", "body": "b", "created": 1767225600},'
        ' {"author": "a", "body": "b", "created": "2026-01-01", "version": true}]',
        "json",
    )
    assert notes.rows == []
    assert [r.reason.split(" ")[0] for r in notes.rejected] == ["Username", "created", "version"]


def test_a_file_with_more_rows_than_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(app, "IMPORT_MAX_ROWS", 2)
    with pytest.raises(app.InvalidFileError, match="more than 2 notes"):
        as_file("author,body,created\na,1,2026-01-01\na,2,2026-01-01\na,3,2026-01-01\n")


# Import: writing -------------------------------------------------------------------


def test_importing_the_same_file_twice_adds_its_notes_once(empty_db, other_db):
    fill(empty_db)
    text = exported(empty_db, "json")
    first = app.import_notes(other_db, as_file(text, "json"), actor=OPERATOR)
    again = app.import_notes(other_db, as_file(text, "json"), actor=OPERATOR)
    assert (len(first.new), len(again.new), len(again.present)) == (len(HOSTILE), 0, len(HOSTILE))
    assert NoteService.count_notes(other_db) == len(HOSTILE)


def test_an_import_into_a_feed_that_used_the_numbers_gives_new_ones_oldest_first(empty_db):
    NoteService.create_note(empty_db, "ann", "mine", now=NOW)
    text = (
        "number,author,body,created\n"
        "2,bo,newer,2026-09-21T15:00:00Z\n"
        "1,bo,older,2026-09-21T14:00:00Z\n"
    )
    app.import_notes(empty_db, as_file(text), actor=OPERATOR)
    ann = NoteService.list_notes(empty_db, author="ann")[0]
    assert [(n.id, n.body) for n in NoteService.list_notes(empty_db, author="bo")] == [
        (ann.id + 2, "newer"),
        (ann.id + 1, "older"),
    ]


def test_an_import_is_all_or_nothing_when_the_database_fails_in_the_middle(empty_db, monkeypatch):
    NoteService.create_note(empty_db, "ann", "before", now=NOW)
    rows = "".join(f"bo,note {n},2026-09-21T14:00:0{n}Z\n" for n in range(5))
    notes = as_file("author,body,created\n" + rows)
    monkeypatch.setattr(app, "IMPORT_BATCH", 2)
    insert, calls = app._insert_notes, []

    def failing(tx, batch):
        calls.append(len(batch))
        if len(calls) == 2:  # the second batch: the first is already written
            raise app.StorageError("The disk is full, so nothing was saved.")
        return insert(tx, batch)

    monkeypatch.setattr(app, "_insert_notes", failing)
    with pytest.raises(app.StorageError):
        app.import_notes(empty_db, notes, actor=OPERATOR)
    assert calls == [2, 2]
    assert [n.body for n in all_notes(empty_db)] == ["before"]
    assert NoteService.count_notes(empty_db) == 1


def test_a_row_the_database_refuses_in_the_middle_undoes_the_whole_import(empty_db, monkeypatch):
    notes = as_file("author,body,created\n" + "".join(f"bo,n{n},2026-01-01\n" for n in range(5)))
    bad = app.ImportRow("line 4", "bo", " padded ", 1_767_225_600, 1_767_225_600, 1, None)
    rows = [*notes.rows[:2], bad, *notes.rows[2:]]  # past the checks, as a bug would be
    with pytest.raises(app.InvalidNoteError):
        app.import_notes(empty_db, app.NotesFile("csv", rows, []), actor=OPERATOR)
    assert all_notes(empty_db) == []


def test_two_imports_of_one_file_at_once_add_its_notes_once(empty_db, db_target):
    text = "author,body,created\n" + "".join(f"bo,n{n},2026-01-01\n" for n in range(300))
    barrier, done = threading.Barrier(2), []

    def run() -> None:
        db = app.open_database(db_target)  # a connection (or pool) of its own, as a tab
        try:
            barrier.wait()
            done.append(len(app.import_notes(db, as_file(text), actor=OPERATOR).new))
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(done) == [0, 300]
    assert NoteService.count_notes(empty_db) == 300


def test_rejected_rows_are_skipped_and_the_rest_imported_in_one_go(empty_db):
    notes = as_file(
        "author,body,created\na,ok,2026-01-01\n,empty,2026-01-01\nb,ok too,2026-01-02\n"
    )
    calls = []
    done = app.import_notes(
        empty_db, notes, actor=OPERATOR, progress=lambda d, t: calls.append((d, t))
    )
    assert [n.body for n in all_notes(empty_db)] == ["ok too", "ok"]
    assert (len(done.new), len(done.rejected), calls) == (2, 1, [(2, 2)])


def test_only_an_admin_may_import_when_people_sign_in(empty_db):
    notes = as_file("author,body,created\nsomeone else,hello,2026-01-01\n")
    person = app.Actor(name="Bob", subject="bob", issuer="https://id.example")
    with pytest.raises(app.NotAllowedError, match="Only an admin, signed in, can import"):
        app.import_notes(empty_db, notes, actor=person)
    with pytest.raises(app.NotAllowedError, match="Only an admin, signed in, can import"):
        app.import_notes(empty_db, notes, actor=None)
    with pytest.raises(app.NotAllowedError, match="Only an admin, signed in, can import"):
        app.import_notes(empty_db, notes, actor=app.VISITOR)  # open mode: the page's anyone
    assert all_notes(empty_db) == []
    admin = app.Actor(name="Root", subject="root", issuer="https://id.example", admin=True)
    assert len(app.import_notes(empty_db, notes, actor=admin).new) == 1


texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=60
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(username=texts, body=texts, fmt=st.sampled_from(["csv", "json"]))
def test_any_note_the_form_accepts_survives_an_export_and_import(sqlite_db, username, body, fmt):
    try:
        username, body = app.validate_note(username, body)
    except app.InvalidNoteError:
        return  # the form refuses it: nothing to export
    note = NoteService.create_note(sqlite_db, username, body, now=NOW)
    text = exported(sqlite_db, fmt, author=username)
    rows = [row for row in as_file(text, fmt).rows if row.number == note.id]
    assert [(row.username, row.body, row.created_timestamp) for row in rows] == [
        (username, body, NOW)
    ]


# The command line --------------------------------------------------------------------


def test_the_export_and_import_commands_round_trip_a_feed(tmp_path):
    source, target = tmp_path / "source.db", tmp_path / "target.db"
    with closing(app.open_database(source)) as db:
        fill(db)
    for fmt in ("csv", "json"):
        out = tmp_path / f"notes.{fmt}"
        result = run_cli("--db", str(source), "export", str(out))
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"exported {len(HOSTILE) + 1} notes as {fmt} to ")
        result = run_cli("--db", str(target), "import", str(out))
        assert result.returncode == 0, result.stderr
    assert "imported 0 notes" in result.stdout  # the JSON held the same notes as the CSV
    assert f"({len(HOSTILE) + 1} already present)" in result.stdout
    with closing(app.open_database(source)) as a, closing(app.open_database(target)) as b:
        mine = {(n.username, n.body, n.created_timestamp) for n in all_notes(a)}
        theirs = {(n.username, n.body, n.created_timestamp) for n in all_notes(b)}
        assert mine <= theirs  # and target's own welcome note


def test_export_to_standard_output_in_markdown_with_a_filter(tmp_path):
    db_file = tmp_path / "notes.db"
    with closing(app.open_database(db_file)) as db:
        fill(db)
    result = run_cli("--db", str(db_file), "export", "-", "--format", "md", "--author", "dave")
    assert result.returncode == 0
    assert result.stdout.count("## Note ") == 1
    assert "exported 1 note as md to standard output" in result.stderr


def test_import_of_a_file_with_bad_rows_names_each_and_imports_nothing(tmp_path):
    db_file, bad = tmp_path / "notes.db", tmp_path / "bad.csv"
    bad.write_text("author,body,created\na,fine,2026-01-01\n,empty,2026-01-01\nb,ok,later\n")
    result = run_cli("--db", str(db_file), "import", str(bad))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "error: bad.csv line 3: Username is empty. Enter the name to post under.",
        "error: bad.csv line 4: created 'later' is not a time like 2026-11-26T07:15:13Z",
        "error: nothing imported: 2 rejected rows (--skip-rejected imports the rest)",
    ]
    with closing(app.open_database(db_file)) as db:
        assert [n.username for n in all_notes(db)] == [app.WELCOME_USERNAME]
    result = run_cli("--db", str(db_file), "import", str(bad), "--skip-rejected")
    assert result.returncode == 0
    assert "imported 1 note from" in result.stdout and "2 rejected rows skipped" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or directory"),
        (b"\x00\x01binary", "holds binary data"),
        (b"name,text\n", "columns this app does not know: 'name', 'text'"),
    ],
)
def test_import_of_a_file_that_cannot_be_read_is_one_line_and_exit_1(tmp_path, content, message):
    path = tmp_path / "notes.csv"
    if content is not None:
        path.write_bytes(content)
    result = run_cli("--db", str(tmp_path / "notes.db"), "import", str(path))
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr


def test_export_into_a_missing_folder_is_one_line_and_leaves_no_file(tmp_path):
    db_file = tmp_path / "notes.db"
    app.open_database(db_file).close()
    result = run_cli("--db", str(db_file), "export", str(tmp_path / "no" / "such" / "x.csv"))
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1 and "No such file or directory" in result.stderr


def test_a_failed_export_leaves_an_earlier_export_as_it_was(tmp_path, monkeypatch):
    db_file, out = tmp_path / "notes.db", tmp_path / "notes.csv"
    out.write_text("yesterday's export\n")

    def disk_full(db, text, fmt, **filters):
        text.write("number,author\n1,half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(app, "export_notes", disk_full)
    with closing(app.open_database(db_file)) as db, pytest.raises(OSError):
        app._export(db, str(out), None, {}, force=True)
    assert out.read_text() == "yesterday's export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv", "notes.db"]


def test_the_export_file_opens_in_a_spreadsheet_as_utf8(tmp_path):
    db_file, out = tmp_path / "notes.db", tmp_path / "notes.csv"
    with closing(app.open_database(db_file)) as db:
        fill(db)
    assert run_cli("--db", str(db_file), "export", str(out)).returncode == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbfnumber,")  # the BOM Excel looks for
    assert app.read_notes_file(out.read_bytes(), out.name).rejected == []


# The pages (AppTest) -----------------------------------------------------------------

GOOD_AND_BAD = (
    b"author,body,created\n"
    b"ann,hello from a file,2026-01-01T10:00:00Z\n"
    b'bo,"=HYPERLINK(""http://evil.example"")",2026-01-01T10:00:00Z\n'
    b"cy,second good one,2026-01-02T10:00:00Z\n"
)


def upload(at, name: str, data: bytes):
    at.file_uploader(key="import_file").set_value((name, data, "text/csv"))
    return at.run()


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_import_page_previews_a_file_then_imports_it_once(app_test, fresh_db):
    at = upload(app_test("data", admin=True), "notes.csv", GOOD_AND_BAD)
    assert metrics(at) == {"Will be added": "2", "Already here": "0", "Rejected": "1"}
    assert "1 row cannot be imported" in at.warning[0].value
    rejected = at.dataframe[0].value
    assert rejected["Row"].tolist() == ["line 3"]
    assert "formula" in rejected["Reason"][0]
    assert NoteService.count_notes(fresh_db) == 1  # the preview wrote nothing
    at.button(key="import_submit").click().run()
    assert at.success[0].value.startswith("Imported 2 notes (0 already here, 1 rejected skipped)")
    assert metrics(at) == {"Will be added": "0", "Already here": "2", "Rejected": "1"}
    assert not [b for b in at.button if b.key == "import_submit"]  # nothing left to import
    assert {n.body for n in all_notes(fresh_db)} >= {
        "hello from a file",
        "second good one",
    }
    assert NoteService.count_notes(fresh_db) == 3
    assert not at.exception


def test_a_second_import_of_the_same_file_in_another_tab_adds_nothing(app_test, fresh_db):
    first, second = (
        upload(app_test("data", admin=True), "notes.csv", GOOD_AND_BAD) for _ in range(2)
    )
    first.button(key="import_submit").click().run()
    second.button(key="import_submit").click().run()  # its preview is older than the import
    assert second.info[0].value == app.MSG_IMPORT_NOTHING
    assert NoteService.count_notes(fresh_db) == 3
    assert not first.exception and not second.exception


@pytest.mark.parametrize("backend", ["sqlite"])  # chattr +i on the file
def test_an_import_the_database_refuses_is_an_error_and_adds_nothing(app_test, immutable_db):
    at = upload(app_test("data", admin=True), "notes.csv", GOOD_AND_BAD)
    at.button(key="import_submit").click().run()
    assert not at.exception
    assert [m.value for m in at.error] == [app.MSG_DB_READ_ONLY]
    assert not at.success and not at.info
    assert len(stored_rows(immutable_db)) == 3


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.csv", b"\x89PNG\r\n\x1a\n\x00\x00", "holds binary data"),
        ("notes.csv", "author,body,created\nzoë,b,2026\n".encode("cp1252"), "not UTF-8"),
        ("notes.csv", b"title,text\n", "columns this app does not know"),
        ("notes.json", b"{not json", "not valid JSON"),
    ],
)
def test_a_malformed_file_gets_a_clear_message_and_changes_nothing(
    app_test, fresh_db, name, data, message
):
    at = upload(app_test("data", admin=True), name, data)
    assert message in at.error[0].value.replace("\\", "")  # (shown escaped)
    assert not at.metric and not [b for b in at.button if b.key == "import_submit"]
    assert NoteService.count_notes(fresh_db) == 1
    assert not at.exception


def test_the_feed_offers_a_download_of_everything_or_of_what_it_shows(app_test, fresh_db):
    NoteService.create_note(fresh_db, "ann", "one #tagged note")
    pages = {
        str(query): app_test("read", query)
        for query in ({}, {"author": "ann"}, {"tag": "tagged"}, {"q": "note"})
    }
    for at in pages.values():  # Download opened: it is built only while open
        assert [b.proto.label for b in at.get("link_button")] == ["Atom feed"]
        at.session_state["feed_export"] = True
        at.run()
    assert not any(at.exception for at in pages.values())
    links = {
        query: next((b.proto.label, b.proto.url) for b in at.get("link_button"))
        for query, at in pages.items()
    }
    assert links == {
        "{}": ("Download all 2 notes", "/export.csv"),
        "{'author': 'ann'}": ("Download 1 note by this author", "/export.csv?author=ann"),
        "{'tag': 'tagged'}": (app.MSG_EXPORT_FILTERED, "/export.csv?tag=tagged"),
        "{'q': 'note'}": (app.MSG_EXPORT_FILTERED, "/export.csv?q=note"),
    }


def test_an_upload_with_more_rows_than_the_page_checks_is_refused_and_names_the_limit(
    app_test, fresh_db, monkeypatch
):
    monkeypatch.setattr(app, "IMPORT_PAGE_MAX_ROWS", 5)
    at = upload(
        app_test("data", admin=True),
        "notes.csv",
        b"author,body,created\n" + b"a,b,2026-01-01\n" * 6,
    )
    assert not at.exception
    assert at.error[0].value.startswith("The file has more than 5 notes")
    assert not [b for b in at.button if b.key == "import_submit"]
    assert NoteService.count_notes(fresh_db) == 1


def test_a_files_own_text_in_a_message_is_shown_as_plain_text(app_test):
    at = upload(
        app_test("data", admin=True),
        "notes.csv",
        b"author,body,created,[click](http://evil.example)\n",
    )
    assert "\\[click\\]\\(http" in at.error[0].value  # escaped: no link is drawn
    assert not at.exception


@pytest.mark.parametrize(
    ("one_author", "plan"), [(True, "USING INDEX notes_by_author"), (False, "SCAN notes")]
)
def test_sqlite_finds_the_notes_already_present_the_cheaper_way(sqlite_db, one_author, plan):
    app.seed_notes(sqlite_db, 500)  # 300 authors
    mine = [n for n in NoteService.list_notes(sqlite_db, 500) if n.username != app.WELCOME_USERNAME]
    rows = [n for n in mine if n.username == mine[0].username] if one_author else mine
    text = "author,body,created\n" + "".join(
        f'"{n.username}","{n.body}",{app.iso_time(n.created_timestamp)}\n' for n in rows
    )
    notes = app.read_notes_file(text.encode(), "notes.csv")
    sent = statements_of(sqlite_db, lambda: app.plan_import(sqlite_db, notes))
    lookup = next(s for s, _ in sent if "created_timestamp IN" in s)
    assert plan in query_plan(sqlite_db, lookup)
    assert len(app.plan_import(sqlite_db, notes).present) == len(rows)


def test_an_import_into_a_new_copy_keeps_its_numbers_and_the_welcome_note_gives_way(fresh_db):
    source = (
        "number,author,created,body\n"
        "1,ann,2026-01-01T10:00:00Z,first\n3,bob,2026-01-02T10:00:00Z,third\n"
    )
    plan = app.import_notes(fresh_db, as_file(source), actor=OPERATOR)
    assert len(plan.new) == 2
    assert [(n.id, n.username, n.body) for n in all_notes(fresh_db)] == [
        (3, "bob", "third"),
        (1, "ann", "first"),
    ]
    assert NoteService.count_notes(fresh_db) == 2 and not NoteService.list_notes(
        fresh_db, search="welcome"
    )
    assert NoteService.create_note(fresh_db, "eve", "next").id == 4


def test_a_welcome_note_someone_edited_stays_and_an_import_takes_new_numbers(fresh_db):
    NoteService.update_note(fresh_db, 1, app.WELCOME_USERNAME, "my own first note")
    source = "number,author,created,body\n1,ann,2026-01-01T10:00:00Z,first\n"
    app.import_notes(fresh_db, as_file(source), actor=OPERATOR)
    assert [(n.id, n.body) for n in all_notes(fresh_db)] == [(2, "first"), (1, "my own first note")]
