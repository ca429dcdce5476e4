"""The app on PostgreSQL, in the browser: two servers sharing one database, a refused
password, and the database going away and coming back under a running server.

Each test starts its own `streamlit run` servers (start_servers) on a new database of
the session's throwaway PostgreSQL cluster (tests/conftest.py), drives the pages as a
person would, and reads the database with psycopg to check what was stored.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notes_e2e import (
    StartServers,
    alert,
    choose_note,
    create_note,
    db_query,
    db_row,
    db_rows,
    db_trash_ids,
    load_app,
    note_body,
    note_box,
    open_page,
    rerun,
    save_after_another,
    saved_alert,
    saved_number,
    stored,
    title,
)
from pg_cluster import GUARDED_PASSWORD, GUARDED_USER, Cluster
from playwright.sync_api import Browser, Page, expect

app = load_app()  # the app.py the servers run: its messages are what the pages must show


def where(database_url: str) -> str:
    """How the app names a database in its messages: host/database, never the URL."""
    return "127.0.0.1/" + database_url.rsplit("/", 1)[1]


def test_two_servers_on_one_database_share_notes_catch_a_conflict_and_restore_a_delete(
    browser: Browser, pg_database: str, start_servers: StartServers
) -> None:
    a, b = start_servers(pg_database, count=2)
    original, ada_text, bob_text = (
        "Team lunch on Friday at *noon*",
        "Team lunch on Friday at **one**",
        "Team lunch moved to Thursday",
    )
    contexts = [browser.new_context(viewport={"width": 1280, "height": 900}) for _ in "ab"]
    try:
        ada, bob = (context.new_page() for context in contexts)

        # A note written through server A shows in server B's open feed: its live banner
        # (server B's own read of the shared database) within 5 s, no reload.
        open_page(bob, b, "/")
        note_id = create_note(ada, a, "ada", original)
        banner = bob.get_by_role("button", name="1 new note — show")
        expect(banner).to_be_visible(timeout=5_000)
        rerun(bob, banner.click)
        expect(title(bob)).to_have_text("Read Note Feed")
        expect(note_body(bob, note_id)).to_have_text("Team lunch on Friday at noon")

        # Both open it to edit, each on their own server; Ada saves first. Bob's save on
        # the other server is refused: he sees Ada's text and keeps his own.
        texts = (original, ada_text, bob_text)
        bob_box = save_after_another((ada, a), (bob, b), note_id, texts)
        expect(alert(bob, app.MSG_CONFLICT.format(id=note_id, version=2))).to_be_visible()
        theirs = bob.get_by_test_id("stColumn").filter(has_text="Saved now (version 2)")
        expect(theirs.locator(f".st-key-saved_{note_id}")).to_contain_text(
            "Team lunch on Friday at one"
        )
        expect(bob_box).to_have_value(bob_text)  # nothing Bob typed was lost
        assert stored(b, note_id) == (ada_text, 2)  # and nothing of Ada's was overwritten
        assert db_query(
            b.database, "SELECT version, body FROM note_history WHERE id = ?", (note_id,)
        ) == [(1, original)]

        # Ada deletes it on server A; Bob finds it in the Trash on server B and restores it.
        open_page(ada, a, "/delete")
        choose_note(ada, a, note_id)
        rerun(ada, ada.get_by_text(f"Yes, delete note #{note_id}").click)
        rerun(ada, ada.get_by_role("button", name="Delete note", exact=True).click)
        expect(alert(ada, app.MSG_DELETED.format(id=note_id))).to_be_visible()
        assert db_row(a.database, note_id) is None
        assert db_trash_ids(a.database) == [note_id]

        open_page(bob, b, "/trash")
        expect(note_body(bob, note_id)).to_have_text("Team lunch on Friday at one")
        rerun(bob, bob.locator(f".st-key-trash_restore_{note_id}").get_by_role("button").click)
        expect(alert(bob, app.MSG_RESTORED.format(id=note_id))).to_be_visible()
        assert stored(b, note_id) == (ada_text, 2)
        assert db_trash_ids(b.database) == []

        open_page(ada, a, "/")
        expect(note_body(ada, note_id)).to_have_text("Team lunch on Friday at one")
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def guarded_database(pg_cluster: Cluster) -> Iterator[str]:
    """A new database owned by GUARDED_USER (the role that must give its password)."""
    name = pg_cluster.create_database(owner=GUARDED_USER)
    yield name
    pg_cluster.drop_database(name)


def test_a_wrong_password_is_reported_naming_the_host_and_never_shown_or_logged(
    page: Page, pg_cluster: Cluster, guarded_database: str, start_servers: StartServers
) -> None:
    wrong = "Wrong-pa55word-typed-in-haste"
    passwords = (wrong, GUARDED_PASSWORD)
    [refused] = start_servers(pg_cluster.url(guarded_database, GUARDED_USER, wrong))
    [allowed] = start_servers(pg_cluster.url(guarded_database, GUARDED_USER, GUARDED_PASSWORD))
    refusal = app.MSG_PG_REFUSED.format(name=f"127.0.0.1/{guarded_database}")
    pages_seen: list[str] = []

    # The feed says what is wrong, where, and how to fix it; no traceback.
    open_page(page, refused, "/")
    expect(alert(page, refusal)).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    pages_seen.append(page.content())

    # A note written meanwhile is refused with the same message, and stays in the form.
    body = "Typed before anyone noticed the password"
    open_page(page, refused, "/create")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Note", exact=True).fill(body)
    rerun(page, page.get_by_role("button", name="Save note").click)
    expect(alert(page, refusal)).to_be_visible()
    expect(page.get_by_label("Note", exact=True)).to_have_value(body)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    pages_seen.append(page.content())

    # Control: the same role and database with the right password work.
    open_page(page, allowed, "/")
    expect(page.locator("[class*='st-key-note_']").first).to_contain_text(app.WELCOME_USERNAME)
    expect(alert(page, refusal)).to_have_count(0)
    pages_seen.append(page.content())
    assert db_rows(allowed.database)[0].username == app.WELCOME_USERNAME
    assert body not in [row.body for row in db_rows(allowed.database)]

    logs = {server.log_path.name: server.log_path.read_text() for server in (refused, allowed)}
    for password in passwords:
        for number, html in enumerate(pages_seen):
            assert password not in html, f"page {number} shows a password"
        for name, text in logs.items():
            assert password not in text, f"{name} logs a password"
    for name, text in logs.items():
        assert "Traceback" not in text, f"{name}:\n{text}"


def test_a_note_typed_while_postgresql_is_down_is_kept_then_saved_once_when_it_is_back(
    page: Page, pg_cluster: Cluster, pg_database: str, start_servers: StartServers
) -> None:
    [server] = start_servers(pg_database)
    unreachable = app.MSG_PG_UNREACHABLE.format(name=where(pg_database), seconds=app.BUSY_TIMEOUT_S)
    assert unreachable.startswith("PostgreSQL at ")
    username, body = "ada", "Written while the database was *down*"
    open_page(page, server, "/")  # the server is working on PostgreSQL before the outage
    expect(page.locator("[class*='st-key-note_']").first).to_contain_text(app.WELCOME_USERNAME)

    open_page(page, server, "/create")
    page.get_by_label("Username").fill(username)
    note = page.get_by_label("Note", exact=True)
    note.fill(body)
    save = page.get_by_role("button", name="Save note")
    try:
        pg_cluster.stop()
        rerun(page, save.click)
        expect(alert(page, unreachable)).to_be_visible()
        expect(saved_alert(page)).to_have_count(0)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(note).to_have_value(body)  # nothing typed is lost
        expect(page.get_by_label("Username")).to_have_value(username)
    finally:
        pg_cluster.start()  # the cluster is the session's: always bring it back

    # The same server (not restarted) saves it on the next press, once.
    rerun(page, save.click)
    expect(saved_alert(page)).to_be_visible()
    note_id = saved_number(page)
    expect(alert(page, unreachable)).to_have_count(0)
    expect(note).to_have_value("")
    assert [row.body for row in db_rows(server.database)].count(body) == 1
    assert db_row(server.database, note_id).username == username

    open_page(page, server, "/")
    expect(note_body(page, note_id)).to_have_text("Written while the database was down")
    expect(note_box(page, note_id)).to_contain_text(username)
    log = server.log_path.read_text()
    assert "Traceback" not in log, log
