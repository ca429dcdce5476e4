"""The Activity page: the counts the store keeps for it (notes per hour of creation and
per #tag) always equal a count of the notes, whatever writes them; and the page shows
them, in the reader's time zone, with names as text.

Every test taking empty_db, seeded_db or app_test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app
from app import NoteService, extract_tags
from tests.conftest import all_notes, messages, sql

ADMIN = app.OPERATOR  # purges need an admin
NOW = app.now_timestamp()
YEAR_AGO = NOW - 400 * 86400


def counted_by_query(db) -> dict[str, Counter]:
    """What the counts must be: authors, hours and tags counted from the notes themselves."""
    notes = sql(db, "SELECT id, created_timestamp, username, body FROM notes")
    return {
        "authors": Counter(note["username"] for note in notes),
        "hours": Counter(app._hour(note["created_timestamp"]) for note in notes),
        "tags": Counter(tag for note in notes for tag in extract_tags(note["body"])),
    }


def stored_counts(db) -> dict[str, Counter]:
    """The maintained counts as stored (PostgreSQL's slots summed), zeros left out."""
    stored = {}
    for name, table, key in (
        ("authors", "note_counts", "username"),
        ("hours", "note_hours", "hour"),
        ("tags", "tag_counts", "tag"),
    ):
        rows = sql(
            db,
            f"SELECT {key} AS k, CAST(sum(notes) AS bigint) AS n FROM {table}"
            f" WHERE {key} <> :none GROUP BY {key} HAVING sum(notes) <> 0",
            {"none": "" if key != "hour" else -1},
        )
        stored[name] = Counter({row["k"]: row["n"] for row in rows})
    return stored


def ranked(counter: Counter, top: int) -> tuple[tuple[str, int], ...]:
    """The brute-force ranking: most first, ties by name (by code point)."""
    return tuple(sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top])


def assert_counts_match(db) -> None:
    """The stored counts, check_database and NoteService.activity all agree with a count
    of the notes."""
    expected = counted_by_query(db)
    assert stored_counts(db) == expected
    # (PostgreSQL's folded hours may leave a slot at -1: only the sums must be right)
    for table in ("note_counts", "tag_counts", "note_hours")[
        : 3 if app._dialect(db) == "sqlite" else 2
    ]:
        assert sql(db, f"SELECT * FROM {table} WHERE notes < 0") == []
    assert app.check_database(db).problems == []
    hours = expected["hours"]
    since, until = (min(hours) * 3600, max(hours) * 3600) if hours else (0, 0)
    activity = NoteService.activity(db, since, until, top=3)
    assert activity.notes == sum(expected["authors"].values())
    assert activity.authors == len(expected["authors"])
    assert activity.tags == len(expected["tags"])
    assert activity.hours == tuple(sorted(hours.items()))
    assert activity.top_authors == ranked(expected["authors"], 3)
    assert activity.top_tags == ranked(expected["tags"], 3)


TAGS = st.lists(st.sampled_from(["#til", "#Idea", "#idea", "#work", "#x-1", "#café"]), max_size=3)
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "create", "update", "delete", "restore", "purge"]),
        st.sampled_from(["ann", "bob", "cy"]),
        TAGS,
        st.integers(min_value=0, max_value=72),  # hours ago the note was written
        st.integers(min_value=0, max_value=10),  # which note (or trashed note) to change
    ),
    max_size=25,
)


@settings(
    max_examples=30,
    deadline=None,  # a time limit is a timed assert: under load it fails a correct store
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=STEPS)
def test_the_activity_counts_always_equal_a_count_of_the_notes(empty_db, steps):
    """After any creates, edits (that change tags and authors), deletes, restores and
    purges, every maintained count equals a GROUP BY over the notes."""
    sql(empty_db, "DELETE FROM trash")
    sql(empty_db, "DELETE FROM notes")
    for action, username, tags, hours_ago, pick in steps:
        body = " ".join(["note", *tags])
        notes = all_notes(empty_db)
        trashed = NoteService.trash_ids(empty_db)
        if action == "create" or (action in ("update", "delete") and not notes):
            NoteService.create_note(empty_db, username, body, now=NOW - hours_ago * 3600)
        elif action == "update":
            note = notes[pick % len(notes)]
            if (note.username, note.body) != (username, f"{body} edited"):
                NoteService.update_note(empty_db, note.id, username, f"{body} edited")
        elif action == "delete":
            NoteService.delete_note(empty_db, notes[pick % len(notes)].id)
        elif action == "restore" and trashed:
            NoteService.restore_note(empty_db, trashed[pick % len(trashed)])
        elif action == "purge" and trashed:
            NoteService.purge_notes(empty_db, [trashed[pick % len(trashed)]], actor=ADMIN)
    assert_counts_match(empty_db)


