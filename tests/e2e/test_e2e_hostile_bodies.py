"""Notes are public, so a note body must never run code in a reader's browser.

Each hostile body is written through the Create page, then the feed is checked
with a detector (dialogs opened + dangerous DOM inside the note boxes). The
detector is itself proven with a positive control that does fire.
"""

from __future__ import annotations

import pytest
from notes_e2e import NOTE_BOXES, Server, create_note, db_row, note_body, note_box, open_page, title
from playwright.sync_api import BrowserContext, Page, expect

# body -> the text a reader must see instead (None: markdown, checked separately)
HOSTILE = {
    "<img src=x onerror=alert(1)>": "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>": "<script>alert(2)</script>",
    "[x](javascript:alert(3))": "[x](javascript:alert(3))",
    "![x](javascript:alert(4))": "![x](javascript:alert(4))",
    '<a href="javascript:alert(5)">a</a>': '<a href="javascript:alert(5)">a</a>',
}
_DANGEROUS_DOM_JS = """(selector) => {
  const found = [];
  for (const box of document.querySelectorAll(selector)) {
    const key = [...box.classList].find((c) => c.startsWith("st-key-note_"));
    for (const el of box.querySelectorAll("*")) {
      const tag = el.tagName.toLowerCase();
      if (["script", "iframe", "frame", "object", "embed", "base", "meta"].includes(tag))
        found.push(`${key}: <${tag}> element`);
      if (tag === "img" && el.getAttribute("src") === "x")
        found.push(`${key}: <img src="x">`);
      for (const attr of el.attributes) {
        if (attr.name.startsWith("on"))
          found.push(`${key}: <${tag} ${attr.name}="${attr.value}">`);
        if (/^\\s*(javascript|vbscript|data:text\\/html)/i.test(attr.value))
          found.push(`${key}: <${tag} ${attr.name}="${attr.value}">`);
      }
    }
  }
  return found;
}"""


@pytest.fixture(scope="module")
def browser_context_args(browser_context_args: dict) -> dict:
    """Without the app's Content-Security-Policy, which would refuse these payloads too:
    what is tested here is the rendering alone (and the positive control needs it off)."""
    return {**browser_context_args, "bypass_csp": True}


class XssDetector:
    """Records every dialog (alert, confirm, prompt) any page of a context opens."""

    def __init__(self, context: BrowserContext) -> None:
        self.dialogs: list[str] = []
        for page in context.pages:
            self._watch(page)
        context.on("page", self._watch)

    def _watch(self, page: Page) -> None:
        page.on("dialog", self._record)

    def _record(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}({dialog.message})")
        dialog.dismiss()

    @staticmethod
    def dangerous_dom(page: Page) -> list[str]:
        """Return each script, event handler or javascript: URL inside the note boxes."""
        return page.evaluate(_DANGEROUS_DOM_JS, NOTE_BOXES)


def test_hostile_note_bodies_are_shown_as_text_and_never_run(
    page: Page, context: BrowserContext, server: Server
) -> None:
    detector = XssDetector(context)
    note_ids = {body: create_note(page, server, "mallory", body) for body in HOSTILE}

    open_page(page, server, "/")
    for note_id in note_ids.values():
        expect(note_box(page, note_id)).to_be_visible()
    problems: list[str] = []
    for body, shown in HOSTILE.items():
        note_id = note_ids[body]
        if db_row(server.db_path, note_id).body != body:
            problems.append(f"#{note_id}: stored body is not {body!r}")
        text = note_body(page, note_id).inner_text().strip()
        if text != shown:
            problems.append(f"#{note_id}: shows {text!r}, expected the literal text {shown!r}")

    # A javascript: link or image is shown as typed, not a link or an image
    # (note_html: links go to http, https and mailto only, and images never load).
    expect(note_body(page, note_ids["[x](javascript:alert(3))"]).locator("a")).to_have_count(0)
    expect(note_box(page, note_ids["![x](javascript:alert(4))"]).locator("img")).to_have_count(0)
    expect(title(page)).to_have_text("Read Note Feed")
    problems += XssDetector.dangerous_dom(page)

    # Positive control: the same detector, on the same page, catches a payload
    # that does run (inserted straight into the DOM, bypassing the app).
    dialogs_before_control = list(detector.dialogs)
    with page.expect_event("dialog"):
        page.evaluate(
            """(selector) => {
                 const box = document.querySelector(selector);
                 box.insertAdjacentHTML("beforeend", '<img src=x onerror=alert("control")>');
               }""",
            f".st-key-note_{note_ids['<script>alert(2)</script>']}",
        )
    assert "alert(control)" in detector.dialogs, detector.dialogs
    control_findings = XssDetector.dangerous_dom(page)
    assert any('onerror="alert("control")"' in f for f in control_findings), control_findings
    assert any('<img src="x">' in f for f in control_findings), control_findings

    assert dialogs_before_control == [], f"note bodies opened dialogs: {dialogs_before_control}"
    assert problems == [], "hostile bodies were not inert:\n" + "\n".join(problems)
