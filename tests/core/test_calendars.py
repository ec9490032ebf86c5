"""Business calendars: open time between instants, reach/locate of a need, DST and holidays.

Hand-computed cases use local times with explicit offsets. Asia/Shanghai is UTC+8 all
year. Europe/Berlin is CET (+01:00) / CEST (+02:00); DST starts 2026-03-29 (02:00 CET ->
03:00 CEST, i.e. at 01:00Z) and ends 2026-10-25 (03:00 CEST -> 02:00 CET, i.e. at 01:00Z).
America/New_York is EST (-05:00) / EDT (-04:00); DST starts 2026-03-08, ends 2026-11-01.
Weekdays: 2026-10-01 is a Thursday, 2026-11-23 a Monday, 2026-11-27 a Friday.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slamon.core.calendars import ALWAYS_OPEN, Calendar, WeeklyCalendar
from slamon.core.timefmt import parse_rfc3339

NS = 1_000_000_000
M = 60 * NS
H = 60 * M
DAY = 24 * H


def at(text: str) -> int:
    """UTC nanoseconds of an RFC 3339 timestamp with offset."""
    return parse_rfc3339(text)


def hm(text: str) -> int:
    """Minute of the day of ``"HH:MM"``."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def is_open(calendar: Calendar, instant: int) -> bool:
    """Open at ``instant``: the nanosecond starting there is business time."""
    return calendar.business_ns(instant, instant + 1) == 1


def span(text: str) -> tuple[int, int]:
    """``"09:00-12:00"`` -> ``(540, 720)``."""
    start, end = text.split("-")
    return hm(start), hm(end)


def every_day(*intervals: str) -> dict[int, list[tuple[int, int]]]:
    return {day: [span(i) for i in intervals] for day in range(7)}


def office() -> WeeklyCalendar:
    """Shanghai Mon-Fri 09:00-12:00 and 13:00-18:00, holiday Thursday 2026-10-01."""
    week = {day: [span("09:00-12:00"), span("13:00-18:00")] for day in range(5)}
    return WeeklyCalendar("office", "Asia/Shanghai", week, [date(2026, 10, 1)])


def office_make_up() -> WeeklyCalendar:
    """office with National Day 2026 (1-7 Oct) closed and its make-up workdays Sun 20 Sep and
    Sat 10 Oct open with Monday's hours, as the policy loader builds it from official data."""
    week = {day: [span("09:00-12:00"), span("13:00-18:00")] for day in range(5)}
    holidays = [date(2026, 10, d) for d in range(1, 8)]
    return WeeklyCalendar("office-cn", "Asia/Shanghai", week, holidays,
                          workdays=[date(2026, 9, 20), date(2026, 10, 10)],
                          workday=week[0])  # fmt: skip


def berlin_make_up() -> WeeklyCalendar:
    """Berlin weekdays 08:00-20:00, a make-up Sunday on the DST switch (29 Mar 2026) open
    01:00-05:00 local (02:00-03:00 does not exist that night: 3 hours)."""
    week = {day: [span("08:00-20:00")] for day in range(5)}
    return WeeklyCalendar("berlin-make-up", "Europe/Berlin", week,
                          workdays=[date(2026, 3, 29)], workday=[span("01:00-05:00")])  # fmt: skip


def test_a_make_up_workday_is_open_with_the_workday_hours() -> None:
    """Sat 10 Oct 2026 counts 8 h (Monday's hours), Sun 11 Oct nothing; the holiday week
    1-7 Oct nothing; a make-up Sunday across the DST gap counts its 3 real hours."""
    cn = office_make_up()
    saturday = at("2026-10-09T16:00:00Z")  # Sat 00:00 local
    assert cn.business_ns(saturday, saturday + 24 * H) == 8 * H
    assert cn.business_ns(saturday + 24 * H, saturday + 48 * H) == 0
    assert cn.business_ns(at("2026-09-30T16:00:00Z"), at("2026-10-07T16:00:00Z")) == 0
    assert cn.reach(at("2026-10-09T10:00:00Z"), 3 * H) == at("2026-10-10T04:00:00Z")
    berlin = berlin_make_up()
    sunday = at("2026-03-28T23:00:00Z")  # Sun 00:00 CET
    assert berlin.business_ns(sunday, sunday + 23 * H) == 3 * H
    assert berlin.locate(sunday, 0) == at("2026-03-29T00:00:00Z")  # 01:00 CET


