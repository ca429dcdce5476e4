"""The pages in both modes, as each kind of person sees them (issue 10), through AppTest
with `at.user` standing in for st.user, on both backends.

Signed-in mode is an [auth] section in the app's secrets (AppTest's `at.secrets`); no
provider is contacted here (tests/e2e/test_e2e_sign_in.py signs in for real).
"""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import app
from app import Actor, NoteService
from tests.conftest import (
    BOTH_BACKENDS,
    bylines_shown,
    messages,
    pages_on_sqlite,
    texts_shown,
    trash_count,
)

ISSUER = "http://127.0.0.1:9/"
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "not-a-secret-in-tests",
    "client_id": "notes",
    "client_secret": "notes-secret",
    "server_metadata_url": f"{ISSUER}.well-known/openid-configuration",
}
PEOPLE = {
    "alice": {"name": "Alice", "email": "alice@example.com", "sub": "alice"},
    "bob": {"name": "Bob", "email": "bob@example.com", "sub": "bob"},
    "admin": {"name": "Root", "email": "Admin@Example.com", "sub": "root", "email_verified": True},
    # Claims the address of an admin, but the provider says it is not verified.
    "impostor": {
        "name": "Eve",
        "email": "admin@example.com",
        "sub": "eve",
        "email_verified": False,
    },
}
ALICE = Actor(name="Alice", subject="alice", issuer=ISSUER)

backend = pages_on_sqlite()


@pytest.fixture
def as_person(db_target, monkeypatch):
    """page(name, who=None, secrets=...) runs one page (or the whole app, name=None) as
    who (a key of PEOPLE; None: signed out) in signed-in mode, unless secrets say otherwise."""
    if app.is_database_url(db_target):
        monkeypatch.setenv("NOTES_DATABASE_URL", str(db_target))
    else:
        monkeypatch.setenv("NOTES_DB", str(db_target))

    def run(name: str | None, who: str | None = None, secrets: dict | None = None) -> AppTest:
        if name is None:
            at = AppTest.from_file(app.APP_DIR / "app.py", default_timeout=30)
        else:
            from tests.conftest import _page_script

            at = AppTest.from_function(_page_script, default_timeout=30, args=(name,))
        for key, value in (
            {"auth": AUTH, "admins": ["admin@example.com"]} if secrets is None else secrets
        ).items():
            at.secrets[key] = value
        if who is not None:
            at.user = {"is_logged_in": True, "iss": ISSUER, **PEOPLE[who]}
        return at.run()

    yield run
    st.cache_resource.clear()  # the process-wide flood counts of these people


@pytest.fixture
def alices_note(empty_db):
    """A note written signed in by Alice."""
    return NoteService.create_note(empty_db, "", "alice's note", actor=ALICE)


def keys(at: AppTest) -> set[str]:
    """The keys of the page's buttons, text boxes and checkboxes."""
    widgets = [*at.button, *at.text_area, *at.text_input, *at.checkbox, *at.number_input]
    return {widget.key for widget in widgets if widget.key}


def pick(at: AppTest, prefix: str, id: int) -> AppTest:
    at.number_input(key=f"{prefix}_number").set_value(id)
    return at.run()


# Signed out ----------------------------------------------------------------------


def test_a_signed_out_visitor_reads_the_feed_but_gets_no_form(as_person, alices_note):
    feed = as_person("read")
    assert "alice's note" in texts_shown(feed)
    create = as_person("create")
    assert messages(create)["info"] == [app.MSG_SIGN_IN_PAGE]
    assert {"create_sign_in"} <= keys(create) and "create_body" not in keys(create)
    update = pick(as_person("update"), "update", alices_note.id)
    assert messages(update)["info"] == [app.MSG_SIGN_IN_TO_WRITE]
    assert "update_body" not in keys(update)
    delete = pick(as_person("delete"), "delete", alices_note.id)
    assert "delete_submit" not in keys(delete)
    assert not any(at.exception for at in (feed, create, update, delete))


