"""A person searches the feed, follows its links, and pages through it.

The notes are written once for the module straight into the database with the
app's own NoteService (thirty of them, for paging: typing them would take a
minute). Nothing here writes through the pages, so every test reads the same
notes, and each checks what it is shown against the database file.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from notes_e2e import (
    NOTE_BOXES,
    Server,
    alert,
    db_query,
    db_rows,
    db_trash_ids,
    expect_notes,
    note_body,
    note_box,
    open_page,
    rerun,
    screenshot,
    store_notes,
    title,
    trash_notes,
    wait_for_idle,
)
from playwright.sync_api import Locator, Page, expect

FEED = "Read Note Feed"
PAGE_SIZE = 25  # FEED_PAGE_SIZE in app.py
# Strings that are FTS5 syntax or break a naive query. With no word in them they
# match nothing; around a word they must find the notes with that word.
HOSTILE_SEARCHES = ['"', "NEAR(", "*", "-x", '"coffee', "(team", "coff*", "-coffee"]


@pytest.fixture(scope="module")
def notes(server: Server) -> dict[str, int]:
    """Thirty filler notes, then three by ada and bob (newest), and one deleted note."""
    store_notes(server.db_path, [("bulk", f"Filler number {n}") for n in range(1, 31)])
    team, bread, walk, gone = store_notes(
        server.db_path,
        [
            ("ada", "Coffee with the **team** at ten #morning"),
            ("bob", "Bread recipe: flour, water, salt #food"),
            ("ada", "Python and coffee, then a walk #food"),
            ("carol", "A coffee note that was deleted"),
        ],
    )
    trash_notes(server.db_path, [gone])
    return {"team": team, "bread": bread, "walk": walk, "gone": gone}


def feed_ids(server: Server) -> list[int]:
    """Every note's number, newest first, as the database holds them."""
    return [row.id for row in reversed(db_rows(server.db_path))]


def matching(server: Server, *prefixes: str) -> list[int]:
    """The notes (newest first) with a word starting with each prefix, in body or author.

    No prefix at all (a search of only symbols) matches nothing, as in the app.
    """
    if not prefixes:
        return []

    def words(text: str) -> list[str]:
        return re.findall(r"\w+", text.lower())

    return [
        row.id
        for row in reversed(db_rows(server.db_path))
        if all(any(w.startswith(p) for w in words(f"{row.body} {row.username}")) for p in prefixes)
    ]


def highlights(page: Page, note_id: int) -> Locator:
    """The highlighted words in note (<mark> in note_html)."""
    return note_body(page, note_id).locator("mark")


def feed_link(scope: Page | Locator, name: str) -> Locator:
    """A link of the feed to itself (author, note number, "All notes"), by its exact text:
    a link in a note's byline, or a button that sets the URL."""
    return scope.get_by_role("link", name=name, exact=True).or_(
        scope.get_by_role("button", name=name, exact=True)
    )


def search_box(page: Page) -> Locator:
    """The "Search notes" box above the feed (key q, mirrored in the URL as ?q=)."""
    return page.get_by_label("Search notes")


def feed_heading(page: Page, text: str) -> Locator:
    """The line above a filtered feed, e.g. "Notes by ada (2 in all)" (plain text)."""
    return page.get_by_test_id("stText").filter(has_text=re.compile("^" + re.escape(text) + "$"))


def test_a_search_link_opens_with_the_word_in_the_box_and_only_matching_notes_highlighted(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page, server, "/?q=coffee")

    expect(search_box(page)).to_have_value("coffee")
    expected = matching(server, "coffee")
    assert expected == [notes["walk"], notes["team"]]  # the deleted note is not searched
    expect_notes(page, expected)
    # Each match shows its word highlighted (any case), on a visible background.
    expect(highlights(page, notes["walk"])).to_have_text(["coffee"])
    expect(highlights(page, notes["team"])).to_have_text(["Coffee"])  # not "team"
    expect(highlights(page, notes["team"])).to_have_css(
        "background-color",
        re.compile(r"^rgb\("),  # rgba(0, 0, 0, 0) is transparent
    )
    expect(note_body(page, notes["team"]).locator("strong")).to_have_text("team")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.evaluate("document.fonts.ready")
    screenshot(page, "search")


