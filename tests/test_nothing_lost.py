"""Edit conflicts, trash and undo, history, and faults: nothing is ever lost.

Every test taking fresh_db, empty_db or seeded_db (and the model of the whole service)
runs on SQLite and on PostgreSQL. A full disk, an immutable file and SQLite's traced
query plans run on SQLite alone (SQLITE_ONLY, or sqlite_db); the trash's plan on
PostgreSQL is its own test.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import app
from app import ConflictError, NoteNotFoundError, NoteService, StorageError
from tests.conftest import (
    all_notes,
    purge_note,
    query_plan,
    sent_to_postgresql,
    sql,
    statements_of,
    stored_rows,
    trash_count,
)

# A test-level parametrize of `backend` overrides conftest's parametrised fixture: the
# test (and db_target, seeded_db... under it) runs once, on that backend.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])


def test_an_update_from_a_stale_version_is_refused_and_the_other_edit_survives(seeded_db):
    seen = NoteService.get_note(seeded_db, 3)
    NoteService.update_note(seeded_db, 3, "bob", "bob's edit", version=seen.version)
    with pytest.raises(ConflictError) as caught:
        NoteService.update_note(seeded_db, 3, "alice", "alice's edit", version=seen.version)
    assert caught.value.current.body == "bob's edit"
    assert str(caught.value).startswith("Note #3 was changed by someone else")
    assert NoteService.get_note(seeded_db, 3).body == "bob's edit"


def test_an_update_of_a_note_deleted_meanwhile_is_not_found(seeded_db):
    seen = NoteService.get_note(seeded_db, 3)
    NoteService.delete_note(seeded_db, 3)
    with pytest.raises(NoteNotFoundError):
        NoteService.update_note(seeded_db, 3, "bob", "too late", version=seen.version)


def test_a_delete_from_a_stale_version_is_refused(seeded_db):
    seen = NoteService.get_note(seeded_db, 3)
    NoteService.update_note(seeded_db, 3, "bob", "changed meanwhile")
    with pytest.raises(ConflictError):
        NoteService.delete_note(seeded_db, 3, version=seen.version)
    assert NoteService.get_note(seeded_db, 3).body == "changed meanwhile"


def test_each_edit_bumps_the_version_and_keeps_the_old_one(seeded_db):
    NoteService.update_note(seeded_db, 3, "bob", "v2", now=1_800_000_000)
    NoteService.update_note(seeded_db, 3, "robert", "v3", now=1_800_000_100)
    assert NoteService.get_note(seeded_db, 3).version == 3
    history = NoteService.note_history(seeded_db, 3)
    assert [(h.version, h.username, h.body) for h in history] == [
        (2, "bob", "v2"),
        (1, "bob", "second note"),
    ]
    assert history[0].updated_timestamp == 1_800_000_000


def test_restoring_an_earlier_version_is_a_new_edit(seeded_db):
    NoteService.update_note(seeded_db, 3, "bob", "v2")
    restored = NoteService.restore_version(seeded_db, 3, 1, version=2)
    assert (restored.version, restored.body) == (3, "second note")
    assert [h.version for h in NoteService.note_history(seeded_db, 3)] == [2, 1]


def test_a_deleted_note_goes_to_the_trash_and_restores_with_its_number_and_times(seeded_db):
    NoteService.update_note(seeded_db, 3, "bob", "edited before delete", now=1_800_000_000)
    before = NoteService.get_note(seeded_db, 3)
    NoteService.delete_note(seeded_db, 3)
    assert 3 not in [row[0] for row in stored_rows(seeded_db)]
    assert [n.id for n in NoteService.list_trash(seeded_db)] == [3]
    assert NoteService.list_notes(seeded_db, search="edited") == []
    assert NoteService.count_notes(seeded_db) == 2
    assert NoteService.restore_note(seeded_db, 3) == before
    assert NoteService.get_note(seeded_db, 3) == before
    assert [n.id for n in NoteService.list_notes(seeded_db, search="edited")] == [3]
    assert NoteService.count_notes(seeded_db) == 3
    assert NoteService.list_trash(seeded_db) == []


def test_a_restored_note_keeps_its_tags(empty_db):
    note = NoteService.create_note(empty_db, "alice", "about #gardens")
    NoteService.delete_note(empty_db, note.id)
    assert NoteService.list_notes(empty_db, tag="gardens") == []
    NoteService.restore_note(empty_db, note.id)
    assert NoteService.list_notes(empty_db, tag="gardens") == [note]


def test_purging_removes_a_note_and_its_history_for_good(seeded_db):
    NoteService.update_note(seeded_db, 3, "bob", "v2")
    NoteService.delete_note(seeded_db, 3)
    purge_note(seeded_db, 3, actor=app.OPERATOR)
    assert NoteService.note_history(seeded_db, 3) == []
    assert NoteService.list_trash(seeded_db) == []
    with pytest.raises(NoteNotFoundError, match="is not in the trash"):
        NoteService.restore_note(seeded_db, 3)
    with pytest.raises(NoteNotFoundError):
        purge_note(seeded_db, 3, actor=app.OPERATOR)


def test_purging_one_note_never_empties_the_trash_even_given_none(seeded_db):
    for note_id in (2, 3):
        NoteService.delete_note(seeded_db, note_id)
    with pytest.raises(NoteNotFoundError):
        purge_note(seeded_db, None, actor=app.OPERATOR)  # a stray None used to mean "all"
    assert [n.id for n in NoteService.list_trash(seeded_db)] == [3, 2]


def test_a_purge_removes_exactly_the_notes_listed_and_their_history(seeded_db):
    NoteService.update_note(seeded_db, 2, "alice", "v2")
    NoteService.update_note(seeded_db, 3, "bob", "v2")
    for note_id in (2, 3):
        NoteService.delete_note(seeded_db, note_id, now=1_700_000_000 + note_id)
    listed = NoteService.trash_ids(seeded_db)
    assert listed == [2, 3]
    assert NoteService.trash_ids(seeded_db, deleted_before=1_700_000_003) == [2]
    # Meanwhile someone restores #3 and deletes #4: neither is what was shown.
    NoteService.restore_note(seeded_db, 3)
    NoteService.delete_note(seeded_db, 4)
    assert NoteService.purge_notes(seeded_db, listed, actor=app.OPERATOR) == 1
    assert [n.id for n in NoteService.list_trash(seeded_db)] == [4]
    assert NoteService.note_history(seeded_db, 2) == []
    assert [v.body for v in NoteService.note_history(seeded_db, 3)] == ["second note"]
    assert NoteService.count_notes(seeded_db) == 1
    assert NoteService.purge_notes(seeded_db, [], actor=app.OPERATOR) == 0


def test_a_vandal_who_deletes_every_note_destroys_nothing(seeded_db):
    """Open mode: anyone can delete, but no page can purge; every note comes back."""
    before = all_notes(seeded_db)
    for note in before:
        NoteService.update_note(seeded_db, note.id, "vandal", "defaced")
    for note in all_notes(seeded_db):
        NoteService.delete_note(seeded_db, note.id)
    assert all_notes(seeded_db) == []
    for note_id in NoteService.trash_ids(seeded_db):
        NoteService.restore_note(seeded_db, note_id)
        old = NoteService.note_history(seeded_db, note_id)[-1]
        NoteService.restore_version(seeded_db, note_id, old.version)
    restored = all_notes(seeded_db)
    assert [(n.id, n.username, n.body) for n in restored] == [
        (n.id, n.username, n.body) for n in before
    ]


def test_restoring_a_version_that_never_existed_names_the_version(seeded_db):
    with pytest.raises(NoteNotFoundError) as caught:
        NoteService.restore_version(seeded_db, 3, 7)
    assert str(caught.value) == "Note #3 has no version 7 in its history."


def test_a_purged_number_is_never_reused(seeded_db):
    NoteService.delete_note(seeded_db, 4)
    purge_note(seeded_db, 4, actor=app.OPERATOR)
    assert NoteService.create_note(seeded_db, "carol", "new").id == 5


def test_a_full_disk_is_a_clear_error_and_nothing_is_half_written(sqlite_db, db_path):
    """SQLite only: a file's size is capped with PRAGMA max_page_count (a PostgreSQL
    server's disk cannot be filled this cheaply; its DiskFull maps to the same message)."""
    before = stored_rows(db_path)
    pages = sqlite_db.execute("PRAGMA page_count").fetchone()[0]
    sqlite_db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError, match=app.MSG_DB_FULL):
        for i in range(200):
            NoteService.create_note(sqlite_db, "alice", f"filling the disk {i} " + "x" * 100)
    assert not sqlite_db.in_transaction
    rows = stored_rows(db_path)
    assert rows[: len(before)] == before
    assert NoteService.count_notes(sqlite_db) == len(rows)  # counts match what is stored
    assert (
        len(sqlite_db.execute("SELECT * FROM notes_fts WHERE notes_fts MATCH 'filling'").fetchall())
        == len(rows) - 1
    )


