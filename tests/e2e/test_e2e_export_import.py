"""Notes as files in a real browser: download the feed's export, import it into an empty
app as its signed-in admin (open mode offers export only), and the raw table's own CSV
download is gone."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from conftest import ARTIFACTS, run_streamlit
from notes_e2e import Server, db_rows, open_page, rerun, screenshot, store_notes
from oidc import Person, auth_secrets, new_browser, run_provider, sign_in
from playwright.sync_api import Browser, Page, expect

# The mock provider signs tokens through an Authlib API that Authlib calls deprecated.
pytestmark = pytest.mark.filterwarnings("ignore:get_jwt_config:DeprecationWarning")

NOTES = [
    ("zoë 👩‍👩‍👧‍👦", "emoji 🎉, accents: café #Café"),
    ('bob "q", inc.', 'quotes "double", commas, and\ttabs'),
    ("carol", "line one\nline two #tag"),
    ("=cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example","click me")'),
    ("dan", "- a list item, and @mention"),
]


def test_an_export_downloaded_from_the_feed_imports_into_an_empty_app(
    page: Page, browser: Browser, server: Server, tmp_path: Path
):
    store_notes(server.db_path, NOTES)
    source = [(r.username, r.body) for r in db_rows(server.db_path)]
    open_page(page, server, "/")
    page.get_by_role("button", name="Download").click()
    link = page.get_by_role("link", name=f"Download all {len(source)} notes")
    assert link.get_attribute("href") == "/export.csv"  # a file at an address, streamed
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".csv"
    records = list(csv.DictReader(io.StringIO(saved.read_text("utf-8-sig"))))
    assert len(records) == len(source)
    assert {r["body"] for r in records} >= {'\'=HYPERLINK("http://evil.example","click me")'}
    page.keyboard.press("Escape")
    open_page(page, server, "/data")  # open mode: anyone may export, no one may upload
    expect(page.get_by_test_id("stAlertContainer")).to_contain_text("Only an admin")
    expect(page.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(0)

    empty = tmp_path / "empty.db"
    with (
        run_provider() as provider,
        run_streamlit(
            ARTIFACTS / "server-export-import-b.log",
            db_path=empty,
            secrets=auth_secrets(provider, admins=["root@example.com"]),
        ) as other,
    ):
        root = provider.add(Person(sub="root", name="Root", email="root@example.com"))
        page = new_browser(browser).new_page()
        sign_in(page, other, root)
        open_page(page, other, "/data")
        rerun(
            page, lambda: page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(saved)
        )
        metric = page.get_by_test_id("stMetric")
        expect(metric.filter(has_text="Will be added")).to_contain_text(str(len(source)))
        expect(metric.filter(has_text="Rejected")).to_contain_text("0")
        rerun(page, page.get_by_role("button", name=f"Import {len(source)} notes").click)
        expect(page.get_by_test_id("stAlertContainer")).to_contain_text(
            f"Imported {len(source)} notes"
        )
        screenshot(page, "import-done")
        imported = [(r.username, r.body) for r in db_rows(empty)]
        assert set(source) <= set(imported)  # and the empty app's own welcome note
        open_page(page, other, "/?author=carol")
        expect(page.get_by_text("line two")).to_be_visible()
        page.context.close()


def test_the_raw_tables_own_csv_download_is_not_offered(page: Page, server: Server):
    store_notes(server.db_path, [("eve", '=HYPERLINK("http://evil.example")')])
    open_page(page, server, "/")
    page.get_by_text("Raw Note Table Data").click()
    table = page.get_by_test_id("stDataFrame")
    table.hover()
    expect(page.get_by_role("button", name="Fullscreen")).to_be_visible()  # the toolbar is up
    expect(page.get_by_role("button", name="Download as CSV")).to_be_hidden()