def test_a_holiday_wins_over_a_workday_of_the_same_date() -> None:
    """Both lists naming a date: it is closed (the policy rejects it before, the core is safe)."""
    week = {0: [span("09:00-17:00")]}
    calendar = WeeklyCalendar("x", "UTC", week, [date(2026, 10, 10)],
                              workdays=[date(2026, 10, 10)], workday=week[0])  # fmt: skip
    assert calendar.workdays == frozenset()
    assert calendar.business_ns(at("2026-10-10T00:00:00Z"), at("2026-10-11T00:00:00Z")) == 0


def office_no_holidays() -> WeeklyCalendar:
    week = {day: [span("09:00-12:00"), span("13:00-18:00")] for day in range(5)}
    return WeeklyCalendar("office", "Asia/Shanghai", week)


def berlin_day() -> WeeklyCalendar:
    """Berlin 08:00-20:00 every day."""
    return WeeklyCalendar("berlin", "Europe/Berlin", every_day("08:00-20:00"))


def berlin_gap() -> WeeklyCalendar:
    """Berlin 02:30-04:00 every day: on 2026-03-29 the start lies in the DST gap."""
    return WeeklyCalendar("gap", "Europe/Berlin", every_day("02:30-04:00"))


def berlin_full() -> WeeklyCalendar:
    """Berlin 00:00-24:00 every day: the same as 24x7."""
    return WeeklyCalendar("full", "Europe/Berlin", every_day("00:00-24:00"))


def berlin_sunday_night() -> WeeklyCalendar:
    """Berlin Sundays 01:00-03:00 only: both DST switches fall inside this window."""
    return WeeklyCalendar("sunday", "Europe/Berlin", {6: [span("01:00-03:00")]})


def new_york() -> WeeklyCalendar:
    """New York Mon-Fri 09:00-17:00, Sat 10:00-14:00, holiday 2026-11-26."""
    week = {day: [span("09:00-17:00")] for day in range(5)}
    week[5] = [span("10:00-14:00")]
    return WeeklyCalendar("nyc", "America/New_York", week, [date(2026, 11, 26)])


def new_york_full() -> WeeklyCalendar:
    return WeeklyCalendar("nyc-full", "America/New_York", every_day("00:00-24:00"))


# -- ALWAYS_OPEN ---------------------------------------------------------------------------
def test_always_open_counts_every_nanosecond() -> None:
    """24x7: business time is the plain difference, 0 for empty or reversed spans."""
    a = at("2026-11-23T10:00:00+08:00")
    assert ALWAYS_OPEN.name == "24x7"
    assert ALWAYS_OPEN.business_ns(a, a + 3 * DAY + 1) == 3 * DAY + 1
    assert ALWAYS_OPEN.business_ns(a, a) == 0
    assert ALWAYS_OPEN.business_ns(a, a - H) == 0
    assert is_open(ALWAYS_OPEN, a)


def test_always_open_reach_and_locate_add_the_need() -> None:
    """24x7: reach and locate are start + need; a need of 0 or less gives start."""
    a = at("2026-11-28T23:30:00+08:00")
    assert ALWAYS_OPEN.reach(a, 2 * H) == a + 2 * H
    assert ALWAYS_OPEN.locate(a, 2 * H) == a + 2 * H
    assert ALWAYS_OPEN.reach(a, 0) == a
    assert ALWAYS_OPEN.locate(a, 0) == a
    assert ALWAYS_OPEN.reach(a, -5) == a


