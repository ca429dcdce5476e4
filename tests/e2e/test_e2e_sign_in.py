"""Signed-in mode (issue 10): people sign in with OpenID Connect, notes carry their author.

The app runs with an [auth] section in its secrets, pointing at a real (mock)
OpenID Connect provider on this machine (oidc.py); admins are named by email.
Each person uses their own browser (context), so their sign-ins never mix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from notes_e2e import (
    Server,
    choose_note,
    db_query,
    db_row,
    db_trash_ids,
    note_body,
    note_box,
    open_page,
    rerun,
    trash_notes,
)
from oidc import (
    Person,
    Provider,
    auth_secrets,
    new_browser,
    run_provider,
    sidebar,
    sign_in,
    sign_out,
)
from playwright.sync_api import Browser, Locator, Page, expect

# The mock provider signs tokens through an Authlib API that Authlib calls deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

ALICE = Person(sub="alice", name="Alice", email="alice@example.com")
BOB = Person(sub="bob", name="Bob", email="bob@example.com")
ADMIN = Person(sub="root", name="Root", email="admin@example.com")

REFUSED = "Only its author or an admin can change it"


###############################################################################
# Fixtures #####################################################################
###############################################################################


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    """The OpenID Connect provider everyone signs in with; it knows Alice, Bob and Root."""
    with run_provider() as running:
        for person in (ALICE, BOB, ADMIN):
            running.add(person)
        yield running


@pytest.fixture(scope="module")
def server_secrets(provider: Provider) -> Callable[[str], str]:
    """Signed-in mode for this module's server (conftest's `server`); Root is an admin."""
    return auth_secrets(provider, admins=[ADMIN.email])


def _signed_in(browser: Browser, server: Server, person: Person) -> Iterator[Page]:
    """A page of person's own browser, signed in; closed when the fixture ends."""
    context = new_browser(browser)
    try:
        page = context.new_page()
        sign_in(page, server, person)
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def alice(browser: Browser, server: Server) -> Iterator[Page]:
    """Alice, signed in, in her own browser."""
    yield from _signed_in(browser, server, ALICE)


@pytest.fixture(scope="module")
def bob(browser: Browser, server: Server) -> Iterator[Page]:
    """Bob, signed in, in his own browser."""
    yield from _signed_in(browser, server, BOB)


@pytest.fixture(scope="module")
def admin(browser: Browser, server: Server) -> Iterator[Page]:
    """Root, an admin (admin@example.com), signed in, in their own browser."""
    yield from _signed_in(browser, server, ADMIN)


@pytest.fixture
def visitor(browser: Browser) -> Iterator[Page]:
    """A page of a new browser that has not signed in."""
    context = new_browser(browser)
    try:
        yield context.new_page()
    finally:
        context.close()


###############################################################################
# Helpers ######################################################################
###############################################################################


def write_note(page: Page, server: Server, body: str) -> int:
    """Write body on the Create page as the person signed in on page; return its number."""
    open_page(page, server, "/create")
    page.locator(".st-key-create_body textarea").fill(body)
    rerun(page, page.locator(".st-key-create_submit button").click)
    rows = db_query(server.db_path, "SELECT id FROM notes WHERE body = ?", (body,))
    assert len(rows) == 1, f"expected one note saved with body {body!r}, found {rows}"
    return rows[0][0]


def main(page: Page) -> Locator:
    """The page's main area (not the sidebar)."""
    return page.get_by_test_id("stMain")


###############################################################################
# Tests ########################################################################
###############################################################################


def test_a_signed_in_person_writes_under_their_own_name(
    alice: Page, server: Server, provider: Provider
) -> None:
    """Alice is not asked for a name: the page says she posts as Alice, and the feed
    shows her note under "Alice". The note is stored as hers: her id at the provider
    (sub) and the provider (issuer), not only the name anyone could also choose."""
    open_page(alice, server, "/create")
    expect(main(alice)).to_contain_text("Posting as Alice")
    expect(alice.locator(".st-key-create_username")).to_have_count(0)  # no Username box

    note_id = write_note(alice, server, "Alice's *first* signed note")

    open_page(alice, server, "/")
    expect(note_body(alice, note_id)).to_have_text("Alice's first signed note")
    expect(note_box(alice, note_id).locator(".notes-byline a").first).to_contain_text("Alice")
    stored = db_query(
        server.db_path,
        "SELECT username, owner_subject, owner_issuer FROM notes WHERE id = ?",
        (note_id,),
    )
    assert stored == [("Alice", ALICE.sub, provider.issuer)]


