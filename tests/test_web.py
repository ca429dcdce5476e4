"""The web addresses beside the pages: the Atom feed, the read API, streamed downloads,
/healthz and the security headers, through Starlette's TestClient on the app's own routes and
middleware (tests/e2e/test_e2e_web.py drives them on the real server)."""

from __future__ import annotations

import io
import json
import threading
import time
import xml.etree.ElementTree as ET
from contextlib import closing

import feedparser
import httpx
import pytest
import streamlit as st
import uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

import app
from app import NoteService
from tests.conftest import BOTH_BACKENDS, pages_on_sqlite

backend = pages_on_sqlite()
BASE = "http://notes.example"
ATOM = "{http://www.w3.org/2005/Atom}"


def _page(request):
    return HTMLResponse("<!DOCTYPE html><html><head><title>x</title></head><body></body></html>")


@pytest.fixture
def web(db_target, monkeypatch):
    """A client of the app's routes (and a stand-in page at /) on the test's database, from
    the server's own machine (not counted by address)."""
    name = "NOTES_DATABASE_URL" if app.is_database_url(db_target) else "NOTES_DB"
    monkeypatch.setenv(name, str(db_target))
    server = Starlette(routes=[*app.ROUTES, Route("/", _page)], middleware=app.MIDDLEWARE)
    with TestClient(server, base_url=BASE, client=("127.0.0.1", 50000)) as client:
        yield client
    st.cache_resource.clear()


def notes(db, count: int, body: str = "note {n} #tagged") -> list[app.Note]:
    return [
        NoteService.create_note(db, f"author{n % 3}", body.format(n=n), now=1_700_000_000 + n)
        for n in range(count)
    ]


# The Atom feed ---------------------------------------------------------------------------


