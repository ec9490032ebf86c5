"""Policy validation: strict documents, errors naming the field path, precomputed targets."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from fractions import Fraction
from typing import Any

import pytest

from slamon.core.calendars import ALWAYS_OPEN, WeeklyCalendar
from slamon.core.policy import PolicyError, parse_interval, policy_from_dict
from slamon.core.timefmt import parse_rfc3339

MS = 1_000_000
S = 1_000 * MS
M = 60 * S
H = 60 * M

MINIMAL: dict[str, Any] = {
    "apiVersion": "slamon/v1",
    "kind": "SlaPolicy",
    "metadata": {"name": "minimal"},
    "spec": {
        "priorities": {
            "P1": {"first_response": "5m", "onsite_arrival": "4h", "resolution": "8h"},
            "P2": {"first_response": "15m", "onsite_arrival": "8h", "resolution": "1d"},
            "P3": {"first_response": "1h", "onsite_arrival": "1h30m", "resolution": "2d"},
            "P4": {"first_response": "4h", "onsite_arrival": "1d", "resolution": "90s"},
        },
    },
}

OFFICE: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "weekly": {"mon": ["09:00-12:00", "13:00-18:00"], "fri": ["09:00-12:00", "13:00-18:00"]},
    "holidays": ["2026-10-02"],
}

DELETE = object()


def doc(*changes: tuple[str, Any]) -> dict[str, Any]:
    """A copy of MINIMAL with dotted paths set (or removed with DELETE)."""
    document = copy.deepcopy(MINIMAL)
    for dotted, value in changes:
        *parents, last = dotted.split(".")
        node = document
        for key in parents:
            node = node.setdefault(key, {})
        if value is DELETE:
            del node[last]
        else:
            node[last] = copy.deepcopy(value)
    return document


def test_minimal_document_gets_defaults() -> None:
    """No calendars, warn_at or pause: 24x7 everywhere, warn at 3/4, pause resolution."""
    policy = policy_from_dict(doc())
    assert policy.name == "minimal"
    assert policy.warn_at == Fraction(3, 4)
    assert policy.pause == frozenset({"resolution"})
    for priority in ("P1", "P2", "P3", "P4"):
        assert policy.calendar(priority) is ALWAYS_OPEN


@pytest.mark.parametrize(
    ("priority", "sla", "expected"),
    [
        ("P1", "first_response", 5 * M),
        ("P1", "onsite_arrival", 4 * H),
        ("P2", "resolution", 24 * H),
        ("P3", "onsite_arrival", 90 * M),
        ("P3", "resolution", 48 * H),
        ("P4", "resolution", 90 * S),
    ],
)
def test_target_ns(priority: str, sla: str, expected: int) -> None:
    """Targets are the parsed durations in nanoseconds, per priority and SLA."""
    assert policy_from_dict(doc()).target_ns(priority, sla) == expected


@pytest.mark.parametrize(
    ("warn_at", "target", "expected"),
    [
        (0.75, "5m", 225 * S),  # 3/4 * 300s
        (0.7, "7s", 4_900 * MS),  # 7/10 * 7s = 4.9s exactly
        (0.5, "1h30m", 45 * M),
        # 1234567/10^7 * 10^6 ns = 123456.7 ns -> ceil 123457
        (0.1234567, "1ms", 123_457),
        # 1/3 is not 0.333...: str(0.3333333) -> 3333333/10^7; * 10^9 = 333333300 exact
        (0.3333333, "1s", 333_333_300),
        # 9999999/10^7 * 1ms = 999999.9 ns -> ceil 1_000_000
        (0.9999999, "1ms", 1_000_000),
    ],
)
def test_warn_ns_is_ceiling_of_fraction_of_target(
    warn_at: float, target: str, expected: int
) -> None:
    """warn_ns = ceil(warn_at * target), computed exactly from the decimal warn_at."""
    policy = policy_from_dict(
        doc(("spec.warn_at", warn_at), ("spec.priorities.P2.onsite_arrival", target))
    )
    assert policy.warn_ns("P2", "onsite_arrival") == expected
    assert policy.warn_at == Fraction(str(warn_at))


def test_named_calendar_is_built_and_assigned() -> None:
    """A priority naming a defined calendar gets that WeeklyCalendar; others stay 24x7."""
    policy = policy_from_dict(
        doc(("spec.calendars", {"office": OFFICE}), ("spec.priorities.P3.calendar", "office"))
    )
    calendar = policy.calendar("P3")
    assert isinstance(calendar, WeeklyCalendar)
    assert calendar.name == "office"
    assert calendar.timezone == "Asia/Shanghai"
    assert calendar.holidays == frozenset({date(2026, 10, 2)})
    assert policy.calendar("P1") is ALWAYS_OPEN
    # Fri 2026-10-02 is the holiday; Mon 2026-10-05 has 3h + 5h
    friday = parse_rfc3339("2026-10-02T00:00:00+08:00")
    monday = parse_rfc3339("2026-10-05T00:00:00+08:00")
    assert calendar.business_ns(friday, monday) == 0
    assert calendar.business_ns(monday, monday + 24 * H) == 8 * H


def test_interval_up_to_midnight_is_accepted() -> None:
    """'09:00-24:00' ends at midnight: 15h of a Monday."""
    cal = {"timezone": "UTC", "weekly": {"mon": ["09:00-24:00"]}}
    policy = policy_from_dict(
        doc(("spec.calendars", {"late": cal}), ("spec.priorities.P1.calendar", "late"))
    )
    monday = parse_rfc3339("2026-11-23T00:00:00Z")
    assert policy.calendar("P1").business_ns(monday, monday + 48 * H) == 15 * H


def test_holidays_may_be_date_objects() -> None:
    """A loader that yields datetime.date holidays is accepted as well as strings."""
    cal = dict(OFFICE, holidays=[date(2026, 10, 5), "2026-10-06"])
    policy = policy_from_dict(
        doc(("spec.calendars", {"office": cal}), ("spec.priorities.P3.calendar", "office"))
    )
    calendar = policy.calendar("P3")
    assert isinstance(calendar, WeeklyCalendar)
    assert calendar.holidays == frozenset({date(2026, 10, 5), date(2026, 10, 6)})


def test_pause_and_string_warn_at_are_read() -> None:
    """pause lists the SLAs a pause stops; warn_at may be a decimal string."""
    policy = policy_from_dict(
        doc(("spec.pause", ["onsite_arrival", "resolution"]), ("spec.warn_at", "0.8"))
    )
    assert policy.pause == frozenset({"onsite_arrival", "resolution"})
    assert policy.warn_at == Fraction(4, 5)


def test_empty_pause_list_pauses_nothing() -> None:
    """pause: [] means a pause stops no clock."""
    assert policy_from_dict(doc(("spec.pause", []))).pause == frozenset()


P = "spec.priorities"
CAL = "spec.calendars"

ERROR_CASES: list[tuple[str, Callable[[], Any], tuple[str, ...], str]] = [
    ("not a mapping", lambda: ["apiVersion"], (), "mapping"),
    ("wrong apiVersion", lambda: doc(("apiVersion", "slamon/v2")), ("apiVersion",), "v2"),
    ("missing apiVersion", lambda: doc(("apiVersion", DELETE)), (), "apiVersion"),
    ("wrong kind", lambda: doc(("kind", "Policy")), ("kind",), "Policy"),
    ("unknown top key", lambda: doc(("status", {})), ("status",), "unknown key"),
    ("missing metadata name", lambda: doc(("metadata.name", DELETE)), ("metadata",), "name"),
    ("empty name", lambda: doc(("metadata.name", "")), ("metadata", "name"), "non-empty"),
    ("unknown spec key", lambda: doc(("spec.timezone", "UTC")), ("spec", "timezone"), "unknown"),
    ("missing priorities", lambda: doc(("spec.priorities", DELETE)), ("spec",), "priorities"),
    ("missing P3", lambda: doc((f"{P}.P3", DELETE)), ("spec", "priorities"), "'P3'"),
    ("unknown priority", lambda: doc((f"{P}.P5", {})), ("spec", "priorities", "P5"), "unknown"),
    (
        "unknown SLA key",
        lambda: doc((f"{P}.P1.deadline", "1h")),
        ("spec", "priorities", "P1", "deadline"),
        "unknown key",
    ),
    (
        "missing SLA",
        lambda: doc((f"{P}.P2.resolution", DELETE)),
        ("spec", "priorities", "P2"),
        "'resolution'",
    ),
    (
        "bad duration",
        lambda: doc((f"{P}.P1.first_response", "15x")),
        ("spec", "priorities", "P1", "first_response"),
        "15x",
    ),
    (
        "zero duration",
        lambda: doc((f"{P}.P2.resolution", "0s")),
        ("spec", "priorities", "P2", "resolution"),
        "positive",
    ),
    (
        "number as duration",
        lambda: doc((f"{P}.P4.onsite_arrival", 15)),
        ("spec", "priorities", "P4", "onsite_arrival"),
        "duration",
    ),
    (
        "unknown calendar",
        lambda: doc((f"{P}.P3.calendar", "office")),
        ("spec", "priorities", "P3", "calendar"),
        "unknown calendar 'office'",
    ),
    (
        "redefine 24x7",
        lambda: doc((f"{CAL}.24x7", OFFICE)),
        ("spec", "calendars", "24x7"),
        "built in",
    ),
    (
        "interval across midnight",
        lambda: doc((f"{CAL}.office", dict(OFFICE, weekly={"mon": ["18:00-09:00"]}))),
        ("spec", "calendars", "office", "weekly", "mon", "0"),
        "end must be after start",
    ),
    (
        "24:00 as a start",
        lambda: doc(
            (f"{CAL}.office", dict(OFFICE, weekly={"tue": ["08:00-09:00", "24:00-24:00"]}))
        ),
        ("spec", "calendars", "office", "weekly", "tue", "1"),
        "no such time of day",
    ),
    (
        "end past 24:00",
        lambda: doc((f"{CAL}.office", dict(OFFICE, weekly={"wed": ["09:00-24:30"]}))),
        ("spec", "calendars", "office", "weekly", "wed", "0"),
        "24:00 is the latest end",
    ),
    (
        "one-digit hour",
        lambda: doc((f"{CAL}.office", dict(OFFICE, weekly={"mon": ["9:00-18:00"]}))),
        ("spec", "calendars", "office", "weekly", "mon", "0"),
        "interval",
    ),
    (
        "intervals not a list",
        lambda: doc((f"{CAL}.office", dict(OFFICE, weekly={"mon": "09:00-18:00"}))),
        ("spec", "calendars", "office", "weekly", "mon"),
        "list",
    ),
    (
        "unknown weekday",
        lambda: doc((f"{CAL}.office", dict(OFFICE, weekly={"monday": ["09:00-18:00"]}))),
        ("spec", "calendars", "office", "weekly", "monday"),
        "unknown key",
    ),
    (
        "empty week",
        lambda: doc((f"{CAL}.office", dict(OFFICE, weekly={"mon": []}))),
        ("spec", "calendars", "office", "weekly"),
        "at least one",
    ),
    (
        "unknown zone",
        lambda: doc((f"{CAL}.office", dict(OFFICE, timezone="Mars/Olympus_Mons"))),
        ("spec", "calendars", "office", "timezone"),
        "zone",
    ),
    (
        "missing timezone",
        lambda: doc((f"{CAL}.office", {"weekly": OFFICE["weekly"]})),
        ("spec", "calendars", "office"),
        "timezone",
    ),
    (
        "impossible holiday",
        lambda: doc((f"{CAL}.office", dict(OFFICE, holidays=["2026-10-01", "2026-13-01"]))),
        ("spec", "calendars", "office", "holidays", "1"),
        "2026-13-01",
    ),
    (
        "holiday not ISO",
        lambda: doc((f"{CAL}.office", dict(OFFICE, holidays=["01/10/2026"]))),
        ("spec", "calendars", "office", "holidays", "0"),
        "YYYY-MM-DD",
    ),
    ("warn_at 0", lambda: doc(("spec.warn_at", 0)), ("spec", "warn_at"), "between 0 and 1"),
    ("warn_at 1", lambda: doc(("spec.warn_at", 1)), ("spec", "warn_at"), "between 0 and 1"),
    ("warn_at 1.5", lambda: doc(("spec.warn_at", 1.5)), ("spec", "warn_at"), "between"),
    ("warn_at true", lambda: doc(("spec.warn_at", True)), ("spec", "warn_at"), "number"),
    ("warn_at text", lambda: doc(("spec.warn_at", "most")), ("spec", "warn_at"), "number"),
    (
        "pause unknown SLA",
        lambda: doc(("spec.pause", ["resolution", "lunch"])),
        ("spec", "pause", "1"),
        "unknown SLA 'lunch'",
    ),
    ("pause not a list", lambda: doc(("spec.pause", "resolution")), ("spec", "pause"), "list"),
]


@pytest.mark.parametrize(
    ("make", "path", "fragment"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_invalid_documents_name_the_field(
    make: Callable[[], Any], path: tuple[str, ...], fragment: str
) -> None:
    """Each invalid document raises PolicyError whose path and message locate the problem."""
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(make())
    error = caught.value
    assert error.path == path
    assert fragment in error.message
    assert error.line is None
    assert error.source is None
    dotted = ".".join(path)
    assert str(error) == (f"{dotted}: {error.message}" if path else error.message)


def test_error_string_includes_source_and_line() -> None:
    """With a source and line, str() reads 'source:line: dotted.path: message'."""
    error = PolicyError("bad", ("spec", "warn_at"), 7, "policy.yaml")
    assert str(error) == "policy.yaml:7: spec.warn_at: bad"
    assert str(PolicyError("bad", (), None, "policy.yaml")) == "policy.yaml: bad"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-12:00", (540, 720)),
        ("00:00-24:00", (0, 1440)),
        ("13:30-18:05", (810, 1085)),
        ("23:59-24:00", (1439, 1440)),
    ],
)
def test_parse_interval(text: str, expected: tuple[int, int]) -> None:
    """'HH:MM-HH:MM' gives minutes of the day; 24:00 only as an end."""
    assert parse_interval(text, ()) == expected


@pytest.mark.parametrize(
    "text",
    ["18:00-09:00", "09:00-09:00", "24:00-24:00", "09:00-25:00", "09:60-10:00", "9-18", 900, ""],
)
def test_parse_interval_rejects(text: Any) -> None:
    """Reversed, empty, out-of-range or malformed intervals raise PolicyError with the path."""
    with pytest.raises(PolicyError) as caught:
        parse_interval(text, ("a", "b"))
    assert caught.value.path == ("a", "b")


def test_zone_naming_a_tz_directory_is_a_policy_error() -> None:
    """timezone: Europe (a folder of zones) is reported like any unknown zone."""
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(doc((f"{CAL}.office", dict(OFFICE, timezone="Europe"))))
    assert caught.value.path == ("spec", "calendars", "office", "timezone")


def minute_a_day(holidays: list[str] | None = None) -> dict[str, Any]:
    """A calendar open one minute a day: 7 minutes a week."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    return {"timezone": "UTC", "weekly": {day: ["09:00-09:01"] for day in days},
            "holidays": holidays or []}  # fmt: skip


