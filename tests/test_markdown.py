"""note_html: what a note's markdown may do on the page (issue 11, "Reading"; issue 20
replaced the rewriter with markdown-it-py and nh3).

Examples for each rule, then properties over generated bodies, read back with the
standard library's HTML parser. The browser tests (tests/e2e/test_e2e_markdown.py) check
the same rules in Chromium, as Streamlit shows them.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import app
from app import note_html

IMG = "https://img.example/p.png"
LINK = '<a href="{}" target="_blank" rel="noopener noreferrer">{}</a>'
TAG = LINK.format("./?tag={}", "{}")  # a #tag in the text: a link to its feed


def p(inner: str) -> str:
    return f"<p>{inner}</p>\n"


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        # Headings are bold text, in quotes too; setext ones as well.
        ("# HELLO", p("<strong>HELLO</strong>")),
        ("###### six ###", p("<strong>six</strong>")),
        ("#tag is no heading", p(TAG.format("tag", "#tag") + " is no heading")),
        ("Title\n===\nbody", p("<strong>Title</strong>") + p("body")),
        (
            "> # quoted\n> text",
            f"<blockquote>\n{p('<strong>quoted</strong>')}{p('text')}</blockquote>\n",
        ),
        # LaTeX, directives, emoji shortcodes and footnotes show as typed.
        ("$\\rule{10px}{50000px}$ $$x$$", p("$\\rule{10px}{50000px}$ $$x$$")),
        (
            ":red-background[big] :smile: :material/home:",
            p(":red-background[big] :smile: :material/home:"),
        ),
        ("a[^1]\n\n[^1]: b", p("a[^1]") + p("[^1]: b")),
        # Links go to http, https and mailto only, in a new tab; anything else is its text.
        ("[a](https://ok.example)", p(LINK.format("https://ok.example", "a"))),
        (
            "[a](HTTP://ok.example/x?q=1&r=2)",
            p(LINK.format("HTTP://ok.example/x?q=1&amp;r=2", "a")),
        ),
        ("[m](mailto:a@b.example)", p(LINK.format("mailto:a@b.example", "m"))),
        ("[d](data:text/html;base64,PHNjcmlwdD4=)", p("[d](data:text/html;base64,PHNjcmlwdD4=)")),
        ("[j](javascript:alert(1))", p("[j](javascript:alert(1))")),
        ("[j](JaVaScRiPt&colon;alert(1))", p("[j](JaVaScRiPt:alert(1))")),
        (
            "[f](file:///etc/passwd) [r](/relative) [p](//x.example)",
            p("[f](file:///etc/passwd) [r](/relative) [p](//x.example)"),
        ),
        ("[x][r]\n\n[r]: vbscript:x", p("[x][r]") + p("[r]: vbscript:x")),
        ("[x][r]\n\n[r]: https://ok.example", p(LINK.format("https://ok.example", "x"))),
        ("<https://ok.example/a>", p(LINK.format("https://ok.example/a", "https://ok.example/a"))),
        ("<data:text/html,hi>", p("&lt;data:text/html,hi&gt;")),
        ("<a@b.example>", p(LINK.format("mailto:a@b.example", "a@b.example"))),
        ('[a](<https://ok.example/a b> "title")', p(LINK.format("https://ok.example/a%20b", "a"))),
        ("[](https://ok.example)", p(LINK.format("https://ok.example", "https://ok.example"))),
        (
            "see www.example.com or ftp://x.example",
            p(f"see {LINK.format('http://www.example.com', 'www.example.com')} or ftp://x.example"),
        ),
        # Images are links to them (http and https only), or their alt text; never loaded.
        (f"![cat]({IMG})", p(LINK.format(IMG, "cat (image)"))),
        (f"![]({IMG})", p(LINK.format(IMG, "(image)"))),
        ("![x](data:image/png;base64,AAAA)", p("![x](data:image/png;base64,AAAA)")),
        (
            f"[![cat]({IMG})](https://ok.example)",
            p(LINK.format("https://ok.example", "cat (image)")),
        ),
        (f"![y][r]\n\n[r]: {IMG}", p(LINK.format(IMG, "y (image)"))),
        # Raw HTML shows as typed.
        ("<img src=x onerror=alert(1)>", p("&lt;img src=x onerror=alert(1)&gt;")),
        ('<a href="javascript:x">x</a>', p('&lt;a href="javascript:x"&gt;x&lt;/a&gt;')),
        ("x<!-- c -->y", p("x&lt;!-- c --&gt;y")),
        # The rest of markdown is kept.
        (
            "**b** _i_ ~~g~~ `[a](javascript:b)`",
            p("<strong>b</strong> <em>i</em> <s>g</s> <code>[a](javascript:b)</code>"),
        ),
        ("- [ ] todo\n- [x] done", "<ul>\n<li>[ ] todo</li>\n<li>[x] done</li>\n</ul>\n"),
        ("```python\nx = 1 <b>\n```", "<pre><code>x = 1 &lt;b&gt;\n</code></pre>\n"),
        ("a hard break\\\nnext", p("a hard break<br>\nnext")),
        (
            "| a |\n|--:|\n| 1 |",
            '<table>\n<thead>\n<tr>\n<th style="text-align:right">a</th>\n</tr>\n</thead>\n'
            '<tbody>\n<tr>\n<td style="text-align:right">1</td>\n</tr>\n</tbody>\n</table>\n',
        ),
    ],
)
def test_a_body_is_shown_as_safe_html(body: str, shown: str) -> None:
    assert note_html(body) == shown


def test_a_tag_in_the_text_is_a_link_to_its_feed_but_not_in_code_or_a_link_or_a_word() -> None:
    assert note_html("#Python `#not` [#no](https://n.example) a#b #Straße") == p(
        TAG.format("python", "#Python")
        + " <code>#not</code> "
        + LINK.format("https://n.example", "#no")
        + " a#b "
        + TAG.format("stra%C3%9Fe", "#Straße")
    )


def test_search_words_are_highlighted_outside_code_in_any_case() -> None:
    assert note_html("Coffee `coffee` #coffee [cofe](https://c.example)", ("cof",)) == p(
        "<mark>Coffee</mark> <code>coffee</code> "
        + TAG.format("coffee", "<mark>#coffee</mark>")  # the whole tag, never split
        + " "
        + LINK.format("https://c.example", "<mark>cofe</mark>")
    )


def test_a_search_word_never_matches_inside_markup_the_app_writes() -> None:
    assert note_html("a & b < c", ("amp", "lt")) == p("a &amp; b &lt; c")


def test_an_escaped_url_in_a_filter_cannot_start_a_block_or_a_link() -> None:
    assert app._escape_markdown("a\n    b\n# c [d](e)") == "a b \\# c \\[d\\]\\(e\\)"


# ------------------------------------------------------------------ properties


class Page(HTMLParser):
    """What a browser would build from note_html: its elements and its text."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