def test_a_deleted_note_stops_counting_and_a_restored_one_counts_again(empty_db):
    note = NoteService.create_note(empty_db, "ann", "hello #til", now=NOW - 3600)
    hour = app._hour(NOW - 3600)
    assert NoteService.activity(empty_db, NOW - 7200, NOW).hours == ((hour, 1),)
    NoteService.delete_note(empty_db, note.id)
    gone = NoteService.activity(empty_db, NOW - 7200, NOW)
    assert (gone.notes, gone.hours, gone.top_tags, gone.authors, gone.tags) == (0, (), (), 0, 0)
    NoteService.restore_note(empty_db, note.id)
    back = NoteService.activity(empty_db, NOW - 7200, NOW)
    assert (back.hours, back.top_tags, back.top_authors) == (
        ((hour, 1),),
        (("til", 1),),
        (("ann", 1),),
    )


def test_an_edit_moves_tags_but_never_the_hour(empty_db):
    note = NoteService.create_note(empty_db, "ann", "#a #b", now=NOW - 86400)
    NoteService.update_note(empty_db, note.id, "bob", "#b #c #C", now=NOW)
    activity = NoteService.activity(empty_db, NOW - 2 * 86400, NOW)
    assert activity.hours == ((app._hour(NOW - 86400), 1),)
    assert activity.top_tags == (("b", 1), ("c", 1))
    assert activity.top_authors == (("bob", 1),)
    assert_counts_match(empty_db)


def test_the_window_holds_only_the_hours_asked_for(empty_db):
    for hours_ago in (0, 5, 30):
        NoteService.create_note(
            empty_db, "ann", f"{hours_ago} hours ago", now=NOW - hours_ago * 3600
        )
    activity = NoteService.activity(empty_db, NOW - 10 * 3600, NOW - 3600)
    assert activity.hours == ((app._hour(NOW - 5 * 3600), 1),)
    assert activity.notes == 3  # totals are of the whole feed


def test_a_hand_edit_of_a_notes_time_or_tags_moves_its_counts(empty_db):
    note = NoteService.create_note(empty_db, "ann", "#old", now=NOW)
    sql(
        empty_db,
        "UPDATE notes SET created_timestamp = created_timestamp - 7200,"
        " updated_timestamp = updated_timestamp - 3600 WHERE id = :id",
        {"id": note.id},
    )
    assert_counts_match(empty_db)


def test_seeded_and_copied_feeds_have_the_right_counts(empty_db, tmp_path):
    """The bulk load (seed, copy) adds PostgreSQL's counts once at the end."""
    app.seed_notes(empty_db, 400)
    assert_counts_match(empty_db)
    copy = app.open_database(tmp_path / "copy.db")
    app.copy_database(empty_db, copy, replace=True)
    assert_counts_match(copy)
    app.copy_database(copy, empty_db, replace=True)
    assert_counts_match(empty_db)


def test_check_reports_hour_and_tag_counts_that_disagree_with_the_notes(empty_db):
    NoteService.create_note(empty_db, "ann", "#til today", now=NOW)
    sql(empty_db, "UPDATE note_hours SET notes = notes + 2 WHERE notes > 0")
    sql(empty_db, "UPDATE tag_counts SET notes = notes + 1 WHERE notes > 0")
    assert app.check_database(empty_db).problems == [
        f"count for 'hour {app._hour(NOW)}': stored 3, actual 1",
        "count for '#til': stored 2, actual 1",
    ]


def test_the_top_authors_and_tags_are_the_most_active_with_ties_by_name(empty_db):
    for username, count in (("zed", 3), ("amy", 3), ("bob", 1)):
        for n in range(count):
            NoteService.create_note(empty_db, username, f"{n} #{username}tag", now=NOW)
    activity = NoteService.activity(empty_db, NOW, NOW, top=2)
    assert activity.top_authors == (("amy", 3), ("zed", 3))
    assert activity.top_tags == (("amytag", 3), ("zedtag", 3))
    assert (activity.authors, activity.tags) == (3, 3)


# The page -------------------------------------------------------------------------


def browser_time_zone(monkeypatch: pytest.MonkeyPatch, zone: str) -> None:
    """Make st.context.timezone report zone, as a browser (or a crafted request) would."""
    monkeypatch.setattr(type(app.st.context), "timezone", property(lambda self: zone))


def metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def links(at) -> list[tuple[str, str]]:
    """The page's links: (label as markdown, query string)."""
    return [
        (link.proto.label, urllib.parse.unquote_plus(link.proto.query_string))
        for link in at.get("page_link")
    ]


def charts(at) -> int:
    return len(at.get("vega_lite_chart")) + len(at.get("arrow_vega_lite_chart"))


def test_an_empty_feed_says_so_and_draws_no_chart(app_test, empty_db):
    at = app_test("activity")
    assert not at.exception
    assert messages(at)["info"] == [app.MSG_NO_ACTIVITY]
    assert charts(at) == 0 and not at.metric