# -- Shanghai office hours, by hand --------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # 11-12 and 13-14: lunch excluded
        ("2026-11-23T11:00:00+08:00", "2026-11-23T14:00:00+08:00", 2 * H),
        # whole Monday: 3h + 5h
        ("2026-11-23T00:00:00+08:00", "2026-11-24T00:00:00+08:00", 8 * H),
        # lunch only
        ("2026-11-23T12:00:00+08:00", "2026-11-23T13:00:00+08:00", 0),
        # Fri 17:00 -> Mon 10:00: 1h Friday + 1h Monday, weekend skipped
        ("2026-11-27T17:00:00+08:00", "2026-11-30T10:00:00+08:00", 2 * H),
        # the holiday Thursday 2026-10-01 is closed all day
        ("2026-10-01T00:00:00+08:00", "2026-10-02T00:00:00+08:00", 0),
        # Wed 17:00 -> Fri 10:00 across the holiday: 1h Wed + 1h Fri
        ("2026-09-30T17:00:00+08:00", "2026-10-02T10:00:00+08:00", 2 * H),
        # a full working week Mon 00:00 -> next Mon 00:00: 5 x 8h
        ("2026-11-23T00:00:00+08:00", "2026-11-30T00:00:00+08:00", 40 * H),
        # one nanosecond before closing
        ("2026-11-23T17:59:59.999999999+08:00", "2026-11-23T18:00:00+08:00", 1),
        # reversed and empty spans
        ("2026-11-23T14:00:00+08:00", "2026-11-23T11:00:00+08:00", 0),
        ("2026-11-23T10:00:00+08:00", "2026-11-23T10:00:00+08:00", 0),
    ],
)
def test_office_business_time(start: str, end: str, expected: int) -> None:
    """Open time in the office calendar excludes lunch, weekends and the holiday."""
    assert office().business_ns(at(start), at(end)) == expected


@pytest.mark.parametrize(
    ("start", "need", "expected"),
    [
        # Mon 11:00 + 2h: 1h to lunch, resume 13:00, +1h = 14:00
        ("2026-11-23T11:00:00+08:00", 2 * H, "2026-11-23T14:00:00+08:00"),
        # Fri 17:00 + 2h: 1h Friday, 1h Monday = Mon 10:00
        ("2026-11-27T17:00:00+08:00", 2 * H, "2026-11-30T10:00:00+08:00"),
        # Wed 17:00 + 2h: 1h Wed, Thu holiday, 1h Fri = Fri 10:00
        ("2026-09-30T17:00:00+08:00", 2 * H, "2026-10-02T10:00:00+08:00"),
        # Sat 10:00 + 30m: nothing until Mon 09:00, so Mon 09:30
        ("2026-11-28T10:00:00+08:00", 30 * M, "2026-11-30T09:30:00+08:00"),
        # ends exactly at closing: the closing instant itself
        ("2026-11-27T17:00:00+08:00", 1 * H, "2026-11-27T18:00:00+08:00"),
        # ends exactly at lunch: 12:00
        ("2026-11-23T11:00:00+08:00", 1 * H, "2026-11-23T12:00:00+08:00"),
        # a zero need is the start, even when closed
        ("2026-11-28T10:00:00+08:00", 0, "2026-11-28T10:00:00+08:00"),
    ],
)
def test_office_reach(start: str, need: int, expected: str) -> None:
    """reach gives the earliest instant by which ``need`` of office time has passed."""
    assert office().reach(at(start), need) == at(expected)


