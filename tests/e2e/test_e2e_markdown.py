"""A note can never take over the page or reach out of it (issue 11, "Reading").

The notes are written once for the module straight into the database with the app's
own NoteService. Images point at an HTTP server the test runs on 127.0.0.1, which
counts every request it gets: no reader's browser may make one.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from notes_e2e import NOTE_BOXES, Server, note_body, note_box, open_page, store_notes
from playwright.sync_api import Page, expect

SHOTS = Path("/tmp/wt-render-shots")  # looked at by hand; artifacts/ keeps failures only
HEIGHT_CAP_PX = 400  # _NOTE_CSS: max-height 25rem at Streamlit's 16 px rem


@pytest.fixture(scope="module")
def browser_context_args(browser_context_args: dict) -> dict:
    """Without the app's Content-Security-Policy, which would refuse these payloads too:
    what is tested here is the rendering alone (and the positive control needs it off)."""
    return {**browser_context_args, "bypass_csp": True}


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/gif")
        self.end_headers()
        self.wfile.write(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module", autouse=True)
def _shots_folder() -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture(scope="module")
def image_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on 127.0.0.1 that answers anything with a GIF and keeps each path."""
    hits: list[str] = []
    handler = type("Counter", (_Counter,), {"hits": hits})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def tricky_bodies(img: str) -> list[str]:
    """Bodies that try to load an image, open a non-web link or typeset LaTeX, each in a
    place where a reader of markdown could be led astray (a fence, a list, a table...)."""
    i = f"![i]({img}/i.gif)"
    return [
        f"![pixel]({img}/pixel.gif)",
        f"[x]: {img}/ref.gif\n\n![y][x] ![x]",
        f'![t](<{img}/t.gif> "title") [![a]({img}/in-link.gif)](https://ok.example)',
        f"```\n{i}\n```\nafter the fence",
        f"- a\n\nb\n  ~~~\n```\n~~~\n{i}",
        f"> ```\n{i}\n```",
        f"`a\n{i}` and a ` b\n` {i} `",
        f"| a | b |\n|---|---|\n| `x | {i} ` |",
        f":::x\n```\n:::\n{i}",
        f"<div>\n{i}\n</div>\n\n    code\n{i}",
        f"- x\n\n    {i}\n\n[^1]\n\n[^1]: {i}",
        f"\\`{i}` &#33;[e]({img}/entity.gif) \\![f]({img}/escaped.gif)",
        "[a](javascript:alert(1)) [b](JaVaScRiPt&colon;alert(1)) [c](vbscript:x)",
        "[d](file:///etc/passwd) [e](/relative) [f](#x) [g](data:text/html,hi) [h](//x.example)",
        "<javascript:alert(1)> <data:text/html,hi> <mailto:a@b.example> <a@b.example>"
        " [ok](https://ok.example) [m](mailto:a@b.example)",
        "$$\n\\rule{1px}{5000px}\n$$\n\n```math\n\\rule{1px}{5000px}\n```",
        "~~~ m&#97;th\n\\rule{1px}{5000px}\n~~~\n\n$x^2$ and $$y$$",
        ":red-background[big] :color[x]{background=red} :help[tip] :small[s] #tagged",
        "Setext\n===\n# H1\n## H2\n###### H6\n- # in a list\n> ## in a quote\n1. > ### deeper",
    ]


@pytest.fixture(scope="module")
def notes(server: Server, image_server: tuple[str, list[str]]) -> dict[str, int]:
    """The oversized and hostile notes of issue 11, a plain one, and the tricky ones."""
    img, _ = image_server
    named = {  # oldest first: all but "word" are on the feed's first page (25 notes)
        "word": "W" * 140,
        "rule": "$\\rule{10px}{50000px}$",
        "lists": "- " * 69 + "x",
        "quotes": ">" * 139 + "x",
        "data": "[d](data:text/html;base64,PHNjcmlwdD4=)",
        "heading": "# HELLO",
        "plain": "A plain note of body text.",
        "emoji": ":smile: :material/home: at 10:30, key: value, see https://ok.example",
    }
    ids = store_notes(server.db_path, [("mallory", body) for body in named.values()])
    tricky = store_notes(server.db_path, [("mallory", body) for body in tricky_bodies(img)])
    return {**dict(zip(named, ids, strict=True)), "tricky": tricky[0], "newest": tricky[-1]}


_OFFENCES_JS = """(selector) => {
  const found = [];
  for (const box of document.querySelectorAll(selector)) {
    const key = [...box.classList].find((c) => c.startsWith("st-key-note_"));
    for (const el of box.querySelectorAll("img, image, picture, video, audio, source, iframe"))
      found.push(`${key}: <${el.tagName.toLowerCase()} src=${el.getAttribute("src")}>`);
    for (const a of box.querySelectorAll(".notes-text a")) {  // (the byline's are the app's)
      const href = a.getAttribute("href") || "";
      if (!/^(https?:|mailto:|\\.\\/\\?tag=)/i.test(href)) found.push(`${key}: <a href="${href}">`);
    }
    for (const el of box.querySelectorAll(".katex, .katex-display, math, code.language-math"))
      found.push(`${key}: LaTeX <${el.tagName.toLowerCase()} class=${el.className}>`);
    for (const el of box.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
      const size = parseFloat(getComputedStyle(el).fontSize);
      if (size > 16.5) found.push(`${key}: <${el.tagName.toLowerCase()}> of ${size}px`);
    }
  }
  return found;
}"""