@BOTH_BACKENDS
def test_the_atom_feed_is_valid_atom_of_the_newest_notes_each_linking_to_its_note(web, empty_db):
    written = notes(empty_db, 60)
    response = web.get("/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo and feed.version == "atom10"
    newest = written[::-1][: app.ATOM_ENTRIES]
    assert [entry.link for entry in feed.entries] == [f"{BASE}/?note={n.id}" for n in newest]
    assert [entry.id for entry in feed.entries] == [f"{BASE}/?note={n.id}" for n in newest]
    assert [entry.author for entry in feed.entries] == [n.username for n in newest]
    assert feed.entries[0].title == newest[0].body
    assert [tag.term for tag in feed.entries[0].tags] == ["tagged"]
    assert feed.entries[0].published == "2023-11-14T22:14:19Z"
    assert feed.feed.title == "Littlest Notes"
    assert feed.feed.link == f"{BASE}/"


def test_a_hostile_note_reaches_a_feed_reader_as_the_pages_safe_html(web, empty_db):
    body = (
        "<script>alert(1)</script> [x](javascript:alert(1)) ![t](https://evil.example/t.png)"
        " <img src=x onerror=alert(1)> & ]]> \uffff **b**"
    )
    NoteService.create_note(empty_db, 'eve"<b>', body)
    raw = web.get("/feed.atom").content
    entry = ET.fromstring(raw).find(f"{ATOM}entry")  # a strict XML parser reads it all
    content = entry.find(f"{ATOM}content")
    assert content.get("type") == "html"
    assert content.text == app.note_html(body).replace("\uffff", "\ufffd")  # XML cannot hold it
    for unsafe in ("<script", 'href="javascript', "<img", "src="):
        assert unsafe not in content.text.replace("&lt;img src=", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content.text  # shown as typed
    assert "&lt;img src=x onerror=alert(1)&gt;" in content.text
    assert '<a href="https://evil.example/t.png" target="_blank"' in content.text  # not loaded
    assert entry.find(f"{ATOM}author/{ATOM}name").text == 'eve"<b>'
    assert entry.find(f"{ATOM}title").text.startswith(
        "<script>alert(1)</script> [x](javascript:alert(1)) t (image) <img src=x"
    )
    assert not feedparser.parse(raw).bozo


def test_a_reader_polling_the_feed_gets_304_until_a_shown_note_changes(web, empty_db):
    first, second = notes(empty_db, 2)
    answer = web.get("/feed.atom")
    etag, modified = answer.headers["etag"], answer.headers["last-modified"]
    assert modified == "Tue, 14 Nov 2023 22:13:21 GMT"
    again = web.get("/feed.atom", headers={"If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert web.get("/feed.atom", headers={"If-Modified-Since": modified}).status_code == 304
    NoteService.update_note(empty_db, first.id, "author0", "edited", now=1_700_000_000)
    changed = web.get("/feed.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    etag = changed.headers["etag"]
    NoteService.delete_note(empty_db, second.id)  # the newest time stays: the tag moves
    gone = web.get("/feed.atom", headers={"If-None-Match": etag, "If-Modified-Since": modified})
    assert gone.status_code == 200 and len(feedparser.parse(gone.content).entries) == 1
    stale = web.get("/feed.atom", headers={"If-Modified-Since": "Mon, 13 Nov 2023 00:00:00 GMT"})
    assert stale.status_code == 200
    assert web.get("/feed.atom", headers={"If-Modified-Since": "yesterday"}).status_code == 200


def test_the_feed_of_a_filter_holds_its_notes_and_names_it(web, empty_db):
    NoteService.create_note(empty_db, "ann", "apples #fruit")
    NoteService.create_note(empty_db, "bob", "bananas #fruit")
    NoteService.create_note(empty_db, "ann", "carrots")
    for query, title, bodies in (
        ("tag=fruit", "Littlest Notes tagged #fruit", ["bananas #fruit", "apples #fruit"]),
        ("author=ann", "Littlest Notes by ann", ["carrots", "apples #fruit"]),
        ("q=banana", "Littlest Notes matching “banana”", ["bananas #fruit"]),
        ("author=ann&tag=fruit", "Littlest Notes by ann tagged #fruit", ["apples #fruit"]),
    ):
        feed = feedparser.parse(web.get(f"/feed.atom?{query}").content)
        assert feed.feed.title == title
        assert [entry.title for entry in feed.entries] == bodies
        assert feed.feed.link == f"{BASE}/?{query}"


# The read API -----------------------------------------------------------------------------


@BOTH_BACKENDS
def test_the_api_pages_through_10000_notes_with_no_gap_or_repeat(web, empty_db):
    app.seed_notes(empty_db, 10_000, seed=3)
    everything = [row["id"] for row in app._read(empty_db, "SELECT id FROM notes ORDER BY id DESC")]
    seen, url = [], "/api/notes?limit=100"
    while url:
        page = web.get(url).json()
        seen += [note["number"] for note in page["notes"]]
        last, url = page, page.get("older")
    assert seen == everything
    back, url = [], last["newer"]
    while url:
        page = web.get(url).json()
        back = [note["number"] for note in page["notes"]] + back
        url = page.get("newer")
    assert back == everything[: -len(last["notes"])]  # every page above the oldest


def test_an_api_note_is_its_export_row_and_its_permalink(web, empty_db):
    note = NoteService.create_note(empty_db, "zoë", "hello #World, =1+1")
    out = io.StringIO()
    app.export_notes(empty_db, out, "json")
    [row] = json.loads(out.getvalue())
    expected = {**row, "permalink": f"{BASE}/?note={note.id}"}
    assert web.get(f"/api/notes/{note.id}").json() == expected
    assert web.get("/api/notes").json() == {"notes": [expected]}


@pytest.mark.parametrize(
    ("address", "status", "error"),
    [
        ("/api/notes?before=abc", 400, app.MSG_BAD_NUMBER.format(name="before", max=2**63 - 1)),
        ("/api/notes?after=0", 400, app.MSG_BAD_NUMBER.format(name="after", max=2**63 - 1)),
        ("/api/notes?before=99999999999999999999", 400, "`before` must be a note number"),
        ("/api/notes?before=5&after=2", 400, app.MSG_BOTH_BOUNDS),
        ("/api/notes?limit=101", 400, app.MSG_BAD_LIMIT.format(max=100)),
        ("/api/notes?limit=-1", 400, app.MSG_BAD_LIMIT.format(max=100)),
        ("/api/notes?author=%00", 400, app.MSG_BAD_TEXT),
        ("/feed.atom?tag=a%00b", 400, app.MSG_BAD_TEXT),
        ("/api/notes/77", 404, app.MSG_NOT_FOUND.format(id=77)),
        ("/api/notes/%C2%B2", 404, "Note #² does not exist"),
        ("/api/notes/99999999999999999999999", 404, "does not exist"),
        ("/export.exe", 404, app.MSG_NO_ADDRESS),
    ],
)
def test_a_bad_request_is_answered_in_json_with_its_status(web, empty_db, address, status, error):
    answer = web.get(address)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    assert error in answer.json()["error"]


def test_nothing_here_writes_and_other_methods_are_refused(web, seeded_db):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        for address in ("/api/notes", "/api/notes/2", "/feed.atom", "/export.csv", "/healthz"):
            assert web.request(method, address).status_code == 405
    assert NoteService.count_notes(seeded_db) == 3


def test_a_database_fault_is_a_503_with_the_reason_and_healthz_says_unavailable(
    web, tmp_path, monkeypatch
):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("NOTES_DB", str(broken))
    for address in ("/api/notes", "/api/notes/1", "/feed.atom", "/export.csv"):
        answer = web.get(address)
        assert answer.status_code == 503
        assert "is not a notes database" in answer.json()["error"]
    health = web.get("/healthz")
    assert (health.status_code, health.text) == (503, "unavailable")
    assert app._exports()._value == app.EXPORTS_AT_ONCE  # the failed download's turn is back
    monkeypatch.setenv("NOTES_DB", str(tmp_path / "good.db"))
    assert (web.get("/healthz").status_code, web.get("/healthz").text) == (200, "ok")


def test_one_address_over_its_limit_is_told_to_wait_and_another_is_served(
    web, seeded_db, monkeypatch
):
    monkeypatch.setattr(app, "REQUESTS_PER_MINUTE", 3)
    monkeypatch.setattr(app, "_secrets", lambda: {"client_ip_header": "X-Forwarded-For"})
    one = {"X-Forwarded-For": "6.6.6.6, 203.0.113.9"}  # the proxy's last entry counts
    answers = [web.get("/api/notes", headers=one).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = web.get("/feed.atom", headers=one)
    assert refused.json() == {"error": app.MSG_ROUTE_TOO_FAST}
    assert refused.headers["retry-after"] == "60"
    assert web.get("/api/notes", headers={"X-Forwarded-For": "203.0.113.10"}).status_code == 200


def test_the_live_poll_answers_what_a_live_page_compares_read_once_a_second(
    web, empty_db, monkeypatch
):
    first, second, third = notes(empty_db, 3)
    NoteService.update_note(empty_db, second.id, "author1", "edited")
    reads = []
    listing = NoteService.list_notes
    monkeypatch.setattr(
        NoteService, "list_notes", lambda *a, **k: reads.append(k) or listing(*a, **k)
    )
    asked = f"/api/live?after={first.id}"
    answers = [web.get(asked) for _ in range(5)]  # five tabs of one process, within a second
    assert {answer.content for answer in answers} == {f"[[{third.id},1],[{second.id},2]]".encode()}
    assert answers[0].headers["cache-control"] == "no-store"
    assert len(reads) == 1
    assert web.get("/api/live?after=0&tag=tagged").json() == [[third.id, 1], [first.id, 1]]
    assert len(reads) == 2  # another page is another read
    monkeypatch.setattr(app, "LIVE_READ_S", 0.0)  # (the second is over)
    NoteService.delete_note(empty_db, third.id)
    assert web.get(asked).json() == [[second.id, 2]]
    assert web.get("/api/live?after=-1").status_code == 400


def test_one_address_may_poll_its_live_tabs_beyond_the_other_routes_limit(
    web, seeded_db, monkeypatch
):
    monkeypatch.setattr(app, "_secrets", lambda: {"client_ip_header": "X-Forwarded-For"})
    one = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(app.REQUESTS_PER_MINUTE):
        web.get("/api/notes/2" if _ % 2 else "/api/notes", headers=one)  # all routes together
    assert web.get("/feed.atom", headers=one).status_code == 429
    polls = [web.get("/api/live?after=0", headers=one) for _ in range(app.LIVE_POLLS_PER_MINUTE)]
    assert {poll.status_code for poll in polls} == {200}  # 30 open tabs' worth
    assert web.get("/api/live?after=0", headers=one).status_code == 429


# Downloads ---------------------------------------------------------------------------------


@BOTH_BACKENDS
def test_the_download_address_streams_the_file_the_command_writes(web, empty_db):
    notes(empty_db, 2500, body='note {n} #tagged, =SUM(A1) "q"')
    NoteService.create_note(empty_db, "zoë", "café ☕ #other")
    for fmt, filters in (("csv", {}), ("json", {"tag": "tagged"}), ("md", {"author": "zoë"})):
        out = io.StringIO()
        app.export_notes(empty_db, out, fmt, **filters)
        query = "&".join(f"{name}={value}" for name, value in filters.items())
        answer = web.get(f"/export.{fmt}?{query}")
        assert answer.content == out.getvalue().encode(app.EXPORT_ENCODINGS[fmt])
        assert answer.headers["content-type"] == f"{app.EXPORT_FORMATS[fmt]}; charset=utf-8"
        assert answer.headers["content-disposition"].startswith("attachment; filename=")
    assert app._exports()._value == app.EXPORTS_AT_ONCE


def test_a_download_when_every_turn_is_taken_is_refused_and_reads_nothing(
    web, seeded_db, monkeypatch
):
    turns = app._exports()
    for _ in range(app.EXPORTS_AT_ONCE):
        turns.acquire()
    read = []
    monkeypatch.setattr(app, "export_parts", lambda *a, **k: read.append(1))
    try:
        answer = web.get("/export.csv")
    finally:
        for _ in range(app.EXPORTS_AT_ONCE):
            turns.release()
    assert (answer.status_code, answer.json()) == (503, {"error": app.MSG_EXPORTS_BUSY})
    assert read == []


def test_a_head_request_for_a_download_reads_no_note(web, seeded_db, monkeypatch):
    read = []
    monkeypatch.setattr(app, "export_parts", lambda *a, **k: read.append(1))
    answer = web.head("/export.json?author=ann")
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["content-disposition"].startswith('attachment; filename="littlest-')
    assert read == []


# Security headers ----------------------------------------------------------------------------


def test_every_response_carries_the_security_headers(web, seeded_db):
    for address in ("/", "/feed.atom", "/api/notes", "/api/notes/999", "/export.md", "/healthz"):
        headers = web.get(address).headers
        policy = headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "img-src 'self';" in policy and "'unsafe-eval'" not in policy
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
    # Streamlit's own page script and the app's three, by hash (the browser tests run them).
    assert policy.count("'sha256-") == 5


@pytest.mark.parametrize(
    ("setting", "host", "ancestors"),
    [
        (None, "notes.example", "'none'"),
        (None, "littlest-notes.streamlit.app", "'self'"),  # Community Cloud frames its apps
        ("'self' https://intranet.example", "notes.example", "'self' https://intranet.example"),
        ("'none'; script-src *", "notes.example", "'none'"),  # not a list of sources: ignored
        ("https://a.example\r\nSet-Cookie: x=1", "notes.example", "'none'"),
    ],
)
def test_frame_ancestors_are_as_configured_else_none(web, monkeypatch, setting, host, ancestors):
    monkeypatch.setattr(app, "_secrets", lambda: {"frame_ancestors": setting})
    policy = web.get("/healthz", headers={"Host": host}).headers["content-security-policy"]
    assert policy.endswith(f"; frame-ancestors {ancestors}")


def test_the_page_names_the_atom_feed_of_its_filters_in_its_head(web):
    answer = web.get('/?tag=x"><script>alert(1)</script>&author=ann&before=3')
    head = answer.text.split("</head>")[0]
    assert head.startswith('<!DOCTYPE html><html><head><link rel="alternate"')
    assert 'href="./feed.atom?author=ann&amp;tag=x%22%3E%3Cscript%3Ealert%281%29' in head
    assert "<script>" not in head
    assert int(answer.headers["content-length"]) == len(answer.content)


@pytest.mark.slow
def test_a_client_that_leaves_a_download_after_1_mb_stops_it_and_gives_its_turn_back(
    db_path, monkeypatch
):
    """Over a real HTTP server (uvicorn, as `streamlit run` serves the routes)."""
    monkeypatch.setenv("NOTES_DB", str(db_path))
    with closing(app.open_database(db_path)) as db:
        app.seed_notes(db, 200_000)  # about 20 MB of CSV, 200 batches
    batches = []
    listing = NoteService.list_notes
    monkeypatch.setattr(
        NoteService, "list_notes", lambda *a, **k: batches.append(1) or listing(*a, **k)
    )
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=app.ROUTES), port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        with httpx.stream("GET", f"http://127.0.0.1:{port}/export.csv") as answer:
            received = 0
            for chunk in answer.iter_raw():
                received += len(chunk)
                if received >= 1_000_000:
                    break
        turns = app._exports()
        while turns._value < app.EXPORTS_AT_ONCE:  # its end gives the turn back
            time.sleep(0.05)
        assert len(batches) < 100  # of the 200 a whole download reads: it stopped
    finally:
        server.should_exit = True
        thread.join()
        st.cache_resource.clear()