def test_the_sidebar_names_the_mode_and_offers_sign_in_or_out(as_person):
    signed_out = as_person(None)
    assert app.MSG_SIGNED_OUT in [c.value for c in signed_out.sidebar.caption]
    assert "sign_in" in keys(signed_out)
    alice = as_person(None, "alice")
    assert "Signed in as **Alice**" in [c.value for c in alice.sidebar.caption]
    assert "sign_out" in keys(alice) and "sign_in" not in keys(alice)
    admin = as_person(None, "admin")
    assert "Signed in as **Root** (admin)" in [c.value for c in admin.sidebar.caption]
    open_mode = as_person(None, secrets={})
    assert app.MSG_OPEN_MODE in [c.value for c in open_mode.sidebar.caption]
    assert "sign_in" not in keys(open_mode)
    assert not any(at.exception for at in (signed_out, alice, admin, open_mode))


def test_the_about_page_names_the_mode(as_person):
    signed_in, open_mode = as_person("about"), as_person("about", secrets={})
    assert "**signed-in mode**" in signed_in.markdown[0].value
    assert "**open mode**" in open_mode.markdown[0].value
    assert not signed_in.exception and not open_mode.exception


# Authors -------------------------------------------------------------------------


@BOTH_BACKENDS
def test_a_signed_in_note_is_signed_with_the_persons_name_not_a_typed_one(as_person, empty_db):
    at = as_person("create", "alice")
    assert "create_username" not in keys(at)
    assert "Posting as **Alice**" in [m.value for m in at.markdown]
    at.text_area(key="create_body").set_value("hello from alice")
    at.button(key="create_submit").click()
    at.run()
    [note] = NoteService.list_notes(empty_db)
    assert messages(at)["success"] == [app.MSG_CREATED.format(id=note.id)]
    assert (note.username, note.owner_subject, note.owner_issuer) == ("Alice", "alice", ISSUER)
    assert not at.exception


@pytest.mark.parametrize("who", ["bob", "impostor"])
@BOTH_BACKENDS
def test_another_person_sees_no_way_to_change_a_note(as_person, empty_db, alices_note, who):
    update = pick(as_person("update", who), "update", alices_note.id)
    assert messages(update)["info"] == [app.MSG_NOT_YOURS.format(id=alices_note.id)]
    assert not {"update_body", "update_submit", "update_restore_1"} & keys(update)
    delete = pick(as_person("delete", who), "delete", alices_note.id)
    assert messages(delete)["info"] == [app.MSG_NOT_YOURS.format(id=alices_note.id)]
    assert not {"delete_confirm", "delete_submit"} & keys(delete)
    NoteService.delete_note(empty_db, alices_note.id, actor=ALICE)
    trash = as_person("trash", who)
    assert f"trash_restore_{alices_note.id}" not in keys(trash)
    assert "trash_purge" not in keys(trash)
    authors_trash = as_person("trash", "alice")
    assert authors_trash.button(key=f"trash_restore_{alices_note.id}")
    assert not any(at.exception for at in (update, delete, trash, authors_trash))


def test_the_author_edits_and_history_says_who_made_each_version(as_person, empty_db, alices_note):
    at = pick(as_person("update", "alice"), "update", alices_note.id)
    assert "update_username" not in keys(at)
    at.text_area(key="update_body").set_value("alice's note, edited")
    at.button(key="update_submit").click()
    at.run()
    assert messages(at)["success"] == [f"Note #{alices_note.id} updated."]
    admin = pick(as_person("update", "admin"), "update", alices_note.id)
    admin.text_area(key="update_body").set_value("[removed by a moderator]")
    admin.button(key="update_submit").click()
    admin.run()
    note = NoteService.get_note(empty_db, alices_note.id)
    assert (note.username, note.body, note.made_by) == ("Alice", "[removed by a moderator]", "Root")
    captions = [c.value for c in admin.caption]
    assert any(c.startswith("Version 2 · by Alice") for c in captions)
    assert any(c.startswith("Version 1 · by Alice") for c in captions)
    assert "Version 3 (now) · by Root" in captions
    assert not at.exception and not admin.exception


def test_an_admin_deletes_anyones_note(as_person, empty_db, alices_note):
    at = pick(as_person("delete", "admin"), "delete", alices_note.id)
    at.checkbox(key="delete_confirm").check().run()
    at.button(key="delete_submit").click().run()
    assert messages(at)["success"] == [app.MSG_DELETED.format(id=alices_note.id)]
    assert [n.id for n in NoteService.list_trash(empty_db)] == [alices_note.id]
    assert not at.exception


