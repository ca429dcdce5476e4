"""validate_note: the one gate every write goes through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import app
from app import CHAR_LIMIT, USERNAME_LIMIT, InvalidNoteError, validate_note


@pytest.mark.parametrize(
    ("username", "body", "message"),
    [
        ("alice", "", app.MSG_BODY_EMPTY),
        ("alice", "   \n\t  ", app.MSG_BODY_EMPTY),
        ("alice", "x" * 152, "Note is 152 characters; the limit is 140 (12 over)."),
        ("alice", "x" * 200, "Note is 200 characters; the limit is 140 (60 over)."),
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
    ],
)
def test_bad_input_is_refused_with_a_message_a_person_can_act_on(username, body, message):
    with pytest.raises(InvalidNoteError) as caught:
        validate_note(username, body)
    assert message in str(caught.value)


def test_the_issue_example_message_is_exact():
    with pytest.raises(InvalidNoteError, match=r"^Note is 152 characters; the limit is 140"):
        validate_note("alice", "y" * 152)


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


_printable = st.characters(blacklist_categories=("Cc", "Cs"))


@given(username=st.text(_printable, min_size=1, max_size=60), body=st.text(max_size=200))
def test_validation_accepts_exactly_the_bodies_the_rules_allow(username, body):
    stripped = body.replace("\r\n", "\n").strip()
    allowed = (
        0 < len(stripped) <= CHAR_LIMIT
        and all(ch in "\n\t" or not (ord(ch) < 32 or ord(ch) == 127) for ch in stripped)
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
