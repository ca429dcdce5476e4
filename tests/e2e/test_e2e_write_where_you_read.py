"""Write where you read (issue 23): each numbered finding of the trial, in a real browser."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from notes_e2e import (
    NOTE_BOXES,
    Server,
    alert,
    db_rows,
    expect_notes,
    load_app,
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
from playwright.sync_api import Page, expect


def test_1_a_note_written_in_the_feeds_own_box_shows_at_its_top_and_the_box_empties(
    page: Page, server: Server
) -> None:
    [older] = store_notes(server.db_path, [("ada", "an older note")])
    open_page(page, server, "/")
    page.locator(".st-key-compose_username input").fill("zoe")
    body = page.locator(".st-key-compose_body textarea")
    body.fill("Written where I read #here")
    expect(page.locator('.notes-counter[data-for="compose_body"]')).to_have_text("26 / 140")
    rerun(page, lambda: body.press("Control+Enter"))
    [newest] = [row for row in db_rows(server.db_path) if row.username == "zoe"]
    expect(alert(page, f"Note #{newest.id} saved.")).to_be_visible()
    expect(body).to_have_value("")
    expect(page.locator(".st-key-compose_username input")).to_have_value("zoe")  # remembered
    expect(title(page)).to_have_text("Read Note Feed")  # never left the feed
    first_two = page.locator(NOTE_BOXES).nth(0), page.locator(NOTE_BOXES).nth(1)
    expect(first_two[0]).to_have_class(re.compile(rf"\bst-key-note_{newest.id}\b"))  # the top
    expect(first_two[1]).to_have_class(re.compile(rf"\bst-key-note_{older}\b"))
    expect(note_box(page, newest.id)).to_have_count(1)  # once, in the feed, not twice
    # Too long: the same message as on the Create page, and the text stays to be cut.
    body.fill("x" * 141)
    rerun(page, lambda: body.press("Control+Enter"))
    expect(page.get_by_test_id("stAlertContainer").filter(has_text="over")).to_be_visible()
    expect(body).to_have_value("x" * 141)


def test_1_the_box_is_on_the_newest_page_alone(page: Page, server: Server) -> None:
    store_notes(server.db_path, [("ada", "a #tagged note")])
    for path, shown in (("/", 1), ("/?tag=tagged", 0), ("/?q=note", 0), ("/?note=1", 0)):
        open_page(page, server, path)
        expect(page.locator(".st-key-compose_body")).to_have_count(shown)


def test_2_back_after_a_search_returns_to_the_feed_and_forward_to_the_search(
    page: Page, server: Server
) -> None:
    ids = store_notes(server.db_path, [("ada", "quokka first time"), ("bob", "a later note")])
    open_page(page, server, "/")
    box = page.get_by_label("Search notes")
    box.fill("quokka first")
    rerun(page, lambda: box.press("Enter"))
    expect(page).to_have_url(re.compile(r"\?q=quokka\+first$"))
    expect_notes(page, [ids[0]])
    page.go_back()
    expect(page).to_have_url(server.url("/"))  # still the app: the feed, whole again
    expect(box).to_have_value("")
    expect(note_box(page, ids[1])).to_be_visible()  # the whole feed again
    page.go_forward()
    expect(box).to_have_value("quokka first")
    expect_notes(page, [ids[0]])
    assert parse_qs(urlsplit(page.url).query) == {"q": ["quokka first"]}


def test_4_a_tag_shows_once_as_a_link_in_the_text_and_a_search_marks_it_whole(
    page: Page, server: Server
) -> None:
    [note_id] = store_notes(server.db_path, [("ada", "My #firstpost here")])
    open_page(page, server, "/?q=first")
    body = note_body(page, note_id)
    expect(body.get_by_role("link", name="#firstpost")).to_have_attribute(
        "href", "./?tag=firstpost"
    )
    expect(body.locator("mark")).to_have_text(["#firstpost"])  # never "# firstpost"
    expect(note_box(page, note_id).get_by_text("#firstpost")).to_have_count(1)
    expect(note_box(page, note_id).get_by_role("button", name="#firstpost")).to_have_count(0)
    # Its author is a link in the byline too, followed in this tab.
    rerun(page, note_box(page, note_id).get_by_role("link", name="ada").click)
    expect(page).to_have_url(server.url("/?author=ada"))
    assert len(page.context.pages) == 1


def test_5_the_first_run_draws_every_note_whole_with_no_placeholder(
    page: Page, server: Server
) -> None:
    ids = store_notes(server.db_path, [(f"writer{n}", f"note {n} #t{n}") for n in range(30)])
    open_page(page, server, "/")
    newest = note_box(page, ids[-1])
    expect(newest.get_by_role("link", name=f"writer{len(ids) - 1}")).to_be_visible()
    expect(newest.get_by_role("link", name=f"#t{len(ids) - 1}")).to_be_visible()
    expect(page.get_by_test_id("stMain").get_by_test_id("stSkeleton")).to_have_count(0)


def links_followed(page: Page) -> None:
    """Wait until the app's link script runs in the page: its element mounts after the run
    that draws it, and a click before that is not the app's to handle (one busy CI run)."""
    page.wait_for_function("() => window.notesLinks === true")