@pytest.mark.parametrize(
    ("start", "need", "expected"),
    [
        # same need as reach ending at Fri 18:00: the clock next runs on Monday 09:00
        ("2026-11-27T17:00:00+08:00", 1 * H, "2026-11-30T09:00:00+08:00"),
        # ending at lunch: next runs at 13:00
        ("2026-11-23T11:00:00+08:00", 1 * H, "2026-11-23T13:00:00+08:00"),
        # ending Wed 18:00 before the holiday: next runs Fri 09:00
        ("2026-09-30T17:00:00+08:00", 1 * H, "2026-10-02T09:00:00+08:00"),
        # ending inside a window: same as reach
        ("2026-11-23T11:00:00+08:00", 2 * H, "2026-11-23T14:00:00+08:00"),
        # need 0 while open: the start itself
        ("2026-11-23T10:00:00+08:00", 0, "2026-11-23T10:00:00+08:00"),
        # need 0 on Saturday: next opening Mon 09:00
        ("2026-11-28T10:00:00+08:00", 0, "2026-11-30T09:00:00+08:00"),
        # need 0 at lunch: 13:00
        ("2026-11-23T12:30:00+08:00", 0, "2026-11-23T13:00:00+08:00"),
        # need 0 at closing time (end is exclusive): next morning 09:00
        ("2026-11-23T18:00:00+08:00", 0, "2026-11-24T09:00:00+08:00"),
        # need 0 on the holiday: Fri 09:00
        ("2026-10-01T10:00:00+08:00", 0, "2026-10-02T09:00:00+08:00"),
        # a negative need counts as 0
        ("2026-11-28T10:00:00+08:00", -H, "2026-11-30T09:00:00+08:00"),
    ],
)
def test_office_locate(start: str, need: int, expected: str) -> None:
    """locate is reach moved forward to the next instant the calendar is open."""
    assert office().locate(at(start), need) == at(expected)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2026-11-23T09:00:00+08:00", True),  # opening is inclusive
        ("2026-11-23T08:59:59.999999999+08:00", False),
        ("2026-11-23T11:59:59+08:00", True),
        ("2026-11-23T12:00:00+08:00", False),  # closing is exclusive
        ("2026-11-23T13:00:00+08:00", True),
        ("2026-11-23T18:00:00+08:00", False),
        ("2026-11-28T10:00:00+08:00", False),  # Saturday
        ("2026-10-01T10:00:00+08:00", False),  # holiday
        ("2026-10-02T10:00:00+08:00", True),  # the Friday after
        ("2026-11-23T01:30:00Z", True),  # 09:30 in Shanghai
    ],
)
def test_office_is_open(instant: str, expected: bool) -> None:
    """A calendar is open from opening (inclusive) to closing (exclusive) on working days."""
    assert is_open(office(), at(instant)) is expected


def test_reach_far_ahead_extends_the_calendar() -> None:
    """2000h of office time (50 weeks of 40h) from Mon 09:00 ends on a Friday at 18:00."""
    calendar = office_no_holidays()
    start = at("2026-11-23T09:00:00+08:00")
    # week 1 ends Fri 2026-11-27 18:00; week 50 ends 49 * 7 = 343 days later:
    # 2026-11-27 + 364 days = 2027-11-26 (a Friday), minus 21 days = 2027-11-05
    assert calendar.reach(start, 2000 * H) == at("2027-11-05T18:00:00+08:00")
    assert calendar.locate(start, 2000 * H) == at("2027-11-08T09:00:00+08:00")
    assert calendar.business_ns(start, at("2027-11-05T18:00:00+08:00")) == 2000 * H


def test_past_query_after_a_future_one() -> None:
    """A calendar first asked about 2027 still answers about 2026 (extends backward)."""
    calendar = office()
    assert (
        calendar.business_ns(at("2027-11-22T00:00:00+08:00"), at("2027-11-23T00:00:00+08:00"))
        == 8 * H
    )  # 2027-11-22 is a Monday (2026-11-23 + 364 days)
    assert calendar.reach(at("2026-09-30T17:00:00+08:00"), 2 * H) == at("2026-10-02T10:00:00+08:00")
    assert not is_open(calendar, at("2026-10-01T10:00:00+08:00"))