def is_valid_body(body: str) -> bool:
    """True if validate_note accepts body (the model writes only notes the app accepts)."""
    try:
        app.validate_note("ann", body)
    except app.InvalidNoteError:
        return False
    return True


class NotesModel(RuleBasedStateMachine):
    """Random create/update/delete/restore/purge against NoteService and a dict model,
    on a database emptied for each run (notes, trash and history; numbers never reused)."""

    def __init__(self, db: app.Database) -> None:
        super().__init__()
        self.conn = db
        for table in ("notes", "trash", "note_history"):
            sql(self.conn, f"DELETE FROM {table}")
        self.live: dict[int, tuple[str, str, int]] = {}  # note_id -> (username, body, version)
        self.trash: dict[int, tuple[str, str, int]] = {}
        self.history: dict[int, int] = {}  # note_id -> number of earlier versions

    bodies = st.text(
        st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=20
    ).filter(is_valid_body)

    @rule(username=st.sampled_from(["ann", "ben", "cy"]), body=bodies)
    def create(self, username, body):
        note = NoteService.create_note(self.conn, username, body)
        assert note.id not in self.live and note.id not in self.trash
        self.live[note.id] = (note.username, note.body, 1)
        self.history[note.id] = 0

    @precondition(lambda self: self.live)
    @rule(data=st.data(), body=bodies, stale=st.booleans())
    def update(self, data, body, stale):
        note_id = data.draw(st.sampled_from(sorted(self.live)))
        username, _, version = self.live[note_id]
        if stale:
            with pytest.raises(ConflictError):
                NoteService.update_note(self.conn, note_id, username, body, version=version - 1)
            return
        _, stored_body, _ = self.live[note_id]
        _, expected_body = app.validate_note(username, body)  # as it will be stored
        note = NoteService.update_note(self.conn, note_id, username, body, version=version)
        assert note.body == expected_body
        if expected_body == stored_body:  # the same text again: no new version, no history
            assert note.version == version
            return
        assert note.version == version + 1
        self.live[note_id] = (note.username, note.body, version + 1)
        self.history[note_id] += 1

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def delete(self, data):
        note_id = data.draw(st.sampled_from(sorted(self.live)))
        NoteService.delete_note(self.conn, note_id, version=self.live[note_id][2])
        self.trash[note_id] = self.live.pop(note_id)

    @precondition(lambda self: self.trash)
    @rule(data=st.data())
    def undo_or_restore(self, data):
        note_id = data.draw(st.sampled_from(sorted(self.trash)))
        NoteService.restore_note(self.conn, note_id)
        self.live[note_id] = self.trash.pop(note_id)

    @precondition(lambda self: self.trash)
    @rule(data=st.data())
    def purge(self, data):
        note_id = data.draw(st.sampled_from(sorted(self.trash)))
        purge_note(self.conn, note_id, actor=app.OPERATOR)
        del self.trash[note_id]
        del self.history[note_id]

    @invariant()
    def service_agrees_with_the_model(self):
        notes = all_notes(self.conn)
        assert {n.id: (n.username, n.body, n.version) for n in notes} == self.live
        trash = NoteService.list_trash(self.conn, limit=10_000)
        assert {n.id: (n.username, n.body, n.version) for n in trash} == self.trash
        assert NoteService.count_notes(self.conn) == len(self.live)
        for note_id, earlier in self.history.items():
            assert len(NoteService.note_history(self.conn, note_id)) == earlier


