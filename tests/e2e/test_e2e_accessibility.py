"""What every visitor's browser gets besides the page's content: an axe-core scan of
every page in both colour schemes at desktop and phone width, the theme that follows the
browser's colour scheme, a tab title per page and per note, a favicon that fetches
nothing from another server, and the app's own security headers (Content-Security-Policy
and others) leaving every page working.

axe-core comes bundled with axe-playwright-python, so the scans work offline. Its rules
for names (button-name, link-name, label, aria-*-name, select-name) are serious or
critical, so "no serious or critical violation" includes "every control has a name".
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from axe_playwright_python.sync_playwright import DEFAULT_OPTIONS, Axe
from notes_e2e import (
    DEAD_PROXY,
    PAGES,
    Server,
    open_page,
    rerun,
    store_notes,
    title,
    trash_notes,
)
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    expect,
)

AXE = Axe()
AXE_OPTIONS = DEFAULT_OPTIONS  # what Axe().run(page) passes to axe.run
SERIOUS = {"serious", "critical"}
SCHEMES = ("light", "dark")
DESKTOP, PHONE = 1280, 390  # a desktop window and a phone, in CSS pixels
WIDTHS = (DESKTOP, PHONE)
HEIGHT = 900
PERMALINK = "/?note={note}"  # the note is only known once the module's notes are stored
PATHS = (*PAGES, PERMALINK)
PRIMARY = "rgb(28, 109, 208)"  # primaryColor #1c6dd0 in .streamlit/config.toml


@pytest.fixture(scope="module")
def note(server: Server) -> int:
    """Store notes that use what a note can show (code, a link, a tag, a heading) and one
    in the trash, so every page has captions, links and code to check; return one's number."""
    ids = store_notes(
        server.db_path,
        [
            ("ada", "Bought `milk` and **eggs** #shopping"),
            ("bob", "Read [the docs](https://example.com) before the #meeting"),
            ("cy", "### A heading\n\n- a list\n- of two"),
            ("dee", "Gone to the trash, with `code` in it"),
        ],
    )
    trash_notes(server.db_path, [ids[-1]])
    return ids[1]


@pytest.fixture(scope="module")
def context(browser: Browser, browser_context_args: dict) -> Iterator[BrowserContext]:
    """One browser context for the module (tests/e2e/conftest.py's context), light and
    1280 px wide until a test emulates another colour scheme or width on its page.
    Nothing it asks of another host leaves the machine (DEAD_PROXY)."""
    viewport = {"width": DESKTOP, "height": HEIGHT}
    context = browser.new_context(
        **{
            **browser_context_args,
            "color_scheme": "light",
            "viewport": viewport,
            "proxy": DEAD_PROXY,
        }
    )
    yield context
    context.close()


@pytest.fixture(scope="module")
def scanned_page(context: BrowserContext, server: Server, note: int, path: str) -> Iterator[Page]:
    """The page at path, loaded once and with axe-core injected once, for the scans of all
    its colour schemes and widths (pytest groups the tests by the module-scoped path).
    Each scan emulates its scheme and width on it and waits until the page shows them: a
    page load and an injection per scan took most of this module's time, and Streamlit's
    theme and layout follow prefers-color-scheme and the width live."""
    page = context.new_page()
    open_page(page, server, path.format(note=note))
    page.evaluate(AXE.axe_script)
    yield page
    page.close()


def _show(page: Page, color_scheme: str, width: int) -> None:
    """Emulate the colour scheme and width on page and wait until it shows them: the app's
    background in that scheme (as the theme test checks it), the sidebar shown on a
    desktop and folded away on a phone (as a page first loaded at that width has it)."""
    page.emulate_media(color_scheme=color_scheme)
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.wait_for_function(
        """dark => {
            const app = document.querySelector("[data-testid='stApp']");
            const [red, green, blue] = getComputedStyle(app).backgroundColor.match(/\\d+/g);
            const brightness = (Number(red) + Number(green) + Number(blue)) / 3;
            return dark ? brightness < 64 : brightness > 192;
        }""",
        arg=color_scheme == "dark",
    )
    assert page.evaluate("window.innerWidth") == width
    sidebar = page.get_by_test_id("stSidebar")
    if width == PHONE:
        expect(sidebar).not_to_be_in_viewport()
    else:
        expect(sidebar).to_be_in_viewport()