def test_no_note_loads_an_image_links_outside_the_web_or_typesets_latex(
    page: Page, server: Server, notes: dict[str, int], image_server: tuple[str, list[str]]
) -> None:
    img, hits = image_server
    open_page(page, server, "/")
    expect(note_box(page, notes["tricky"])).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert page.evaluate(_OFFENCES_JS, NOTE_BOXES) == []
    assert hits == [], f"readers' browsers fetched {hits}"
    # An image from the note became a link to it, labelled as an image.
    first = note_box(page, notes["tricky"])
    expect(first.get_by_role("link", name="pixel (image)")).to_have_attribute(
        "href", f"{img}/pixel.gif"
    )
    # Positive control: an image on the page does reach the server, and is detected.
    page.evaluate(
        "([selector, src]) => { const i = document.createElement('img'); i.src = src;"
        " document.querySelector(selector).append(i); }",
        [f".st-key-note_{notes['plain']}", f"{img}/control.gif"],
    )
    page.wait_for_function("() => [...document.images].some((i) => i.complete)")
    assert "/control.gif" in hits
    assert page.evaluate(_OFFENCES_JS, NOTE_BOXES) != []


@pytest.mark.parametrize("name", ["rule", "lists", "quotes", "word"])
def test_an_oversized_note_stays_within_its_height_cap_and_its_column(
    page: Page, server: Server, notes: dict[str, int], name: str
) -> None:
    open_page(page, server, f"/?note={notes[name]}")
    box = note_box(page, notes[name])
    expect(box).to_be_visible()
    text = page.locator(f".st-key-note_{notes[name]} .notes-text")
    expect(text).to_contain_text("W" * 140 if name == "word" else "x")  # the text is there
    column = page.get_by_test_id("stMainBlockContainer").bounding_box()
    text_box, note = text.bounding_box(), box.bounding_box()
    assert text_box["height"] <= HEIGHT_CAP_PX + 1
    assert note["height"] <= HEIGHT_CAP_PX + 150  # the text, the byline and the padding
    assert column["x"] <= note["x"] and note["x"] + note["width"] <= column["x"] + column["width"]
    # Nothing inside the note is drawn outside its box, and the page never scrolls sideways.
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
    outside = text.evaluate(
        """(text) => {
          const limit = text.getBoundingClientRect();
          const clip = (r) => r.right > limit.right + 1 || r.bottom > limit.bottom + 1;
          return [...text.querySelectorAll("*")].filter((el) => {
            const r = el.getBoundingClientRect();
            if (r.width === 0 || r.height === 0) return false;
            const visible = document.elementFromPoint(
              Math.min(r.right - 1, innerWidth - 1), Math.min(r.bottom - 1, innerHeight - 1));
            return clip(r) && visible === el;
          }).map((el) => el.tagName);
        }"""
    )
    assert outside == []
    # The innermost text can be read: no ancestor fades it away.
    opacity = text.evaluate(
        """(text) => { let o = 1, el = [...text.querySelectorAll("*")].pop();
                       for (; el; el = el.parentElement) o *= getComputedStyle(el).opacity;
                       return o; }"""
    )
    assert opacity >= 0.3


def test_shortcodes_and_times_show_as_typed_and_web_addresses_are_links(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    open_page(page, server, "/")
    body = note_body(page, notes["emoji"])
    expect(body).to_have_text(
        ":smile: :material/home: at 10:30, key: value, see https://ok.example"
    )
    expect(body.get_by_role("img")).to_have_count(0)
    expect(body.get_by_role("link", name="https://ok.example")).to_have_attribute(
        "href", "https://ok.example"
    )


def test_a_data_link_is_text_not_a_link(page: Page, server: Server, notes: dict[str, int]) -> None:
    open_page(page, server, "/")
    body = note_body(page, notes["data"])
    expect(body).to_have_text("[d](data:text/html;base64,PHNjcmlwdD4=)")
    expect(body.locator("a")).to_have_count(0)


def test_a_heading_is_no_larger_than_body_text(
    page: Page, server: Server, notes: dict[str, int]
) -> None:
    open_page(page, server, "/")
    heading, plain = note_body(page, notes["heading"]), note_body(page, notes["plain"])
    expect(heading).to_have_text("HELLO")
    size = "(el) => parseFloat(getComputedStyle(el).fontSize)"
    hello = heading.get_by_text("HELLO", exact=True)
    assert hello.evaluate(size) <= plain.locator("p").evaluate(size)
    assert heading.bounding_box()["height"] <= plain.bounding_box()["height"] + 1
    expect(heading.locator("h1, h2, h3, h4, h5, h6")).to_have_count(0)


@pytest.mark.parametrize("name", ["author", "tag"])
def test_a_filter_from_the_address_bar_is_shown_as_plain_text(
    page: Page, server: Server, notes: dict[str, int], name: str
) -> None:
    payload = "x\n\n# SECURITY NOTICE\n\n    indented code\n\n[log in](https://evil.example) https://evil.example"
    open_page(page, server, f"/?{name}={quote(payload)}")
    main = page.get_by_test_id("stMain")
    expect(main.get_by_text("SECURITY NOTICE", exact=False).first).to_be_visible()
    expect(main.locator("a[href*='evil.example']")).to_have_count(0)
    expect(main.locator("pre, code, h2, h3, h4, h5, h6")).to_have_count(0)
    expect(main.locator("h1")).to_have_count(1)  # the page's title only
    page.screenshot(path=SHOTS / f"filter-{name}.png")


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshot_of_the_feed_with_hostile_notes(
    page: Page, server: Server, notes: dict[str, int], width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 1600})
    open_page(page, server, "/")
    for name in ("newest", "quotes"):  # the newest notes, then the oversized ones
        note_box(page, notes[name]).scroll_into_view_if_needed()
        expect(note_box(page, notes[name]).get_by_role("link", name="mallory")).to_be_visible()
        page.screenshot(path=SHOTS / f"feed-{width}-{name}.png")
        assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth")
