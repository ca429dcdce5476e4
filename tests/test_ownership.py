"""Whose note is it: the store's own refusals, on both backends (issue 10).

The pages hide what a person may not do; these tests call NoteService directly, as a
crafted request or a future page would, and check that the store itself says no and
changes nothing.
"""

from __future__ import annotations

import pytest

import app
from app import Actor, NotAllowedError, NoteService, TooFastError
from tests.conftest import purge_note

ISSUER = "https://id.example.com"
ALICE = Actor(name="Alice", subject="alice-sub", issuer=ISSUER)
BOB = Actor(name="Bob", subject="bob-sub", issuer=ISSUER)
# The same subject at another provider is another person.
ALICE_ELSEWHERE = Actor(name="Alice", subject="alice-sub", issuer="https://evil.example.net")
ADMIN = Actor(name="Root", subject="root-sub", issuer=ISSUER, admin=True)
NOW = 1_800_000_000


@pytest.fixture
def alices_note(empty_db):
    """Note #2, written signed in by Alice."""
    return NoteService.create_note(empty_db, "ignored", "alice's own note", NOW, actor=ALICE)


def test_a_signed_in_note_is_signed_by_its_author_whatever_name_was_typed(empty_db, alices_note):
    assert alices_note.username == "Alice"
    assert (alices_note.owner_subject, alices_note.owner_issuer) == ("alice-sub", ISSUER)
    assert NoteService.get_note(empty_db, alices_note.id) == alices_note


# Every write another person might try on Alice's note, named directly by its number.
OTHERS_WRITES = {
    "update": lambda db, id, actor: NoteService.update_note(db, id, "Bob", "mine now", actor=actor),
    "delete": lambda db, id, actor: NoteService.delete_note(db, id, actor=actor),
    "restore version": lambda db, id, actor: NoteService.restore_version(db, id, 1, actor=actor),
}


@pytest.mark.parametrize("write", OTHERS_WRITES.values(), ids=OTHERS_WRITES.keys())
@pytest.mark.parametrize(
    "intruder",
    [BOB, ALICE_ELSEWHERE, app.VISITOR, None],
    ids=["another author", "same subject at another issuer", "open-mode visitor", "signed out"],
)
def test_nobody_but_the_author_changes_a_note(empty_db, alices_note, write, intruder):
    NoteService.update_note(empty_db, alices_note.id, "", "edited by alice", actor=ALICE)
    before = NoteService.get_note(empty_db, alices_note.id)
    message = "Sign in" if intruder is None else "Only its author or an admin"
    with pytest.raises(NotAllowedError, match=message):
        write(empty_db, alices_note.id, intruder)
    assert NoteService.get_note(empty_db, alices_note.id) == before
    assert len(NoteService.note_history(empty_db, alices_note.id)) == 1
    assert NoteService.list_trash(empty_db) == []


@pytest.mark.parametrize("intruder", [BOB, app.VISITOR, None], ids=["author", "visitor", "out"])
def test_nobody_but_the_author_restores_a_trashed_note(empty_db, alices_note, intruder):
    NoteService.delete_note(empty_db, alices_note.id, actor=ALICE)
    with pytest.raises(NotAllowedError):
        NoteService.restore_note(empty_db, alices_note.id, actor=intruder)
    assert [n.id for n in NoteService.list_trash(empty_db)] == [alices_note.id]
    assert NoteService.restore_note(empty_db, alices_note.id, actor=ALICE) == alices_note


def test_the_author_edits_deletes_and_restores_their_own_note(empty_db, alices_note):
    edited = NoteService.update_note(empty_db, alices_note.id, "Mallory", "new text", actor=ALICE)
    assert (edited.username, edited.body, edited.version) == ("Alice", "new text", 2)
    NoteService.delete_note(empty_db, alices_note.id, actor=ALICE)
    assert NoteService.restore_note(empty_db, alices_note.id, actor=ALICE) == edited


def test_an_admin_moderates_any_note_and_history_says_who_did(empty_db, alices_note):
    moderated = NoteService.update_note(empty_db, alices_note.id, "", "[removed]", actor=ADMIN)
    assert (moderated.username, moderated.made_by, moderated.editor_subject) == (
        "Alice",
        "Root",
        "root-sub",
    )
    [original] = NoteService.note_history(empty_db, alices_note.id)
    assert (original.body, original.made_by, original.editor_subject) == (
        "alice's own note",
        "Alice",
        "alice-sub",
    )
    NoteService.delete_note(empty_db, alices_note.id, actor=ADMIN)
    restored = NoteService.restore_note(empty_db, alices_note.id, actor=ADMIN)
    assert (restored.owner_subject, restored.made_by) == ("alice-sub", "Root")
    open_note = NoteService.create_note(empty_db, "carol", "written in open mode", NOW)
    NoteService.delete_note(empty_db, open_note.id, actor=ADMIN)


