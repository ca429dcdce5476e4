"""validate_note: the one gate every write goes through."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

import app
from app import CHAR_LIMIT, USERNAME_LIMIT, InvalidNoteError, validate_note

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 7 code points, 1 emoji


@pytest.mark.parametrize(
    ("username", "body", "message"),
    [
        ("alice", "", app.MSG_BODY_EMPTY),
        ("alice", "   \n\t  ", app.MSG_BODY_EMPTY),
        ("alice", "x" * 152, "Note is 152 characters; the limit is 140 (12 over)."),
        ("alice", "x" * 200, "Note is 200 characters; the limit is 140 (60 over)."),
        ("alice", "x" * 600, "Note is 600 characters; the limit is 140 (460 over)."),
        ("alice", "y" * 1_000_000, "Note is 1000000 characters; the limit is 140"),
        ("alice", "nul\x00byte", "control character (U+0000)"),
        ("alice", "bell\x07", "control character (U+0007)"),
        ("alice", "escape \x1b[31m red", "control character (U+001B)"),
        ("alice", "delete\x7f", "control character (U+007F)"),
        ("alice", "lone\rreturn", "control character (U+000D)"),
        ("alice", 42, "Note must be text, not int."),
        ("alice", None, "Note must be text, not NoneType."),
        ("", "hello", app.MSG_USERNAME_EMPTY),
        ("   ", "hello", app.MSG_USERNAME_EMPTY),
        ("a" * 141, "hello", "Username is 141 characters; the limit is 140 (1 over)."),
        ("two\nlines", "hello", "Username must be one line"),
        ("tab\there", "hello", "Username must be one line"),
        (b"bytes", "hello", "Username must be text, not bytes."),
        # Lone surrogates (half of an emoji from a bad paste) are not text.
        ("alice", "broken \ud83d here", "Note contains a broken character (U+D83D)"),
        ("al\udfffice", "hello", "Username contains a broken character (U+DFFF)"),
        # Direction controls make stored text read differently from how it shows.
        ("alice", "Invoice \u202efdp.exe", "text-direction control (U+202E)"),
        ("alice", "a \u2066isolate\u2069", "text-direction control (U+2066)"),
        ("ev\u202ee", "hello", "Username contains a text-direction control (U+202E)"),
        # Nothing to see: zero-width spaces, a Hangul filler, marks with no base.
        ("alice", "\u200b", "Note has no visible character"),
        ("alice", "\u200b\u200b \u3164", "Note has no visible character"),
        ("alice", "\u0301\u0302", "Note has no visible character"),
        ("\u200b", "hello", "Username has no visible character"),
        # A name that looks exactly like another one.
        ("Littlest Notes\u200b", "hello", "Username contains an invisible character (U+200B)"),
        ("Littlest\u2060Notes", "hello", "Username contains an invisible character (U+2060)"),
        ("Littlest Notes\u200d", "hello", "Username contains an invisible character (U+200D)"),
        # Characters counted as people see them, with caps on what a character may hold.
        ("alice", "e\u0301" * 141, "Note is 141 characters; the limit is 140 (1 over)."),
        ("alice", "e" + "\u0301" * 139, "a character built from 140 code points (at most 12)"),
        ("alice", FAMILY * 81, "built from 567 Unicode code points; the limit is 560"),
    ],
)
def test_bad_input_is_refused_with_a_message_a_person_can_act_on(username, body, message):
    with pytest.raises(InvalidNoteError) as caught:
        validate_note(username, body)
    assert message in str(caught.value)


def test_the_too_long_message_is_exactly_the_issue_example():
    with pytest.raises(InvalidNoteError) as caught:
        validate_note("alice", "y" * 152)
    assert str(caught.value) == "Note is 152 characters; the limit is 140 (12 over)."


def test_a_body_of_exactly_the_limit_is_accepted():
    assert validate_note("alice", "z" * CHAR_LIMIT) == ("alice", "z" * CHAR_LIMIT)


def test_a_username_of_exactly_the_limit_is_accepted():
    assert validate_note("u" * USERNAME_LIMIT, "hi")[0] == "u" * USERNAME_LIMIT


def test_surrounding_white_space_is_stripped_and_not_counted():
    assert validate_note("  alice \n", "\n  " + "b" * CHAR_LIMIT + "  \n") == (
        "alice",
        "b" * CHAR_LIMIT,
    )


def test_newlines_and_tabs_inside_a_body_are_kept_and_crlf_becomes_lf():
    assert validate_note("alice", "- one\r\n- two\n\tthree")[1] == "- one\n- two\n\tthree"


def test_limits_count_characters_not_bytes():
    body = "é🙂" * (CHAR_LIMIT // 2)  # 140 characters, 420 bytes of UTF-8
    assert validate_note("zoë", body) == ("zoë", body)


def test_an_emoji_made_of_several_joined_emoji_counts_as_one_character():
    body = FAMILY * 21  # 147 code points, 21 emoji: the issue's example
    assert validate_note("alice", body) == ("alice", body)
    with pytest.raises(InvalidNoteError, match=r"^Note is 141 characters"):
        validate_note("alice", FAMILY * 20 + "x" * 121)  # 20 + 121 = 141 characters


def test_zero_width_joiners_inside_emoji_are_kept_in_bodies_and_names():
    technologist = "\U0001f469\u200d\U0001f4bb"  # woman + ZWJ + laptop
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert validate_note(f"ada {technologist}", f"hi {technologist} from {scotland}") == (
        f"ada {technologist}",
        f"hi {technologist} from {scotland}",
    )


def test_a_body_may_hold_a_zero_width_space_beside_visible_text():
    assert validate_note("alice", "long\u200bword")[1] == "long\u200bword"


_printable = st.characters(blacklist_categories=("Cc", "Cs"))
_VISIBLE = regex.compile(r"[^\s\p{M}\p{C}\p{Default_Ignorable_Code_Point}\u2800]")


@given(
    username=st.text(st.sampled_from("abc xyz"), min_size=1, max_size=20),
    body=st.text(max_size=200),
)
def test_validation_accepts_exactly_the_bodies_the_rules_allow(username, body):
    stripped = body.replace("\r\n", "\n").strip()
    clusters = regex.findall(r"\X", stripped)
    allowed = (
        0 < len(clusters) <= CHAR_LIMIT
        and len(stripped) <= app.CODE_POINT_LIMIT
        and all(len(c) <= app.CHAR_CODE_POINT_LIMIT for c in clusters)
        and all(ch in "\n\t" or not (ord(ch) < 32 or ord(ch) == 127) for ch in stripped)
        and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in stripped)
        and not any(0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069 for ch in stripped)
        and _VISIBLE.search(stripped) is not None
        and username.strip() != ""
    )
    try:
        clean_username, clean_body = validate_note(username, body)
    except InvalidNoteError:
        assert not allowed
    else:
        assert allowed
        assert clean_body == stripped
        assert clean_username == username.strip()