ALLOWED = {"p", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ALLOWED |= {"hr", "table", "thead", "tbody", "tr", "th", "td", "br", "mark"}
# Pieces of markdown and HTML, so that links, images, references and fences are often formed.
PIECES = [*"ab #*_~`$!:[]()<>\\|{}-=.\n \t\"'", "> ", "- ", "```", "    ", "&#33;", "&lt;"]
PIECES += ["[a](", "![i](", "[r]: ", "[r]", "][r]", ")", ' "t")', "<img src=x onerror=y>"]
PIECES += ["<a href=", "<script>", "</a>", "<svg/onload=x>", "www.x.y", "a@b.c", "<!--"]
TARGETS = ["http://x.y/", "javascript:x", "data:x", "JaVa&#83;cript:x", "mailto:a@b.c", "/rel"]
TARGETS += [
    "",
    "//x.y",
    "vbscript:x",
    "\tjavascript:x",
    "java\nscript:x",
    'http://x.y/"onmouseover="',
]
LINKS = st.builds(
    lambda start, target, end: start + target + end,
    st.sampled_from(["[a](", "![i](", "[a](<", "<", "\n[r]: ", "[![i](", "[`a`]("]),
    st.sampled_from(TARGETS),
    st.sampled_from([")", ">", ">)", ' "t")', "\n", ")](http://x.y)"]),
)
HOSTILE = st.lists(st.one_of(st.sampled_from(PIECES), LINKS), max_size=20).map("".join)


@settings(max_examples=400, deadline=None)
@given(HOSTILE)
def test_only_text_formatting_and_links_to_the_web_ever_reach_the_page(body: str) -> None:
    for tag, attrs in Page(note_html(body)).elements:
        assert tag in ALLOWED, tag
        if tag == "a":
            href = attrs.pop("href", "https:")  # none: "[a]()" goes nowhere
            # the web, or the app's own link to a tag's feed
            assert re.match(r"(?:https?|mailto):|\./\?tag=[\w%-]+$", href, re.IGNORECASE), href
            assert attrs == {"target": "_blank", "rel": "noopener noreferrer"}
        elif tag in ("th", "td"):
            assert attrs in (
                {},
                *({"style": f"text-align:{a}"} for a in ("left", "center", "right")),
            )
        elif tag == "ol":
            assert set(attrs) <= {"start"}
        else:
            assert attrs == {}, (tag, attrs)


PLAIN = st.text(st.sampled_from("abcXYZ019 ,.?'()\n"), max_size=140).filter(
    lambda s: not re.search(r"^\s*[0-9]+[.)](?:\s|$)", s, re.MULTILINE)  # a numbered list
)


@given(PLAIN)
def test_text_without_markdown_is_shown_as_typed(body: str) -> None:
    text = "".join(Page(note_html(body)).text)
    assert text.split() == body.split()


@given(
    st.text(
        st.characters(exclude_characters="`\n\r", exclude_categories=["Cs", "Cc"]),
        min_size=1,
        max_size=40,
    )
)
def test_a_code_span_is_shown_as_typed(code: str) -> None:
    code = code.strip(" ") or "x"
    assert code in "".join(Page(note_html(f"see `{code}` here")).text)


def test_a_note_is_rendered_once_per_body_and_search() -> None:
    body = "cached **once**"
    first = note_html(body, ("cac",))
    assert note_html(body, ("cac",)) is first
    assert note_html(body) is not first


@given(
    st.lists(
        st.text(
            st.characters(exclude_characters="`~\n\r", exclude_categories=["Cs", "Cc"]), max_size=30
        ),
        max_size=4,
    )
)
def test_a_fenced_block_is_shown_as_typed(lines: list[str]) -> None:
    shown = note_html("\n".join(["```", *lines, "```"]))
    assert shown.startswith("<pre><code>")
    assert "".join(Page(shown).text) == "".join(f"{line}\n" for line in lines) + "\n"


@pytest.mark.parametrize("body", [">" * 139 + "x", "- " * 69 + "x", "> - " * 34 + "x"])
def test_a_note_nested_as_deep_as_its_length_allows_still_shows_its_text(body: str) -> None:
    assert "".join(Page(note_html(body)).text).strip() == "x"


def test_a_stored_row_nested_deeper_than_any_note_renders_without_error() -> None:
    assert note_html(">" * 560 + "x").startswith("<blockquote>")  # (its text is past the cap)