def test_someone_else_can_neither_change_nor_delete_a_note(
    alice: Page, bob: Page, server: Server
) -> None:
    """Bob opens Alice's note on the Update and the Delete page: he is told only its
    author or an admin can change it, and he gets no text box and no Delete button."""
    body = "Alice's note that Bob must not touch"
    note_id = write_note(alice, server, body)

    for path, hidden in (("/update", ".st-key-update_body"), ("/delete", ".st-key-delete_submit")):
        open_page(bob, server, path)
        choose_note(bob, server, note_id)  # the "Note number" box (update_number, delete_number)
        expect(main(bob).get_by_text(REFUSED).first).to_be_visible()
        expect(bob.locator(hidden)).to_have_count(0)

    row = db_row(server.db_path, note_id)
    assert (row.username, row.body) == ("Alice", body)


def test_an_admin_can_move_anyones_note_to_the_trash(
    alice: Page, admin: Page, server: Server
) -> None:
    """Root (an admin) deletes Alice's note: it leaves the notes and is in the Trash."""
    note_id = write_note(alice, server, "Alice's note that an admin removes")

    open_page(admin, server, "/delete")
    choose_note(admin, server, note_id)
    expect(note_body(admin, note_id)).to_have_text("Alice's note that an admin removes")
    expect(main(admin).get_by_text(REFUSED)).to_have_count(0)  # an admin is not refused
    confirm = admin.locator(".st-key-delete_confirm").get_by_text(
        re.compile(rf"^Yes, delete note #{note_id}\b")
    )
    expect(confirm).to_be_visible()
    rerun(admin, confirm.click)
    delete = admin.locator(".st-key-delete_submit button")
    expect(delete).to_be_enabled()
    rerun(admin, delete.click)
    deleted = admin.get_by_test_id("stAlertContainer").filter(
        has_text=re.compile(rf"^Note #{note_id} deleted\.")
    )  # "... It is in the Trash until purged."
    expect(deleted).to_be_visible()

    assert db_row(server.db_path, note_id) is None
    assert note_id in db_trash_ids(server.db_path)


def test_an_admin_purges_exactly_the_trashed_notes_they_confirmed(
    alice: Page, admin: Page, server: Server
) -> None:
    """The Trash asks an admin to confirm, counts and names the notes, and deletes those
    alone: a note Alice deletes after the admin pressed the button stays."""
    first = write_note(alice, server, "Alice's note to purge")
    trash_notes(server.db_path, [first])
    shown = db_trash_ids(server.db_path)
    open_page(admin, server, "/trash")
    rerun(admin, admin.locator(".st-key-trash_purge button").click)
    count = f"{len(shown)} note{'s' if len(shown) > 1 else ''}"
    expect(main(admin).get_by_text(re.compile(rf"^Delete {count} for good: #"))).to_be_visible()
    assert db_trash_ids(server.db_path) == shown  # nothing yet
    late = write_note(alice, server, "Alice's note deleted a second later")
    trash_notes(server.db_path, [late])
    rerun(admin, admin.locator(".st-key-trash_purge_confirm button").click)
    expect(
        admin.get_by_test_id("stAlertContainer").filter(has_text=f"{count} deleted for good.")
    ).to_be_visible()
    assert db_trash_ids(server.db_path) == [late]


def test_a_visitor_is_asked_to_sign_in_before_writing(visitor: Page, server: Server) -> None:
    """Someone who has not signed in finds no note box on the Create page, only the
    request to sign in (and the Sign in button in the sidebar)."""
    open_page(visitor, server, "/create")
    expect(main(visitor)).to_contain_text("Sign in to write a note")
    expect(visitor.locator(".st-key-create_body")).to_have_count(0)
    expect(visitor.locator(".st-key-sign_in button")).to_be_visible()


def test_signing_out_offers_sign_in_again_and_a_copied_cookie_signs_no_one_in(
    browser: Browser, visitor: Page, server: Server, provider: Provider
) -> None:
    """After Sign out (and the provider's End session), the sidebar no longer names
    anyone and offers Sign in; the Create page asks to sign in again. A copy of the
    sign-in cookies taken before (another browser, or a thief) is refused too: the app
    recorded the sign-out, and the copy's sign-in is older."""
    dora = provider.add(Person(sub="dora", name="Dora", email="dora@example.com"))
    sign_in(visitor, server, dora)
    thief = new_browser(browser)
    try:
        thief.add_cookies(visitor.context.cookies())
        stolen = thief.new_page()
        open_page(stolen, server, "/create")
        expect(sidebar(stolen)).to_contain_text("Signed in as Dora")  # the copy works, until
        sign_out(visitor)
        expect(sidebar(visitor)).not_to_contain_text("Signed in as")
        open_page(visitor, server, "/create")
        expect(main(visitor)).to_contain_text("Sign in to write a note")
        expect(visitor.locator(".st-key-create_body")).to_have_count(0)

        open_page(stolen, server, "/create")
        expect(sidebar(stolen)).to_contain_text("You signed out after this sign-in")
        expect(main(stolen)).to_contain_text("Sign in to write a note")
        expect(stolen.locator(".st-key-create_body")).to_have_count(0)
    finally:
        thief.close()