# Purging -------------------------------------------------------------------------


@BOTH_BACKENDS
def test_an_admin_purges_only_the_notes_shown_when_they_confirmed(as_person, empty_db):
    ids = []
    for body in ("one", "two", "three"):
        ids.append(NoteService.create_note(empty_db, "", body, actor=ALICE).id)
        NoteService.delete_note(empty_db, ids[-1], actor=ALICE)
    at = as_person("trash", "admin")
    assert at.button(key="trash_purge").label == "Delete these 3 notes for good…"
    at.button(key="trash_purge").click()
    at.run()
    assert messages(at)["warning"] == [
        app.MSG_PURGE_CONFIRM.format(
            notes="3 notes", numbers=", ".join(f"#{id}" for id in ids[::-1])
        )
    ]
    assert trash_count(empty_db) == 3  # nothing yet
    # Meanwhile someone deletes a fourth note and Alice restores one of the three.
    late = NoteService.create_note(empty_db, "", "deleted a second later", actor=ALICE)
    NoteService.delete_note(empty_db, late.id, actor=ALICE)
    NoteService.restore_note(empty_db, ids[1], actor=ALICE)
    at.button(key="trash_purge_confirm").click()
    at.run()
    assert messages(at)["success"] == [
        app.MSG_PURGED_SOME.format(notes="2 notes", kept=1, verb="is")
    ]
    assert [n.id for n in NoteService.list_trash(empty_db)] == [late.id]
    assert NoteService.get_note(empty_db, ids[1]).body == "two"
    assert not at.exception


def test_cancelling_a_purge_deletes_nothing(as_person, empty_db, alices_note):
    NoteService.delete_note(empty_db, alices_note.id, actor=ALICE)
    at = as_person("trash", "admin")
    at.button(key="trash_purge").click()
    at.run()
    at.button(key="trash_purge_cancel").click()
    at.run()
    assert "trash_purge_confirm" not in keys(at)
    assert "trash_purge" in keys(at)  # offered again, as before
    assert trash_count(empty_db) == 1
    assert not at.exception


@pytest.mark.parametrize("who", [None, "alice"])
def test_no_one_but_an_admin_is_offered_a_purge(as_person, empty_db, alices_note, who):
    NoteService.delete_note(empty_db, alices_note.id, actor=ALICE)
    signed_in = as_person("trash", who)
    assert "trash_purge" not in keys(signed_in)
    open_mode = as_person("trash", secrets={})
    assert "trash_purge" not in keys(open_mode)
    assert app.MSG_TRASH_KEPT in [c.value for c in open_mode.caption]
    assert not signed_in.exception and not open_mode.exception


# Flood limits --------------------------------------------------------------------


def test_past_the_note_limit_a_session_is_told_to_wait_and_nothing_is_written(as_person, empty_db):
    at = as_person("create", secrets={"notes_per_minute": 2})
    for number in range(1, 4):
        at.text_input(key="create_username").set_value("vandal")
        at.text_area(key="create_body").set_value(f"flood {number}")
        at.button(key="create_submit").click()
        at.run()
    assert messages(at)["error"] == [app.MSG_TOO_MANY_NOTES.format(count="2 notes")]
    assert at.text_area(key="create_body").value == "flood 3"  # kept, to save later
    assert NoteService.count_notes(empty_db) == 2
    # A new name does not help: the session is counted too.
    at.text_input(key="create_username").set_value("someone else")
    at.button(key="create_submit").click()
    at.run()
    assert messages(at)["error"] == [app.MSG_TOO_MANY_NOTES.format(count="2 notes")]
    assert NoteService.count_notes(empty_db) == 2
    assert not at.exception


