"""RFC 3339 parsing and formatting of event times, exact to the nanosecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slamon.core.timefmt import format_rfc3339, parse_rfc3339

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_utc_and_offsets_denote_the_same_instant() -> None:
    """08:00Z, 16:00+08:00 and 03:00-05:00 are one instant."""
    expected = 1_795_507_200 * 10**9  # 2026-11-24T08:00:00Z, by hand: 20781 days * 86400
    assert parse_rfc3339("2026-11-24T08:00:00Z") == expected
    assert parse_rfc3339("2026-11-24T16:00:00+08:00") == expected
    assert parse_rfc3339("2026-11-24T03:00:00-05:00") == expected


def test_fractions_keep_nanoseconds() -> None:
    """Milliseconds and nanoseconds are kept exactly; digits beyond 9 are truncated."""
    base = parse_rfc3339("2026-11-24T08:00:00Z")
    assert parse_rfc3339("2026-11-24T08:00:00.5Z") - base == 500_000_000
    assert parse_rfc3339("2026-11-24T08:00:00.001Z") - base == 1_000_000
    assert parse_rfc3339("2026-11-24T08:00:00.000000001Z") - base == 1
    assert parse_rfc3339("2026-11-24T08:00:00.0000000019Z") - base == 1


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-24T08:00:00",  # no offset
        "2026-11-24 08:00:00Z",  # space instead of T
        "2026-12-31T23:59:60Z",  # leap second
        "2026-02-29T00:00:00Z",  # not a leap year
        "2026-13-01T00:00:00Z",
        "2026-11-24T24:00:00Z",
        "2026-11-24T08:00Z",
        "2026-11-24T08:00:00+0800",
        "2026-11-24T08:00:00+24:00",
        "",
        "yesterday",
    ],
)
def test_rejects_what_rfc3339_with_offset_does_not_allow(text: str) -> None:
    """Times without offset, with a space, leap seconds and impossible dates are errors."""
    with pytest.raises(ValueError, match=r"\S"):
        parse_rfc3339(text)


def test_leap_day_of_a_leap_year_is_valid() -> None:
    """2028-02-29 exists."""
    assert parse_rfc3339("2028-02-29T00:00:00Z") - parse_rfc3339("2028-02-28T00:00:00Z") == (
        86400 * 10**9
    )


def test_format_uses_utc_and_milliseconds() -> None:
    """Output is UTC with a Z and milliseconds, more digits only when needed."""
    ns = parse_rfc3339("2026-11-24T16:00:00.25+08:00")
    assert format_rfc3339(ns) == "2026-11-24T08:00:00.250Z"
    assert format_rfc3339(ns + 1) == "2026-11-24T08:00:00.250000001Z"


@given(
    moment=st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
        ),
    )
)
def test_agrees_with_datetime_and_round_trips(moment: datetime) -> None:
    """Parsing agrees with datetime arithmetic, and formatting parses back to the same ns."""
    text = moment.isoformat(timespec="microseconds")
    ns = parse_rfc3339(text)
    assert ns == (moment - EPOCH) // timedelta(microseconds=1) * 1000
    assert parse_rfc3339(format_rfc3339(ns)) == ns