def test_notes_service_agrees_with_a_model(fresh_db):
    run_state_machine_as_test(
        lambda: NotesModel(fresh_db),
        settings=settings(
            max_examples=30,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


@SQLITE_ONLY  # chattr +i on the file; test_store has PostgreSQL's read-only database
def test_a_read_only_file_still_reads_and_refuses_writes_clearly(immutable_db):
    conn = app.connect(immutable_db)
    assert [n.id for n in NoteService.list_notes(conn)] == [4, 3, 2]
    with pytest.raises(StorageError, match=app.MSG_DB_READ_ONLY):
        NoteService.create_note(conn, "alice", "cannot be saved")
    with pytest.raises(StorageError, match=app.MSG_DB_READ_ONLY):
        NoteService.delete_note(conn, 4)
    assert [n.id for n in all_notes(conn)] == [4, 3, 2]


def test_an_edit_within_the_same_second_is_still_marked_edited(empty_db):
    note = NoteService.create_note(empty_db, "alice", "draft", now=1_700_000_000)
    edited = NoteService.update_note(empty_db, note.id, "alice", "final", now=1_700_000_000)
    assert not note.edited and edited.edited


def test_saving_the_same_text_again_makes_no_new_version(seeded_db):
    same = NoteService.update_note(seeded_db, 3, "bob", "second note", version=1)
    assert same.version == 1 and not same.edited
    assert NoteService.note_history(seeded_db, 3) == []


@SQLITE_ONLY
@pytest.mark.parametrize("page", [{}, {"before": 3}, {"after": 2}])
def test_a_page_of_the_trash_is_read_by_its_primary_key_without_a_sort(seeded_db, page):
    for note_id in (2, 3, 4):
        NoteService.delete_note(seeded_db, note_id)
    [sent] = statements_of(seeded_db, lambda: NoteService.list_trash(seeded_db, **page))
    plan = query_plan(seeded_db, *sent)
    assert plan.startswith("SEARCH n USING INTEGER PRIMARY KEY") and "TEMP B-TREE" not in plan


@pytest.mark.parametrize("page", [{}, {"before": 1500}, {"after": 1500}])
def test_a_page_of_the_trash_on_postgresql_walks_its_primary_key_without_a_sort(
    pg_db, monkeypatch, page
):
    """The statement list_trash really sends, explained on 3,000 trashed notes."""
    app.seed_notes(pg_db, 3000)
    sql(  # trashed in one statement: 3,000 delete_note calls would take seconds
        pg_db,
        "WITH gone AS (DELETE FROM notes RETURNING *) INSERT INTO trash (id,"
        " created_timestamp, updated_timestamp, username, body, version, deleted_timestamp)"
        " SELECT id, created_timestamp, updated_timestamp, username, body, version, 1 FROM gone",
    )
    assert trash_count(pg_db) == 3001
    app.vacuum_database(pg_db)
    [sent] = sent_to_postgresql(monkeypatch, lambda: NoteService.list_trash(pg_db, **page))
    plan = " | ".join(row["QUERY PLAN"] for row in sql(pg_db, f"EXPLAIN {sent[0]}", sent[1]))
    walk = "Index Scan using" if "after" in page else "Index Scan Backward using"
    assert f"{walk} trash_pkey" in plan
    assert "Sort" not in plan and "Seq Scan" not in plan