def test_6_a_page_opened_from_the_sidebar_or_a_link_starts_at_its_top(
    page: Page, server: Server
) -> None:
    store_notes(server.db_path, [("ada", f"note {n} #deep") for n in range(25)])
    page.set_viewport_size({"width": 1280, "height": 600})
    open_page(page, server, "/")
    links_followed(page)
    main = page.get_by_test_id("stMain")
    main.evaluate("(main) => main.scrollTo({top: main.scrollHeight})")
    rerun(page, page.get_by_test_id("stSidebarNavLink").filter(has_text="About").click)
    expect(title(page)).to_have_text("About")
    assert main.evaluate("(main) => main.scrollTop") == 0
    open_page(page, server, "/")
    links_followed(page)
    main.evaluate("(main) => main.scrollTo({top: main.scrollHeight})")
    tag = page.locator(".notes-text").get_by_role("link", name="#deep").last
    rerun(page, tag.click)
    expect(page).to_have_url(server.url("/?tag=deep"))
    expect(title(page)).to_be_in_viewport()
    assert main.evaluate("(main) => main.scrollTop") == 0


def test_6_on_a_phone_picking_a_page_closes_the_sidebar(page: Page, server: Server) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_page(page, server, "/")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    links_followed(page)
    page.get_by_test_id("stExpandSidebarButton").click()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    rerun(page, page.get_by_test_id("stSidebarNavLink").filter(has_text="About").click)
    expect(title(page)).to_have_text("About")
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    expect(title(page)).to_be_in_viewport()


def test_8_the_edit_dialog_changes_the_text_with_save_first_and_beside_cancel(
    page: Page, server: Server
) -> None:
    [note_id] = store_notes(server.db_path, [("ada", "to be edited")])
    open_page(page, server, "/")
    rerun(page, note_box(page, note_id).get_by_role("button", name="Actions").click)
    rerun(page, page.get_by_test_id("stPopoverBody").get_by_role("button", name="Edit").click)
    dialog = page.get_by_role("dialog")
    save, cancel = (dialog.get_by_role("button", name=n) for n in ("Save changes", "Cancel"))
    expect(save).to_have_attribute("kind", "primaryFormSubmit")
    assert abs(save.bounding_box()["y"] - cancel.bounding_box()["y"]) < 2  # one row
    assert save.bounding_box()["x"] < cancel.bounding_box()["x"]
    expect(dialog.get_by_label("Username")).to_have_count(0)
    dialog.get_by_label("Note", exact=True).fill("edited in place")
    expect(dialog.get_by_text(re.compile("Ctrl\\+Enter"))).to_have_count(1)  # Streamlit's alone
    rerun(page, save.click)
    expect(note_body(page, note_id)).to_have_text("edited in place")
    expect(note_box(page, note_id).get_by_role("link", name="ada")).to_be_visible()


def test_10_a_tags_feed_counts_its_notes_and_trash_restores_from_inside_the_notes_box(
    page: Page, server: Server
) -> None:
    ids = store_notes(server.db_path, [("ada", "one #x"), ("bob", "two #x"), ("cy", "gone")])
    open_page(page, server, "/?tag=x")
    expect(page.get_by_text("Notes tagged #x (2 in all)")).to_be_visible()
    trash_notes(server.db_path, [ids[2]])
    open_page(page, server, "/trash")
    expect(page.get_by_text("python app.py")).to_have_count(0)
    restore = note_box(page, ids[2]).get_by_role("button", name="Restore")
    expect(note_box(page, ids[2])).to_contain_text("Deleted just now")
    rerun(page, restore.click)
    expect(alert(page, f"Note #{ids[2]} restored.")).to_be_visible()
    wait_for_idle(page)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 390])
def test_the_feed_with_its_box_is_photographed(
    page: Page, server: Server, width: int, scheme: str
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.emulate_media(color_scheme=scheme)
    store_notes(
        server.db_path,
        [
            ("ada", "Shipped the **markdown** feed #release"),
            (
                "Grace Brewster Murray Hopper",
                "A ship in port is safe, but that is not what ships are built for. #quotes",
            ),
            ("bob", "Lunch at *noon*? #team"),
        ],
    )
    open_page(page, server, "/")
    expect(page.locator(".st-key-compose_body textarea")).to_be_visible()
    expect(page.locator(".notes-byline").nth(2)).to_be_visible()
    page.evaluate("document.fonts.ready")
    shot = screenshot(page, f"feed-{width}-{scheme}")
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, Path(__file__).parents[2] / "docs" / f"feed-{width}-{scheme}.png")


@pytest.mark.parametrize(("scheme", "width"), [("light", 1280), ("dark", 390)])
def test_3_the_history_and_edit_dialogs_have_no_serious_accessibility_violation(
    page: Page, server: Server, scheme: str, width: int
) -> None:
    [note_id] = store_notes(server.db_path, [("ada", "first words")])
    app = load_app()
    conn = app.connect(server.db_path)
    app.NoteService.update_note(conn, note_id, "ada", "second words")
    conn.close()
    page.emulate_media(color_scheme=scheme)
    page.set_viewport_size({"width": width, "height": 900})
    open_page(page, server, "/")
    for item in ("History", "Edit"):
        rerun(page, note_box(page, note_id).get_by_role("button", name="Actions").click)
        menu = page.get_by_test_id("stPopoverBody")
        rerun(page, menu.get_by_role("button", name=item).click)
        dialog = page.get_by_role("dialog")
        expect(dialog).to_contain_text("first words" if item == "History" else "Note #")
        violations = Axe().run(page).response["violations"]
        serious = [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations
                   if v["impact"] in ("serious", "critical")]  # fmt: skip
        assert not serious, f"{item} dialog, {scheme} at {width} px: {serious}"
        rerun(page, dialog.get_by_role("button", name="Close").click)
        expect(dialog).to_have_count(0)