def test_open_mode_notes_are_open_modes_and_history_keeps_the_typed_names(empty_db):
    note = NoteService.create_note(empty_db, "carol", "typed in open mode", NOW)
    assert (note.owner_subject, note.made_by) == (None, "carol")
    with pytest.raises(NotAllowedError, match="Only its author or an admin"):
        NoteService.update_note(empty_db, note.id, "Bob", "signed-in intruder", actor=BOB)
    edited = NoteService.update_note(empty_db, note.id, "dave", "dave was here")
    assert (edited.username, edited.made_by) == ("dave", "dave")
    assert [v.made_by for v in NoteService.note_history(empty_db, note.id)] == ["carol"]


def test_a_signed_out_visitor_writes_nothing(empty_db):
    with pytest.raises(NotAllowedError, match="Sign in"):
        NoteService.create_note(empty_db, "anon", "hello", actor=None)
    assert NoteService.count_notes(empty_db) == 0


@pytest.mark.parametrize(
    "actor", [app.VISITOR, None, ALICE], ids=["open-mode visitor", "signed out", "author"]
)
def test_only_admins_and_the_operator_purge(empty_db, alices_note, actor):
    NoteService.delete_note(empty_db, alices_note.id, actor=ALICE)
    with pytest.raises(NotAllowedError, match="Only an admin"):
        NoteService.purge_notes(empty_db, [alices_note.id], actor=actor)
    with pytest.raises(NotAllowedError):
        purge_note(empty_db, alices_note.id, actor=actor)
    assert [n.id for n in NoteService.list_trash(empty_db)] == [alices_note.id]
    assert NoteService.purge_notes(empty_db, [alices_note.id], actor=ADMIN) == 1
    assert NoteService.list_trash(empty_db) == []


# Flood limits --------------------------------------------------------------------


def test_a_signed_in_author_past_the_note_limit_is_refused_and_nothing_is_written(empty_db):
    for second in range(3):
        NoteService.create_note(
            empty_db, "", f"note {second}", NOW + second, actor=ALICE, per_minute=3
        )
    with pytest.raises(TooFastError, match="3 notes in the last minute"):
        NoteService.create_note(empty_db, "", "one too many", NOW + 30, actor=ALICE, per_minute=3)
    assert NoteService.count_notes(empty_db) == 3
    # Another person is not slowed by Alice, and Alice may write again a minute later.
    NoteService.create_note(empty_db, "", "bob's", NOW + 30, actor=BOB, per_minute=3)
    NoteService.create_note(empty_db, "", "later", NOW + 61, actor=ALICE, per_minute=3)
    assert NoteService.count_notes(empty_db, author="Alice") == 4


def test_in_open_mode_the_note_limit_counts_per_typed_name(empty_db):
    for second in range(2):
        NoteService.create_note(empty_db, "eve", f"spam {second}", NOW + second, per_minute=2)
    with pytest.raises(TooFastError):
        NoteService.create_note(empty_db, "eve", "spam 3", NOW + 2, per_minute=2)
    NoteService.create_note(empty_db, "frank", "hello", NOW + 2, per_minute=2)
    assert NoteService.count_notes(empty_db, author="eve") == 2


def test_history_is_read_a_page_at_a_time_and_the_first_version_is_always_reachable(empty_db):
    note = NoteService.create_note(empty_db, "gina", "the original", NOW)
    for edit in range(2, 41):
        NoteService.update_note(empty_db, note.id, "gina", f"version {edit}", now=NOW + edit)
    newest = NoteService.note_history(empty_db, note.id, limit=10)
    assert [v.version for v in newest] == list(range(39, 29, -1))
    older = NoteService.note_history(empty_db, note.id, limit=10, before=newest[-1].version)
    assert [v.version for v in older] == list(range(29, 19, -1))
    newer = NoteService.note_history(empty_db, note.id, limit=10, after=older[0].version)
    assert newer == newest
    [first] = NoteService.note_history(empty_db, note.id, limit=1, after=0)
    assert (first.version, first.body) == (1, "the original")
    assert len(NoteService.note_history(empty_db, note.id)) == 39
