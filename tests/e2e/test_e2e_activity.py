"""The Activity page in a real browser: its figures visible as text beside the charts,
hostile author and tag names shown as typed, a name's link opening the filtered feed, and
full-page screenshots at desktop and phone width (artifacts/activity-*.png, and a copy in
$SHOTS_DIR when that is set)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from notes_e2e import Server, load_app, open_page, rerun, screenshot, title
from playwright.sync_api import Page, expect

HOSTILE_AUTHOR = "<b>bold</b> [x](javascript:alert(1))"
DAY = 86400


@pytest.fixture(scope="module")
def activity(server: Server) -> None:
    """Notes over the last months, at several hours, by four authors (one hostile)."""
    app = load_app()
    conn = app.connect(server.db_path)
    now = app.now_timestamp()
    try:
        for n in range(120):
            author = ["ada", "bob", "cy", HOSTILE_AUTHOR][n % 4 if n % 5 else 0]
            tags = ["#coffee", "#work", "#til", "#snake_case_tag"][n % 4]
            when = now - (n * 37 % 200) * DAY - (n * 7 % 24) * 3600
            app.NoteService.create_note(conn, author, f"note {n} {tags}", now=when)
    finally:
        conn.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_activity_page_shows_its_figures_as_text_and_its_charts(
    page: Page, server: Server, activity: None, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    open_page(page, server, "/activity")

    metrics = page.get_by_test_id("stMetric")
    expect(metrics).to_have_count(4)
    expect(metrics.first).to_contain_text("Notes")
    expect(metrics.first).to_contain_text("121")  # and the welcome note
    expect(page.get_by_text("the busiest day was")).to_be_visible()
    expect(page.get_by_text("The hours of the day with the most notes")).to_be_visible()
    charts = page.get_by_test_id("stVegaLiteChart")
    expect(charts).to_have_count(2)
    for n in range(2):
        expect(charts.nth(n).locator("canvas, svg").first).to_be_visible()
    # Names as typed, never as markup: no bold element, no javascript: link.
    # (ties go by code point: "<" before "b")
    author = page.get_by_role("link", name=f"2. {HOSTILE_AUTHOR} · 24 notes", exact=True)
    expect(author).to_be_visible()
    tag = page.get_by_role("link", name="2. #snake_case_tag · 30 notes", exact=True)
    expect(tag).to_be_visible()
    expect(page.locator("a[href^='javascript']")).to_have_count(0)
    expect(page.locator("[data-testid='stMainBlockContainer'] b")).to_have_count(0)
    expect(page.get_by_test_id("stException")).to_have_count(0)

    # The whole page: Streamlit scrolls inside its main area, so the window is made as
    # tall as the page (a full_page screenshot would show the first screen only).
    height = page.get_by_test_id("stMain").evaluate("main => main.scrollHeight")
    page.set_viewport_size({"width": width, "height": height})
    expect(charts.last.locator("canvas, svg").first).to_be_visible()
    page.evaluate("document.fonts.ready")
    shot = screenshot(page, f"activity-{width}")
    if shots := os.environ.get("SHOTS_DIR"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        name = "activity.png" if width == 1280 else f"activity-{width}.png"
        shutil.copyfile(shot, Path(shots) / name)


def test_an_authors_link_opens_the_feed_filtered_by_that_author(
    page: Page, server: Server, activity: None
) -> None:
    open_page(page, server, "/activity")
    rerun(page, page.get_by_role("link", name="1. ada · 48 notes").click)
    expect(title(page)).to_have_text("Read Note Feed")
    expect(page).to_have_url(server.url("/?author=ada"))