def test_past_the_delete_limit_a_session_is_told_to_wait_and_nothing_is_deleted(
    as_person, empty_db
):
    for number in range(3):
        NoteService.create_note(empty_db, "carol", f"note {number}")
    at = as_person("delete", secrets={"deletes_per_minute": 2})
    for _ in range(3):
        at.checkbox(key="delete_confirm").check().run()
        at.button(key="delete_submit").click().run()
    assert messages(at)["error"] == [app.MSG_TOO_MANY_DELETES.format(count="2 notes")]
    assert NoteService.count_notes(empty_db) == 1
    assert trash_count(empty_db) == 2
    assert not at.exception


def test_a_bad_limit_in_the_secrets_is_named_and_the_default_used(as_person):
    at = as_person(None, secrets={"notes_per_minute": "lots"})
    assert messages(at)["warning"] == [
        app.MSG_BAD_SETTING.format(name="notes_per_minute", default=app.NOTES_PER_MINUTE)
    ]
    assert not at.exception


# History -------------------------------------------------------------------------


def test_history_shows_a_page_of_versions_and_always_the_first(as_person, empty_db):
    note = NoteService.create_note(empty_db, "gina", "the original", now=1_700_000_000)
    for edit in range(2, 31):  # long ago, so that the per-note edit limit lets one more in
        note = NoteService.update_note(
            empty_db, note.id, "gina", f"version {edit}", now=1_700_000_000 + edit
        )
    at = as_person("update", secrets={})
    assert at.expander[0].label == "History: 29 earlier versions"
    restores = sorted(int(k.rsplit("_", 1)[1]) for k in keys(at) if k.startswith("update_restore_"))
    assert restores == [1, *range(20, 30)]  # the newest ten, and the first
    at.button(key="update_history_older").click()
    at.run()
    restores = sorted(int(k.rsplit("_", 1)[1]) for k in keys(at) if k.startswith("update_restore_"))
    assert restores == [1, *range(10, 20)]
    at.button(key="update_restore_1").click()
    at.run()
    assert messages(at)["success"] == [app.MSG_VERSION_RESTORED.format(id=note.id, old=1, new=31)]
    assert NoteService.get_note(empty_db, note.id).body == "the original"
    assert not at.exception


@pytest.mark.parametrize("setting", ["edits_per_minute", "edits_per_note_per_minute"])
def test_past_the_edit_limit_a_session_makes_no_more_versions(as_person, empty_db, setting):
    note = NoteService.create_note(empty_db, "gina", "the original")
    at = as_person("update", secrets={setting: 2})  # the old name still counts
    for edit in range(1, 4):
        at.text_area(key="update_body").set_value(f"vandal edit {edit}")
        at.button(key="update_submit").click()
        at.run()
    assert messages(at)["error"] == [app.MSG_TOO_MANY_EDITS.format(count="2 edits")]
    assert at.text_area(key="update_body").value == "vandal edit 3"  # kept on the page
    assert NoteService.get_note(empty_db, note.id).version == 3
    assert not at.exception


def test_the_feed_says_when_a_moderator_edited_a_note(as_person, empty_db, alices_note):
    admin = Actor(name="Root", subject="root", issuer=ISSUER, admin=True)
    NoteService.update_note(empty_db, alices_note.id, "", "[removed]", actor=admin)
    NoteService.update_note(empty_db, alices_note.id, "", "alice again", actor=ALICE, now=None)
    feed = as_person("read")
    assert not any(" by " in line for line in bylines_shown(feed))  # her own edit: no name
    NoteService.update_note(empty_db, alices_note.id, "", "[removed again]", actor=admin)
    moderated = as_person("read")
    assert any(line.endswith(" by Root") for line in bylines_shown(moderated))
    assert not feed.exception and not moderated.exception


@pytest.mark.parametrize(
    ("claims", "shown"),
    [
        ({"name": "**Root** [x](https://evil.example)"}, "**Root** [x](https://evil.example)"),
        ({"name": "Eve\u202egnp.exe", "email": "eve@example.com"}, "eve"),  # direction control
        ({"name": "  ", "email": None, "preferred_username": "mallory"}, "mallory"),
        ({"name": "x" * 500, "email": None}, None),  # nothing usable: a name from the subject
    ],
    ids=["markdown", "bidi", "blank", "too long"],
)
def test_a_hostile_name_from_the_provider_is_shown_as_text_or_replaced(
    as_person, empty_db, claims, shown
):
    PEOPLE["hostile"] = {"sub": "hostile-sub", "email": None, **claims}
    try:
        at = as_person("create", "hostile")
        at.text_area(key="create_body").set_value("hi")
        at.button(key="create_submit").click()
        at.run()
    finally:
        del PEOPLE["hostile"]
    [note] = NoteService.list_notes(empty_db)
    if shown is None:
        assert note.username.startswith("user-") and len(note.username) == 13
    else:
        assert note.username == shown
    posting = [m.value for m in at.markdown if m.value.startswith("Posting as")]
    assert posting == [f"Posting as **{app._escape_markdown(note.username)}**"]
    assert not at.exception