def on_calendar(calendar: dict[str, Any], resolution: str) -> dict[str, Any]:
    return doc((f"{CAL}.thin", calendar), ("spec.priorities.P4.calendar", "thin"),
               ("spec.priorities.P4.resolution", resolution))  # fmt: skip


def test_a_target_the_calendar_needs_over_50_years_for_is_refused() -> None:
    """7 minutes a week x 2347 weeks (45 years) = 11d9h49m of calendar time: the limit."""
    assert (
        policy_from_dict(on_calendar(minute_a_day(), "11d9h49m")).target_ns("P4", "resolution")
        == 2347 * 7 * M
    )
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(on_calendar(minute_a_day(), "11d9h49m1ms"))
    assert caught.value.path == ("spec", "priorities", "P4", "resolution")
    assert caught.value.message == (
        "11d9h49m1ms of calendar 'thin' could take more than 50 years of wall time: it is open "
        "7m a week, so a target on it can be at most 11d9h49m"
    )


def test_the_probe_policies_are_refused() -> None:
    """99999d on a minute-a-day calendar (replay ran 42 s, then OverflowError) and
    99999999d on 24x7 (year 275817) are policy errors now."""
    with pytest.raises(PolicyError, match="at most 400d, got '99999d'"):
        policy_from_dict(on_calendar(minute_a_day(), "99999d"))
    with pytest.raises(PolicyError, match="at most 400d, got '99999999d'") as caught:
        policy_from_dict(doc(("spec.priorities.P1.resolution", "99999999d")))
    assert caught.value.path == ("spec", "priorities", "P1", "resolution")
    with pytest.raises(PolicyError, match="could take more than 50 years"):
        policy_from_dict(on_calendar(minute_a_day(), "400d"))


