"""PostgreSQL faults: a wrong URL or password, a server that is down or goes away and
comes back, and servers starting (and migrating) at the same moment."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

import psycopg
import pytest
from pg_cluster import GUARDED_PASSWORD, GUARDED_USER

import app
from app import NoteService, StorageError
from tests.conftest import APP_FILE, all_notes, create_note, messages, run_cli, stored_rows


def chain(error: BaseException) -> str:
    """The text of an exception and of everything it was raised from or during."""
    texts = []
    while error is not None:
        texts += [str(error), repr(error)]
        error = error.__cause__ or error.__context__
    return "\n".join(texts)


def test_a_refused_password_names_the_host_and_never_the_password(pg_cluster, caplog):
    name = pg_cluster.create_database(owner=GUARDED_USER)
    wrong = "not-the-" + GUARDED_PASSWORD
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StorageError) as raised:
        app.open_database(pg_cluster.url(name, GUARDED_USER, wrong))
    assert str(raised.value) == app.MSG_PG_REFUSED.format(name=f"127.0.0.1/{name}")
    assert wrong not in chain(raised.value) + caplog.text
    # The right password works, and the password is not kept anywhere it could be shown.
    db = app.open_database(pg_cluster.url(name, GUARDED_USER, GUARDED_PASSWORD))
    assert NoteService.count_notes(db) == 1
    assert GUARDED_PASSWORD not in repr(db) + app.describe_database(db) + caplog.text
    db.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://u:pw-in-a-bad-url@[::1/db", app.MSG_PG_BAD_URL),
        ("postgresql://u:pw-in-a-bad-url@host/db?password_hint=x", app.MSG_PG_BAD_URL),
        ("postgresql://u:pw-in-a-bad-url@127.0.0.1:notaport/db", app.MSG_PG_BAD_URL),
        ("postgresql://u:pw-in-a-bad-url@127.0.0.1/db?sslmode=bogus", app.MSG_PG_BAD_URL),
        # a password with a raw "/" or "@": libpq reads its tail as the database or host
        ("postgresql://u:123/pw-in-a-bad-url@127.0.0.1:5432/db", app.MSG_PG_BAD_URL),
        ("postgresql://u:p@pw-in-a-bad-url@127.0.0.1/db", app.MSG_PG_BAD_URL),
        ("postgresql://u:pw-in-a-bad-url@127.0.0.1:1/db", "PostgreSQL at 127.0.0.1/db is not"),
        ("postgresql://u:pw-in-a-bad-url@no-such-host.invalid/db", "PostgreSQL at no-such-host"),
    ],
)
def test_a_bad_url_or_an_unreachable_server_is_a_clear_error_without_the_password(url, message):
    with pytest.raises(StorageError) as raised:
        app.open_database(url)
    assert str(raised.value).startswith(message)
    assert "pw-in-a-bad-url" not in chain(raised.value)


def test_a_database_that_does_not_exist_is_named(pg_cluster):
    with pytest.raises(StorageError, match=r"127\.0\.0\.1/missing: that database does not exist"):
        app.open_database(pg_cluster.url("missing"))


def test_the_server_going_away_is_a_clear_error_and_the_store_recovers_when_it_is_back(
    pg_cluster, pg_db
):
    NoteService.create_note(pg_db, "alice", "before the outage")
    pg_cluster.stop()
    try:
        with pytest.raises(StorageError, match=r"^PostgreSQL at 127\.0\.0\.1/.* not answering"):
            NoteService.create_note(pg_db, "alice", "during the outage")
        with pytest.raises(StorageError, match="not answering"):
            NoteService.list_notes(pg_db)
    finally:
        pg_cluster.start()
    NoteService.create_note(pg_db, "alice", "after the outage")  # no restart, same pool
    assert [n.body for n in all_notes(pg_db)][:2] == [
        "after the outage",
        "before the outage",
    ]


@pytest.mark.parametrize("backend", ["postgresql"])
def test_the_page_keeps_the_typed_note_while_the_server_is_down_then_saves_it_once(
    app_test, pg_cluster, db_target
):
    at = app_test("create")
    pg_cluster.stop()
    try:
        at = create_note(at, "alice", "typed while the server was down")
        [error] = messages(at)["error"]
        assert error.startswith("PostgreSQL at 127.0.0.1/") and "Nothing was saved" in error
        assert at.text_area(key="create_body").value == "typed while the server was down"
    finally:
        pg_cluster.start()
    at.button(key="create_submit").click()
    at = at.run()
    assert messages(at)["success"] == ["Note #2 saved."]
    assert [row[4] for row in stored_rows(db_target)].count("typed while the server was down") == 1
    assert not at.exception


@pytest.mark.parametrize("backend", ["postgresql"])
def test_an_edit_saved_while_the_server_is_down_stays_in_the_form_then_saves_once(
    app_test, pg_cluster, db_target, pg_db
):
    NoteService.create_note(pg_db, "bob", "a newer note")  # so #1 is not the default pick
    at = app_test("update")
    at.number_input(key="update_number").set_value(1).run()
    at.text_area(key="update_body").set_value("edited while the server was down")
    pg_cluster.stop()
    try:
        at.button(key="update_submit").click()
        at = at.run()
        assert not at.exception
        [error] = messages(at)["error"]  # once, not once from the save and once from the page
        assert error.startswith("PostgreSQL at 127.0.0.1/") and "Nothing was saved" in error
        assert at.text_area(key="update_body").value == "edited while the server was down"
    finally:
        pg_cluster.start()
    at = at.run()  # the server is back: the same note and the person's text, no stale error
    assert messages(at)["error"] == []
    assert at.number_input(key="update_number").value == 1
    assert at.text_area(key="update_body").value == "edited while the server was down"
    at.button(key="update_submit").click()
    at = at.run()
    assert messages(at)["success"] == ["Note #1 updated."]
    assert [row[4] for row in stored_rows(db_target)] == [
        "edited while the server was down",
        "a newer note",
    ]
    with psycopg.connect(db_target) as conn:  # not pg_db: its connection saw the outage
        assert conn.execute("SELECT version FROM notes WHERE id = 1").fetchone() == (2,)


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_delete_while_the_server_is_down_says_so_once_and_not_again_once_it_is_back(
    app_test, pg_cluster, db_target
):
    at = app_test("delete")
    at.checkbox(key="delete_confirm").check().run()
    pg_cluster.stop()
    try:
        at.button(key="delete_submit").click()
        at = at.run()
        assert not at.exception
        [error] = messages(at)["error"]
        assert error.startswith("PostgreSQL at 127.0.0.1/") and "not answering" in error
    finally:
        pg_cluster.start()
    at = at.run()  # the server is back: the page works, and the outage is not reported again
    assert not at.exception
    assert messages(at)["error"] == []
    assert at.button(key="delete_submit").disabled  # the note is still there, to delete
    assert len(stored_rows(db_target)) == 1


def test_servers_starting_at_once_migrate_once(pg_cluster):
    name = pg_cluster.create_database()
    url = pg_cluster.url(name)
    opened, errors = [], []
    start = threading.Barrier(6, timeout=30)

    def server() -> None:
        try:
            start.wait()
            opened.append(app.open_database(url))
        except Exception as error:  # collected, then asserted empty
            errors.append(error)

    threads = [threading.Thread(target=server) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert stored_rows(url) == stored_rows(opened[0])
    assert [row[3] for row in stored_rows(url)] == [app.WELCOME_USERNAME]  # one welcome note
    for db in opened:
        db.close()
    # and as separate processes: `migrate` four times at once
    other = pg_cluster.url(pg_cluster.create_database())
    processes = [
        subprocess.Popen(
            [sys.executable, APP_FILE, "--db", other, "migrate"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, results
    assert len(stored_rows(other)) == 1
    assert run_cli("--db", other, "check").returncode == 0