# -- DST -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "start", "end", "expected"),
    [
        # 08:00 CEST = 06:00Z .. 20:00 CEST = 18:00Z: still 12h on the short day
        (berlin_day, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 12 * H),
        (berlin_day, "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", 12 * H),
        (berlin_day, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 12 * H),
        # 00:00 CET (23:00Z) .. 24:00 CEST (22:00Z): 23h
        (berlin_full, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 23 * H),
        # 00:00 CEST (22:00Z on the 24th) .. 24:00 CET (23:00Z on the 25th): 25h
        (berlin_full, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 25 * H),
        # 02:30 does not exist on 03-29: the window starts at 01:00Z (03:00 CEST) and
        # ends at 04:00 CEST = 02:00Z: 1h
        (berlin_gap, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", 1 * H),
        # the day before: 02:30 CET = 01:30Z .. 04:00 CET = 03:00Z: 1h30m
        (berlin_gap, "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", 90 * M),
        # Sunday 01:00-03:00 on 03-29: 00:00Z .. 03:00 CEST = 01:00Z: 1h
        (berlin_sunday_night, "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00", H),
        # on 10-25: 01:00 CEST = 23:00Z (24th) .. 03:00 CET = 02:00Z: 3h
        (berlin_sunday_night, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00", 3 * H),
        # New York: 2026-03-08 has 23h, 2026-11-01 has 25h
        (new_york_full, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 23 * H),
        (new_york_full, "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00", 25 * H),
        # New York Fri 09:00-17:00 (8h) + Sat 10:00-14:00 (4h), DST start Sunday closed
        (new_york, "2026-03-06T00:00:00-05:00", "2026-03-09T00:00:00-04:00", 12 * H),
        # Thanksgiving 2026-11-26 is a holiday
        (new_york, "2026-11-26T00:00:00-05:00", "2026-11-27T00:00:00-05:00", 0),
    ],
)
def test_business_time_across_dst(
    make: Callable[[], WeeklyCalendar], start: str, end: str, expected: int
) -> None:
    """Windows are local wall-clock times: DST changes the UTC length of days, not hours."""
    assert make().business_ns(at(start), at(end)) == expected


def test_reach_across_dst_start() -> None:
    """Berlin 08-20: Sat 19:00 CET + 2h = 1h Saturday + Sun 08:00-09:00 CEST."""
    calendar = berlin_day()
    expected = at("2026-03-29T09:00:00+02:00")
    assert calendar.reach(at("2026-03-28T19:00:00+01:00"), 2 * H) == expected


def test_window_starting_in_the_dst_gap_opens_at_the_transition() -> None:
    """02:30 on 2026-03-29 does not exist in Berlin: the window opens at 01:00Z."""
    calendar = berlin_gap()
    assert calendar.locate(at("2026-03-29T00:00:00+01:00"), 0) == at("2026-03-29T01:00:00Z")
    assert is_open(calendar, at("2026-03-29T01:00:00Z"))
    assert not is_open(calendar, at("2026-03-29T00:59:59.999999999Z"))
    assert calendar.reach(at("2026-03-29T00:00:00+01:00"), H) == at("2026-03-29T02:00:00Z")


def test_ambiguous_window_edges_take_the_first_occurrence() -> None:
    """On 2026-10-25 Berlin 02:00-02:30 happens twice; the window is the first (CEST) one."""
    calendar = WeeklyCalendar("x", "Europe/Berlin", every_day("02:00-02:30"))
    # first occurrence: 02:00 CEST = 00:00Z .. 02:30 CEST = 00:30Z
    assert calendar.locate(at("2026-10-25T00:00:00+02:00"), 0) == at("2026-10-25T00:00:00Z")
    assert (
        calendar.business_ns(at("2026-10-25T00:00:00+02:00"), at("2026-10-26T00:00:00+01:00"))
        == 30 * M
    )
    assert not is_open(calendar, at("2026-10-25T02:00:00+01:00"))  # the second 02:00


# -- interval shapes -----------------------------------------------------------------------
def test_overlapping_and_touching_intervals_are_merged() -> None:
    """09:00-12:00 + 11:00-13:00 is 09:00-13:00 (4h); touching 13:00-14:00 joins it."""
    calendar = WeeklyCalendar(
        "x", "UTC", {0: [span("09:00-12:00"), span("11:00-13:00"), span("13:00-14:00")]}
    )
    monday = at("2026-11-23T00:00:00Z")
    assert calendar.business_ns(monday, monday + DAY) == 5 * H  # 09:00-14:00
    assert is_open(calendar, at("2026-11-23T13:00:00Z"))
    # 1h from 12:00 ends at 13:00, which is open: no jump
    assert calendar.locate(at("2026-11-23T12:00:00Z"), H) == at("2026-11-23T13:00:00Z")


def test_full_days_behave_like_24x7_across_midnight() -> None:
    """00:00-24:00 every day: no gap at midnight, locate does not skip it."""
    calendar = WeeklyCalendar("x", "Asia/Shanghai", every_day("00:00-24:00"))
    late = at("2026-11-23T23:00:00+08:00")
    assert calendar.business_ns(late, late + 3 * DAY) == 3 * DAY
    assert calendar.reach(late, H) == at("2026-11-24T00:00:00+08:00")
    assert calendar.locate(late, H) == at("2026-11-24T00:00:00+08:00")
    assert is_open(calendar, at("2026-11-24T00:00:00+08:00"))


def test_full_day_followed_by_closed_day() -> None:
    """Monday 00:00-24:00 only: 1h from Mon 23:00 reaches Tue 00:00, runs again next Mon."""
    calendar = WeeklyCalendar("x", "Asia/Shanghai", {0: [span("00:00-24:00")]})
    late = at("2026-11-23T23:00:00+08:00")
    assert calendar.reach(late, H) == at("2026-11-24T00:00:00+08:00")
    assert calendar.locate(late, H) == at("2026-11-30T00:00:00+08:00")
    assert not is_open(calendar, at("2026-11-24T00:00:00+08:00"))


# -- constructor errors --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("timezone", "weekly", "match"),
    [
        ("Mars/Olympus_Mons", {0: [(540, 600)]}, "zone"),
        ("", {0: [(540, 600)]}, "zone"),
        ("UTC", {0: [(600, 600)]}, "interval"),  # empty
        ("UTC", {0: [(600, 540)]}, "interval"),  # end before start
        ("UTC", {0: [(0, 1441)]}, "interval"),  # past 24:00
        ("UTC", {0: [(-1, 60)]}, "interval"),
        ("UTC", {7: [(540, 600)]}, "weekday"),
        ("UTC", {}, "at least one"),
        ("UTC", {0: [], 3: []}, "at least one"),
    ],
)
def test_constructor_rejects_bad_input(
    timezone: str, weekly: dict[int, list[tuple[int, int]]], match: str
) -> None:
    """Unknown zones, empty or reversed intervals and an empty week are ValueErrors."""
    with pytest.raises(ValueError, match=match):
        WeeklyCalendar("x", timezone, weekly)