def test_holidays_reduce_what_a_calendar_can_reach() -> None:
    """Each listed holiday takes its day's opening out of the 45-year budget."""
    limit = "11d9h48m"  # 2347 * 7 minutes less one holiday's minute
    assert policy_from_dict(on_calendar(minute_a_day(["2026-10-01"]), limit))
    with pytest.raises(PolicyError, match="at most 11d9h47m"):
        policy_from_dict(on_calendar(minute_a_day(["2026-10-01", "2026-10-02"]), limit))


def test_400_days_fit_any_calendar_open_a_few_hours_a_week() -> None:
    """An office week (40 h) takes 400d with room to spare; so does 4.1 h a week."""
    office = policy_from_dict(on_calendar(OFFICE, "400d"))
    assert office.target_ns("P4", "resolution") == 400 * 24 * H
    short = {"timezone": "UTC", "weekly": {"mon": ["09:00-13:06"]}}
    assert policy_from_dict(on_calendar(short, "400d"))
    with pytest.raises(PolicyError, match="could take more than 50 years"):
        policy_from_dict(on_calendar({"timezone": "UTC", "weekly": {"mon": ["09:00-13:05"]}},
                                     "400d"))  # fmt: skip


BIG = "x" * 1_000_000


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        (("spec.warn_at", "1e-99999999"), ("spec", "warn_at"), "got '1e-99999999'"),
        (("spec.warn_at", "0.5e1"), ("spec", "warn_at"), "such as 0.75"),
        (("spec.warn_at", float("nan")), ("spec", "warn_at"), "got nan"),
        (("spec.warn_at", float("inf")), ("spec", "warn_at"), "got inf"),
        (("spec.warn_at", 10**10_000), ("spec", "warn_at"), "<integer of"),
        (("spec.warn_at", BIG), ("spec", "warn_at"), "..."),
        (("metadata.name", BIG), ("metadata", "name"), "1000000 characters, more than 100"),
        (("metadata.name", [BIG] * 1000), ("metadata", "name"), "..."),
        (("spec.pause", {"k": BIG}), ("spec", "pause"), "..."),
        (("spec.pause", [BIG]), ("spec", "pause", "0"), "..."),
        ((f"{CAL}.office", dict(OFFICE, timezone=BIG)),
         ("spec", "calendars", "office", "timezone"), "more than 100"),
        ((f"{CAL}.office", dict(OFFICE, holidays=[BIG])),
         ("spec", "calendars", "office", "holidays", "0"), "..."),
        ((f"{CAL}.office", dict(OFFICE, weekly={"mon": [BIG]})),
         ("spec", "calendars", "office", "weekly", "mon", "0"), "..."),
        ((f"{CAL}.{BIG}", OFFICE), ("spec", "calendars", BIG), "at most 100 characters"),
        (("spec.priorities.P1.first_response", BIG),
         ("spec", "priorities", "P1", "first_response"), "..."),
        (("spec.priorities.P1.first_response", "\u0665m"),
         ("spec", "priorities", "P1", "first_response"), "expected a duration"),
        (("spec.priorities.P1.first_response", "-5m"),
         ("spec", "priorities", "P1", "first_response"), "expected a duration"),
        (("spec.priorities.P1.first_response", 300),
         ("spec", "priorities", "P1", "first_response"), "got 300"),
        (("spec.priorities.P1.calendar", BIG), ("spec", "priorities", "P1", "calendar"),
         "more than 100"),
        (("apiVersion", BIG), ("apiVersion",), "..."),
        (("kind", [BIG]), ("kind",), "..."),
        ((f"spec.{BIG}", 1), ("spec", BIG), "unknown key"),
    ],
)  # fmt: skip
def test_hostile_values_give_short_errors(
    change: tuple[str, Any], path: tuple[str, ...], fragment: str
) -> None:
    """Huge, absurd or wrongly typed values: a PolicyError naming the field, with a message
    (and a rendered path) of bounded length that quotes at most 80 characters of the value."""
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(doc(change))
    error = caught.value
    assert error.path == path
    assert fragment in error.message
    assert len(error.message) <= 300
    assert len(str(error)) <= 600
    assert "x" * 81 not in str(error)


def test_interval_digits_are_ascii() -> None:
    """'\u0660\u0669:00-12:00' (Arabic-Indic 09) is not an interval."""
    with pytest.raises(PolicyError, match="expected an interval"):
        parse_interval("\u0660\u0669:00-12:00", ())