def test_a_feed_with_no_note_this_year_shows_totals_and_says_so(app_test, seeded_db):
    at = app_test("activity")  # seeded_db's notes are of November 2023
    assert not at.exception
    assert metrics(at)["Notes"] == "3"
    assert messages(at)["info"] == [app.MSG_NO_RECENT_ACTIVITY.format(days=app.ACTIVITY_DAYS)]
    assert charts(at) == 0


def _today_at(zone_hour_utc: int, days_ago: int) -> int:
    """An epoch second days_ago days before today, at zone_hour_utc:30 UTC."""
    day = datetime.now(UTC).replace(hour=zone_hour_utc, minute=30, second=0, microsecond=0)
    return int((day - timedelta(days=days_ago)).timestamp())


@pytest.mark.parametrize(
    ("zone", "hour"),
    [
        ("Asia/Tokyo", "19:00–20:00"),
        ("Asia/Kolkata", "16:00–17:00"),  # UTC+5:30: the hour's middle, 10:30, is 16:00
        ("Asia/Kathmandu", "16:00–17:00"),  # UTC+5:45: 16:15
        ("Pacific/Kiritimati", "00:00–01:00"),  # UTC+14: the next day
        ("not/a zone", "10:00–11:00"),
        ("../../etc/passwd", "10:00–11:00"),
    ],
)
def test_the_page_shows_totals_days_and_busiest_hours_in_the_readers_zone(
    app_test, empty_db, monkeypatch, zone, hour
):
    browser_time_zone(monkeypatch, zone)
    for days_ago in (3, 3, 3, 40):  # three notes one day, one another, all at 10:30 UTC
        NoteService.create_note(empty_db, "ann", "#til x", now=_today_at(10, days_ago))
    NoteService.create_note(empty_db, "bob", "elsewhere", now=_today_at(10, 500))
    at = app_test("activity")
    assert not at.exception
    assert metrics(at) == {"Notes": "5", "Authors": "2", "Tags": "1", "Last 371 days": "4"}
    shown_zone = zone if "/a " not in zone and ".." not in zone else "UTC"
    assert shown_zone in at.caption[0].value
    busiest = datetime.fromtimestamp(_today_at(10, 3), app.zoneinfo.ZoneInfo(shown_zone))
    summary, hours = (m.value for m in at.markdown)
    day = f"{busiest:%A} {busiest.day} {busiest:%B %Y}"
    assert f"the busiest day was {day}, with 3 notes" in summary
    assert summary.startswith("4 notes in the last 371 days, on 2 of them")
    assert hours.endswith(f"in your time zone: {hour} (100%).")
    assert charts(at) == 2


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "$\\frac{1}{2}$ :red[red] **bold**",
    "# heading",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_author_and_tag_names_are_shown_as_text_and_link_to_the_feed(
    app_test, empty_db, name
):
    NoteService.create_note(empty_db, name, "a note #ταγ_1 #x-y", now=NOW)
    at = app_test("activity")
    assert not at.exception
    shown = links(at)
    assert (f"1. {app._escape_markdown(name)} · 1 note", f"author={name}") in shown
    assert ("2. \\#ταγ\\_1 · 1 note", "tag=ταγ_1") in shown  # ties by code point


def test_deleted_notes_leave_the_page_and_restored_ones_come_back(app_test, empty_db):
    note = NoteService.create_note(empty_db, "ann", "#til one", now=NOW)
    NoteService.create_note(empty_db, "bob", "two", now=NOW)
    NoteService.delete_note(empty_db, note.id)
    at = app_test("activity")
    assert metrics(at)["Notes"] == "1" and metrics(at)["Tags"] == "0"
    NoteService.restore_note(empty_db, note.id)
    at = app_test("activity")
    assert not at.exception
    assert metrics(at) == {"Notes": "2", "Authors": "2", "Tags": "1", "Last 371 days": "2"}


@pytest.mark.parametrize("backend", ["postgresql"])
def test_postgresql_folds_the_slots_of_past_hours_into_one_row(empty_db):
    """Each writer's slot keeps this hour's writers apart; an hour once past is one row."""
    start = NOW - 20 * 3600
    for hour in range(10):
        for n in range(app.PG_COUNT_SLOTS):  # consecutive numbers: every slot, each hour
            NoteService.create_note(empty_db, "ann", f"{hour} {n}", now=start + hour * 3600)
    rows = sql(empty_db, "SELECT hour, slot FROM note_hours WHERE notes <> 0")
    last = app._hour(start + 9 * 3600)
    assert {row["slot"] for row in rows if row["hour"] < last} == {0}
    assert len(rows) <= 10 + app.PG_COUNT_SLOTS
    assert_counts_match(empty_db)