def test_zone_that_names_a_tz_directory_is_a_value_error() -> None:
    """ "Europe" is a folder of zones, not a zone: ValueError like any unknown zone."""
    with pytest.raises(ValueError, match="zone"):
        WeeklyCalendar("x", "Europe", {0: [(540, 600)]})


# -- properties ----------------------------------------------------------------------------
CALENDARS = [office, berlin_day, berlin_gap, berlin_full, berlin_sunday_night, new_york,
             office_make_up, berlin_make_up]  # fmt: skip
SHARED = {make.__name__: make() for make in CALENDARS}  # lazily grown across examples
BASE = at("2025-09-01T00:00:00Z")
MINUTES = 2 * 366 * 24 * 60  # about two years, spanning 2026's DST switches

instants = st.builds(
    lambda minute, jitter: BASE + minute * M + jitter,
    st.integers(0, MINUTES),
    st.sampled_from([0, 0, 0, 1, -1, 30 * NS]),
)
needs = st.one_of(
    st.integers(1, 10 * M), st.integers(1, 300).map(lambda h: h * H), st.integers(1, 300 * H)
)
props = settings(max_examples=150, deadline=None)


@pytest.mark.parametrize("name", list(SHARED))
@props
@given(a=instants, b=instants, c=instants)
def test_business_time_is_additive(name: str, a: int, b: int, c: int) -> None:
    """business(a, b) + business(b, c) == business(a, c) for a <= b <= c."""
    calendar = SHARED[name]
    a, b, c = sorted((a, b, c))
    assert calendar.business_ns(a, b) + calendar.business_ns(b, c) == calendar.business_ns(a, c)