@pytest.mark.parametrize(
    ("who", "offered"), [(None, False), ("bob", False), ("alice", True), ("admin", True)]
)
def test_a_notes_menu_offers_edit_and_delete_only_to_who_may_change_it(
    as_person, alices_note, who, offered
):
    feed = as_person("read", who)
    feed.session_state[f"menu_{alices_note.id}"] = True  # open its menu
    feed.run()
    mine = {f"menu_edit_{alices_note.id}", f"menu_delete_{alices_note.id}"}
    assert (mine <= keys(feed)) is offered
    assert not mine & keys(feed) or offered
    assert f"menu_history_{alices_note.id}" in keys(feed)  # History, for everyone
    assert not feed.exception


def test_a_half_configured_provider_is_named_not_a_traceback(as_person):
    at = as_person("create", secrets={"auth": {"client_id": "only this"}})
    at.button(key="create_sign_in").click().run()
    assert not at.exception
    assert messages(at)["error"] == [app.MSG_AUTH_MISCONFIGURED]


def test_only_an_admin_is_offered_the_import(as_person):
    for who, shown in (
        (None, app.MSG_IMPORT_SIGNED_OUT),
        ("alice", app.MSG_IMPORT_NOT_ALLOWED),
        ("impostor", app.MSG_IMPORT_NOT_ALLOWED),
    ):
        at = as_person("data", who)
        assert [m.value for m in at.info] == [shown]
        assert not at.get("file_uploader")
        assert [b.proto.label for b in at.get("link_button")]  # anyone may export
        assert not at.exception
    admin = as_person("data", "admin")
    assert admin.get("file_uploader")
    assert not admin.exception


def _update_in_main() -> None:
    """The Update page as main() runs it: a database fault becomes the page's message."""
    import streamlit as st

    import app as notes_app

    try:
        notes_app.render_update()
    except notes_app.NotesError as error:
        st.error(str(error))


def test_an_edit_whose_writer_signed_out_while_the_database_failed_says_why_not_a_traceback(
    db_path, monkeypatch, alices_note
):
    monkeypatch.setenv("NOTES_DB", str(db_path))
    at = AppTest.from_function(_update_in_main, default_timeout=30)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "iss": ISSUER, **PEOPLE["alice"]}
    at = pick(at.run(), "update", alices_note.id)
    at.text_area(key="update_body").set_value("typed before it all went wrong")
    fault = app.StorageError(app.MSG_DB_OTHER.format(error="disk I/O error"))
    monkeypatch.setattr(app, "_pick_note", lambda keys: (_ for _ in ()).throw(fault))
    at.user = {"is_logged_in": False}  # signed out in another tab meanwhile
    at.run()
    assert not at.exception
    assert [m.value for m in at.error] == [str(fault)]
    st.cache_resource.clear()


def test_the_feeds_box_writes_under_the_signed_in_name_and_waits_for_a_sign_in(as_person, empty_db):
    visitor = as_person("read")
    assert "compose_body" not in keys(visitor)  # reading needs no sign-in; writing does
    feed = as_person("read", "alice")
    assert "compose_username" not in keys(feed)
    assert "Posting as **Alice**" in [m.value for m in feed.markdown]
    feed.text_area(key="compose_body").set_value("signed, from the feed")
    feed.button(key="compose_submit").click().run()
    [note] = NoteService.list_notes(empty_db)
    assert (note.username, note.body) == ("Alice", "signed, from the feed")
    assert texts_shown(feed)[-1] == "signed, from the feed"
    assert not visitor.exception and not feed.exception