def test_typing_a_search_and_pressing_enter_puts_it_in_the_address_bar_and_symbols_never_break_it(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    open_page(page, server, "/")
    box = search_box(page)
    found: dict[str, list[int]] = {}
    for text in ["bread", *HOSTILE_SEARCHES]:
        box.fill(text)
        rerun(page, lambda: box.press("Enter"))
        page.wait_for_function(  # the address bar carries the search, to share or reload
            "q => new URLSearchParams(location.search).get('q') === q", arg=text
        )
        expected = matching(server, *re.findall(r"\w+", text.lower()))
        found[text] = expected
        if expected:
            expect_notes(page, expected)
        else:
            expect(alert(page, "No notes match. Try fewer or shorter words.")).to_be_visible()
            expect(page.locator(NOTE_BOXES)).to_have_count(0)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(box).to_have_value(text)

    assert parse_qs(urlsplit(page.url).query) == {"q": ["-coffee"]}
    # A positive control: the symbols around a word do not stop it being found.
    assert found["bread"] == [notes["bread"]]
    assert found["coff*"] == found["-coffee"] == found['"coffee'] == [notes["walk"], notes["team"]]
    assert found["(team"] == [notes["team"]]
    assert found['"'] == found["NEAR("] == found["*"] == found["-x"] == []


def test_an_authors_name_under_a_note_shows_only_their_notes_and_show_all_brings_the_feed_back(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    open_page(page, server, "/")
    first_page = feed_ids(server)[:PAGE_SIZE]
    expect_notes(page, first_page)

    author = feed_link(note_box(page, notes["team"]), "ada")
    rerun(page, author.click)

    ada = [row.id for row in reversed(db_rows(server.db_path)) if row.username == "ada"]
    expect(feed_heading(page, f"Notes by ada ({len(ada)} in all)")).to_be_visible()
    expect_notes(page, ada)
    expect(title(page)).to_have_text(FEED)
    assert len(page.context.pages) == 1  # the same tab

    rerun(page, page.get_by_role("button", name="Show all").click)
    expect_notes(page, first_page)
    expect(page.get_by_text(re.compile(r"^Notes by "))).to_have_count(0)
    expect(search_box(page)).to_have_value("")
    assert ada == [notes["walk"], notes["team"]]


def test_the_address_bar_names_the_author_after_clicking_an_authors_name(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    open_page(page, server, "/")
    rerun(page, feed_link(note_box(page, notes["bread"]), "bob").click)
    expect(feed_heading(page, "Notes by bob (1 in all)")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]author=bob(&|$)"), timeout=2_000)
    # So the filtered feed survives a reload, and Back returns to the whole feed.
    page.reload()
    expect(feed_heading(page, "Notes by bob (1 in all)")).to_be_visible()
    expect_notes(page, [notes["bread"]])
    page.go_back()
    expect(page).to_have_url(server.url("/"))
    expect_notes(page, feed_ids(server)[:PAGE_SIZE])


def test_a_notes_number_opens_it_alone_and_a_deleted_notes_number_says_it_may_be_deleted(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    open_page(page, server, "/")
    note_id = notes["bread"]
    link = feed_link(note_box(page, note_id), f"#{note_id}")
    rerun(page, link.click)
    expect_notes(page, [note_id])
    expect(note_body(page, note_id)).to_have_text("Bread recipe: flour, water, salt #food")
    expect(feed_link(page, "All notes")).to_be_visible()
    expect(search_box(page)).to_have_count(0)

    gone = notes["gone"]
    open_page(page, server, f"/?note={gone}")
    expect(alert(page, f"Note #{gone} does not exist. It may have been deleted.")).to_be_visible()
    expect(page.locator(NOTE_BOXES)).to_have_count(0)
    assert gone in db_trash_ids(server.db_path)
    assert gone not in feed_ids(server)


def test_a_tag_filters_the_feed_in_the_same_tab_and_back_undoes_it(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    open_page(page, server, "/")
    tag = note_body(page, notes["bread"]).get_by_role("link", name="#food")
    expect(note_box(page, notes["bread"]).get_by_text("#food")).to_have_count(1)  # once
    rerun(page, tag.click)
    expect(page).to_have_url(server.url("/?tag=food"))  # this tab, and its address bar
    expect(feed_heading(page, "Notes tagged #food (2 in all)")).to_be_visible()
    tagged = db_query(
        server.db_path, "SELECT id FROM note_tags WHERE tag = 'food' ORDER BY id DESC"
    )
    assert [note_id for (note_id,) in tagged] == [notes["walk"], notes["bread"]]
    expect_notes(page, [notes["walk"], notes["bread"]])
    assert len(page.context.pages) == 1  # no second tab
    page.go_back()
    expect(page).to_have_url(server.url("/"))
    expect(feed_heading(page, "Notes tagged #food (2 in all)")).to_have_count(0)


def test_older_shows_the_next_page_of_the_feed_and_the_back_button_returns_to_the_first(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    ids = feed_ids(server)
    assert len(ids) > PAGE_SIZE and notes["walk"] == ids[0]
    open_page(page, server, "/")
    expect_notes(page, ids[:PAGE_SIZE])

    rerun(page, page.get_by_role("button", name="Older →").click)
    expect(page).to_have_url(server.url(f"/?before={ids[PAGE_SIZE - 1]}"))
    expect_notes(page, ids[PAGE_SIZE : 2 * PAGE_SIZE])
    expect(page.get_by_role("button", name="← Newer")).to_be_visible()
    expect(page.get_by_role("button", name="Older →")).to_have_count(0)

    page.go_back()
    expect(page).to_have_url(server.url("/"))
    expect_notes(page, ids[:PAGE_SIZE])
    wait_for_idle(page)
    expect(page.get_by_role("button", name="Older →")).to_be_visible()
    expect(page.get_by_role("button", name="← Newer")).to_have_count(0)


def test_a_tags_feed_names_its_atom_feed_for_readers_and_people_and_the_feed_holds_its_notes(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    open_page(page, server, "/?tag=food")
    discovered = page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    expect(discovered).to_have_attribute("href", "./feed.atom?tag=food")  # feed readers' link
    expect(page.get_by_role("link", name="Atom feed")).to_have_attribute(
        "href", "/feed.atom?tag=food"
    )
    atom = page.request.get(server.url("/feed.atom?tag=food"))
    assert atom.headers["content-type"] == "application/atom+xml; charset=utf-8"
    numbers = re.findall(r"<entry><id>[^<]*\?note=(\d+)</id>", atom.text())
    assert [int(number) for number in numbers] == [notes["walk"], notes["bread"]]