def _report(violations: list[dict]) -> str:
    """Each violation as its rule, impact and help, then each node's selector and failure."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize(
    "path",
    PATHS,
    ids=lambda path: {"/": "feed", PERMALINK: "permalink"}.get(path, path[1:]),
    scope="module",
)
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("color_scheme", SCHEMES)
def test_no_page_has_a_serious_or_critical_accessibility_violation(
    scanned_page: Page, color_scheme: str, width: int, path: str
) -> None:
    _show(scanned_page, color_scheme, width)

    # Axe().run(page)'s own call (its options too), less its injection of axe-core again.
    violations = scanned_page.evaluate(f"axe.run({json.dumps(AXE_OPTIONS)})")["violations"]

    serious = [violation for violation in violations if violation["impact"] in SERIOUS]
    assert not serious, f"{path} in {color_scheme} at {width} px:\n{_report(serious)}"


@pytest.mark.parametrize("color_scheme", SCHEMES)
def test_the_theme_follows_the_browsers_colour_scheme_with_our_accent_colour(
    page: Page, server: Server, color_scheme: str
) -> None:
    page.emulate_media(color_scheme=color_scheme)  # the browser's setting, before the load
    open_page(page, server, "/")

    background = page.get_by_test_id("stApp").evaluate("e => getComputedStyle(e).backgroundColor")
    red, green, blue = map(int, re.findall(r"\d+", background)[:3])
    brightness = (red + green + blue) / 3
    assert brightness < 64 if color_scheme == "dark" else brightness > 192, background
    # The accent colour: a focused text box is outlined in it.
    page.get_by_label("Search notes").focus()
    expect(page.locator(".st-key-q input").locator("..")).to_have_css("border-color", PRIMARY)


def test_every_page_and_every_permalink_has_its_own_tab_title(
    page: Page, server: Server, note: int
) -> None:
    seen = set()
    for path, heading in PAGES.items():
        open_page(page, server, path)
        expect(page).to_have_title(f"{heading} · Littlest Notes")
        seen.add(page.title())
    open_page(page, server, f"/?note={note}")
    expect(page).to_have_title(f"Note #{note} · Littlest Notes")
    seen.add(page.title())
    assert len(seen) == len(PAGES) + 1

    # Moving between pages in the same tab changes the title too.
    links = page.get_by_test_id("stSidebarNavLink")
    rerun(page, links.filter(has_text="Create a Note").click)
    expect(title(page)).to_have_text("Create a Note")
    expect(page).to_have_title("Create a Note · Littlest Notes")
    rerun(page, links.filter(has_text="Read Note Feed").click)
    expect(page).to_have_title("Read Note Feed · Littlest Notes")


@pytest.fixture
def outside_requests(page: Page, server: Server) -> list[str]:
    return listen_outside(page, server)


def listen_outside(page: Page, server: Server) -> list[str]:
    """Every request the page makes to another origin, listed (and refused: the module's
    context sends it to DEAD_PROXY). Listened to, not routed: a route would turn the
    HTTP cache off, and each page load would fetch and compile Streamlit's scripts."""
    outside: list[str] = []

    def listed(request: Request) -> None:
        if not request.url.startswith(server.base_url + "/"):
            outside.append(request.url)

    page.on("request", listed)
    return outside


def test_the_favicon_comes_from_the_app_and_no_request_leaves_its_origin(
    page: Page, server: Server, note: int, outside_requests: list[str]
) -> None:
    for path in (*PAGES, PERMALINK.format(note=note)):
        open_page(page, server, path)
        # The app's own file: a ":material/...:" icon was a fonts.gstatic.com URL, and an
        # emoji a data: URL that the deployment guide's img-src 'self' would refuse.
        favicon = page.locator("link[rel='shortcut icon']")
        expect(favicon).to_have_attribute(
            "href", re.compile("^" + re.escape(server.base_url) + "/")
        )

    assert outside_requests == []


def test_the_favicon_check_sees_a_favicon_from_another_server(
    browser: Browser, browser_context_args: dict, server: Server
) -> None:
    """The control for the test above: had the favicon been elsewhere, it would be listed.
    (In a context that ignores the app's CSP, which would refuse to ask at all.)"""
    context = browser.new_context(**browser_context_args, proxy=DEAD_PROXY, bypass_csp=True)
    try:
        page = context.new_page()
        outside_requests = listen_outside(page, server)
        open_page(page, server, "/about")
        elsewhere = "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/x.svg"
        with page.expect_event("requestfailed", lambda request: request.url == elsewhere):
            page.locator("link[rel='shortcut icon']").evaluate(
                "(link, url) => link.href = url", elsewhere
            )
        assert outside_requests == [elsewhere]
    finally:
        context.close()


def test_every_page_works_under_the_apps_own_security_headers(
    page: Page, server: Server, note: int
):
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Security Policy" in m.text else 0)
    documents: list[dict[str, str]] = []
    page.on("response", lambda r: r.request.resource_type == "document" and documents.append(
        r.all_headers()))  # fmt: skip
    paths = (*PAGES, PERMALINK.format(note=note))
    for path in paths:
        open_page(page, server, path)
        if path == "/":
            page.get_by_text("Raw Note Table Data").click()
            expect(page.get_by_test_id("stDataFrame")).to_be_visible()
        expect(page.get_by_test_id("stException")).to_have_count(0)
    assert refused == []
    assert len(documents) == len(paths)
    for headers in documents:
        policy = headers["content-security-policy"]
        assert "img-src 'self';" in policy and policy.endswith("frame-ancestors 'none'")
        assert headers["x-content-type-options"] == "nosniff"
    # The control: the policy is enforced, so a script the app did not write does not run.
    with page.expect_console_message(
        lambda m: "violates the following Content Security Policy" in m.text
    ):
        ran = page.evaluate(
            "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
            " document.body.append(s); return window.ran === 1; }"
        )
    assert not ran
