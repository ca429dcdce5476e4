"""note_markdown: what a note's markdown may do on the page (issue 11, "Reading").

Examples for each rule, then properties over generated bodies. The browser tests
(tests/e2e/test_e2e_markdown.py) check the same rules in Streamlit's own renderer.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import app
from app import note_markdown

IMG = "https://img.example/p.png"


@pytest.mark.parametrize(
    ("body", "markdown"),
    [
        # Headings are bold text, in quotes and lists too; setext ones as well.
        ("# HELLO", "**HELLO**"),
        ("###### six ###", "**six**"),
        ("#tag is no heading", "#tag is no heading"),
        ("a\n# b\nc", "a\n\n**b**\n\nc"),
        ("> # quoted\n> text", "> **quoted**\n>\n> text"),
        ("- # listed", "- **listed**"),
        ("Title\n===\nbody", "**Title**\n\nbody"),
        ("two\nlines\n---", "**two\nlines**\n"),
        ("#", ""),
        # LaTeX is off: dollars are escaped outside code, left alone inside it.
        ("$\\rule{10px}{50000px}$", "\\$\\\\rule{10px}{50000px}\\$"),
        ("$$x$$ and `$y$`", "\\$\\$x\\$\\$ and `$y$`"),
        ("```\n$$x$$ [a](javascript:b)\n```", "```\n$$x$$ [a](javascript:b)\n```"),
        ("```math\n\\rule{1px}{1px}\n```", "```\n\\rule{1px}{1px}\n```"),
        ("~~~ m&#97;th\nx\n~~~", "~~~\nx\n~~~"),
        ("```python\nx = 1\n```", "```python\nx = 1\n```"),
        ("\n    indented $code$", "\n    indented $code$"),
        # Links go to http, https and mailto only; anything else is its text.
        ("[a](https://ok.example)", "[a](<https://ok.example>)"),
        ("[a](HTTP://ok.example/x?q=1&r=2)", "[a](<HTTP://ok.example/x?q=1&amp;r=2>)"),
        ("[m](mailto:a@b.example)", "[m](<mailto:a@b.example>)"),
        ("[d](data:text/html;base64,PHNjcmlwdD4=)", "d"),
        ("[j](javascript:alert(1))", "j"),
        ("[j](JaVaScRiPt&colon;alert(1))", "j"),
        ("[j](java\\script:x)", "j"),
        ("[f](file:///etc/passwd) [r](/relative) [h](#here) [p](//x.example)", "f r h p"),
        ("[x][r]\n\n[r]: vbscript:x", "x\n\n"),
        (
            "[x][r] [r]\n\n[r]: https://ok.example",
            "[x](<https://ok.example>) [r](<https://ok.example>)\n\n",
        ),
        ("<https://ok.example/a>", "[https://ok.example/a](<https://ok.example/a>)"),
        ("<data:text/html,hi>", "\\<data\\:text/html,hi>"),
        ("<a@b.example>", "[a@b.example](<mailto:a@b.example>)"),
        ('[a](<https://ok.example/a b> "title")', "[a](<https://ok.example/a%20b>)"),
        ("[](https://ok.example)", "[https://ok.example](<https://ok.example>)"),
        ("[$x$](https://ok.example/$)", "[\\$x\\$](<https://ok.example/%24>)"),
        # Images are links to them (http and https only), or their alt text.
        (f"![cat]({IMG})", f"[cat (image)](<{IMG}>)"),
        (f"![]({IMG})", f"[(image)](<{IMG}>)"),
        ("![x](data:image/png;base64,AAAA)", "x (image)"),
        (f"[![cat]({IMG})](https://ok.example)", "[cat (image)](<https://ok.example>)"),
        (f"![y][r]\n\n[r]: {IMG}", f"[y (image)](<{IMG}>)\n\n"),
        (f"\\![x]({IMG})", f"\\![x](<{IMG}>)"),
        ("!#tag", "\\!#tag"),
        # HTML, directives and footnotes show as typed; emoji and icons stay.
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)>"),
        (
            ":red-background[big] :color{background=red}",
            "\\:red-background\\[big\\] \\:color{background=red}",
        ),
        (":::x\nhi\n:::", "\\:\\:\\:x\nhi\n\\:\\::"),
        ("a[^1]\n\n[^1]: b", "a^1\n\n"),  # a reference to "b", a relative link
        (
            ":smile: :material/home: at 10:30, see http://ok.example",
            "\\:smile: \\:material/home: at 10:30, see http://ok.example",
        ),
        # Code spans and the rest of markdown are left as they were.
        (
            "**bold** _it_ ~~gone~~ `[a](javascript:b)`",
            "**bold** _it_ ~~gone~~ `[a](javascript:b)`",
        ),
        ("- [ ] todo\n- [x] done", "- [ ] todo\n- [x] done"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "| a | b |\n|---|---|\n| 1 | 2 |"),
        ("a ` b", "a \\` b"),
        ("`a|b`", "\\`a|b\\`"),
        ("\\$ and \\[ stay escaped", "\\$ and \\[ stay escaped"),
        ("ends in a hard break\\\nnext", "ends in a hard break\\\nnext"),
    ],
)
def test_a_body_is_rewritten_to_safe_markdown(body: str, markdown: str) -> None:
    assert note_markdown(body) == markdown


def test_tags_stay_text_in_the_body_the_feed_shows_them_as_buttons() -> None:
    assert note_markdown("#Python `#not` [#no](https://ok.example)") == (
        "#Python `#not` [#no](<https://ok.example>)"
    )


def test_search_words_are_highlighted_outside_code() -> None:
    assert note_markdown("coffee `coffee` #coffee", terms=["cof"]) == (
        ":orange-background[coffee] `coffee` #:orange-background[coffee]"
    )


def test_an_escaped_url_in_a_filter_cannot_start_a_block_or_a_link() -> None:
    assert app._escape_markdown("a\n    b\n# c [d](e)") == "a b \\# c \\[d\\]\\(e\\)"


# ------------------------------------------------------------------ properties

PLAIN = st.text(st.sampled_from("abcXYZ019 ,.?'()\n"), max_size=140).filter(
    lambda s: not re.search(r"^\s*[0-9]+[.)]?\s*$|^ *$", s, re.MULTILINE)
)
# Pieces of markdown, so that links, images, references and fences are often formed.
PIECES = [*"ab #*_~`$!:[]()<>\\|{}-=.\n \t", "> ", "- ", "```", "~~~", "    ", "&#33;"]
PIECES += ["[a](", "![i](", "[r]: ", "[r]", "][r]", "<", ">", ")", ' "t")']
PIECES += ["http://x.y/", "javascript:x", "data:x", "JaVa&#83;cript:x", "mailto:a@b.c", "/rel"]
TARGETS = ["http://x.y/", "javascript:x", "data:x", "JaVa&#83;cript:x", "mailto:a@b.c", "/rel", ""]
LINKS = st.builds(
    lambda start, target, end: start + target + end,
    st.sampled_from(["[a](", "![i](", "[a](<", "<", "\n[r]: ", "[![i](", "[`a`]("]),
    st.sampled_from(TARGETS),
    st.sampled_from([")", ">", ">)", ' "t")', "\n", ")](http://x.y)"]),
)
HOSTILE = st.lists(st.one_of(st.sampled_from(PIECES), LINKS), max_size=20).map("".join)
ALLOWED_TARGET = re.compile(r"\]\((?:<(?:https?|mailto):[^<>]*>|\./\?tag=[\w-]+)\)", re.I)


def outside_code(markdown: str) -> list[str]:
    """The lines of markdown outside fences and indented code blocks (a reader of its
    own, with the same conservative rules as the app's)."""
    kept, fence, lists, previous = [], None, False, ""
    for line in markdown.split("\n"):
        if fence:
            if re.fullmatch(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*", line):
                fence = None
        elif opener := re.match(r"( {0,3})(`{3,}(?=[^`]*$)|~{3,})", line):
            fence = opener.group(2)
        elif not previous.strip() and not lists and re.match(r" {4}| {0,3}\t", line):
            pass  # an indented code block
        else:
            lists = lists or re.match(r"[ \t>]*(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]|$)", line)
            kept.append(line)
        previous = line
    return kept


def unescaped(line: str) -> str:
    """A line without its backslash escapes and code spans, read left to right."""
    out, i = [], 0
    while i < len(line):
        if (
            line[i] == "\\"
            and line[i + 1 : i + 2]
            and line[i + 1] in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
        ):
            i += 2
        elif line[i] == "`":
            run = len(line[i:]) - len(line[i:].lstrip("`"))
            close = re.compile(rf"(?<!`)`{{{run}}}(?!`)").search(line, i + run)
            if close is None:
                out.append(line[i : i + run])
                i += run
            else:
                i = close.end()
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(HOSTILE)
def test_no_image_no_math_and_no_link_but_to_the_web(body: str) -> None:
    for line in map(unescaped, outside_code(note_markdown(body))):
        assert "![" not in line, line
        assert "$" not in line, line
        assert "`" not in line, line
        assert not re.search(r"\]\[|\]:", line), line  # references are resolved
        rest = ALLOWED_TARGET.sub("", line)
        assert "](" not in rest, line
        assert "<" not in rest, line


@settings(max_examples=200, deadline=None)
@given(HOSTILE)
def test_no_heading_is_left(body: str) -> None:
    for line in outside_code(note_markdown(body)):
        containers = app._CONTAINERS.match(line).group()
        assert not re.match(r"[ \t]{0,3}#{1,6}(?:[ \t]|$)", line[len(containers) :]), line


@given(PLAIN)
def test_text_without_markdown_is_unchanged(body: str) -> None:
    assert note_markdown(body) == body


@given(st.text(st.characters(exclude_characters="`|\n\r"), min_size=1, max_size=40))
def test_a_code_span_is_unchanged(code: str) -> None:
    assert f"`{code}`" in note_markdown(f"see `{code}` here")


@given(st.lists(st.text(st.characters(exclude_characters="`~\n\r"), max_size=30), max_size=4))
def test_a_fenced_block_is_unchanged(lines: list[str]) -> None:
    body = "\n".join(["```", *lines, "```"])
    assert note_markdown(body) == body