@pytest.mark.parametrize("name", list(SHARED))
@props
@given(a=instants, b=instants)
def test_business_time_is_at_most_elapsed_time(name: str, a: int, b: int) -> None:
    """0 <= business(a, b) <= b - a, and 0 when b <= a."""
    calendar = SHARED[name]
    business = calendar.business_ns(a, b)
    assert 0 <= business <= max(b - a, 0)


@pytest.mark.parametrize("name", list(SHARED))
@props
@given(start=instants, need=needs)
def test_reach_is_the_minimal_instant_with_enough_time(name: str, start: int, need: int) -> None:
    """x = reach(start, need): business(start, x) == need and business(start, x-1) < need."""
    calendar = SHARED[name]
    x = calendar.reach(start, need)
    assert x > start
    assert calendar.business_ns(start, x) == need
    assert calendar.business_ns(start, x - 1) == need - 1  # the last ns before x was open


@pytest.mark.parametrize("name", list(SHARED))
@props
@given(start=instants, need=st.one_of(st.just(0), needs))
def test_locate_is_the_first_open_instant_after_reach(name: str, start: int, need: int) -> None:
    """y = locate(start, need) is open, has exactly ``need`` before it and is the first such."""
    calendar = SHARED[name]
    y = calendar.locate(start, need)
    x = calendar.reach(start, need)
    assert is_open(calendar, y)
    assert y >= x >= start
    assert calendar.business_ns(start, y) == need
    assert calendar.business_ns(x, y) == 0  # closed all the way from reach to locate


@pytest.mark.parametrize("make", [berlin_full, new_york_full])
@props
@given(a=instants, need=needs)
def test_full_day_calendar_matches_always_open(
    make: Callable[[], WeeklyCalendar], a: int, need: int
) -> None:
    """00:00-24:00 every day answers like ALWAYS_OPEN, across midnights and DST."""
    calendar = make()
    assert calendar.business_ns(a, a + need) == ALWAYS_OPEN.business_ns(a, a + need)
    assert calendar.reach(a, need) == ALWAYS_OPEN.reach(a, need)
    assert calendar.locate(a, need) == ALWAYS_OPEN.locate(a, need)
    assert is_open(calendar, a)


queries = st.lists(st.tuples(instants, st.one_of(st.just(0), needs)), min_size=1, max_size=4)
far_future = st.integers(0, 366 * 24 * 60).map(lambda m: at("2029-01-01T00:00:00Z") + m * M)
far_past = st.integers(0, 366 * 24 * 60).map(lambda m: at("2024-01-01T00:00:00Z") + m * M)


@pytest.mark.parametrize("make", [office, berlin_gap, berlin_sunday_night])
@settings(max_examples=25, deadline=None)
@given(middle=queries, future=far_future, past=far_past, need=needs)
def test_answers_do_not_depend_on_query_order(
    make: Callable[[], WeeklyCalendar],
    middle: list[tuple[int, int]],
    future: int,
    past: int,
    need: int,
) -> None:
    """Fresh calendars asked the same things in opposite orders give the same answers."""
    asked = [(future, need), *middle, (past, need)]

    def answers(calendar: WeeklyCalendar, a: int, n: int) -> tuple[int, int, int, bool]:
        return (calendar.business_ns(a, a + n), calendar.reach(a, n), calendar.locate(a, n),
                is_open(calendar, a))  # fmt: skip

    forward, backward = make(), make()
    first = [answers(forward, a, n) for a, n in asked]
    second = [answers(backward, a, n) for a, n in reversed(asked)][::-1]
    assert first == second
