"""RFC 3339 parsing and formatting of event times, exact to the nanosecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slamon.core.timefmt import (
    MAX_TIME_NS,
    MIN_TIME_NS,
    SUPPORTED_RANGE,
    format_rfc3339,
    parse_rfc3339,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_utc_and_offsets_denote_the_same_instant() -> None:
    """08:00Z, 16:00+08:00 and 03:00-05:00 are one instant."""
    expected = 1_795_507_200 * 10**9  # 2026-11-24T08:00:00Z, by hand: 20781 days * 86400
    assert parse_rfc3339("2026-11-24T08:00:00Z") == expected
    assert parse_rfc3339("2026-11-24T16:00:00+08:00") == expected
    assert parse_rfc3339("2026-11-24T03:00:00-05:00") == expected


def test_fractions_keep_nanoseconds() -> None:
    """Milliseconds and nanoseconds are kept exactly; more than 9 digits is an error."""
    base = parse_rfc3339("2026-11-24T08:00:00Z")
    assert parse_rfc3339("2026-11-24T08:00:00.5Z") - base == 500_000_000
    assert parse_rfc3339("2026-11-24T08:00:00.001Z") - base == 1_000_000
    assert parse_rfc3339("2026-11-24T08:00:00.000000001Z") - base == 1
    assert parse_rfc3339("2026-11-24T08:00:00.999999999+00:00") - base == 999_999_999
    with pytest.raises(ValueError, match="more than 9 fractional digits"):
        parse_rfc3339("2026-11-24T08:00:00.0000000019Z")


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


def test_supported_range_is_1970_to_2200_exclusive() -> None:
    """The first and the last nanosecond of the range parse; one ns outside does not."""
    assert parse_rfc3339("1970-01-01T00:00:00Z") == MIN_TIME_NS == 0
    assert parse_rfc3339("2199-12-31T23:59:59.999999999Z") == MAX_TIME_NS - 1
    assert int((datetime(2200, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()) * 10**9 == MAX_TIME_NS
    assert MAX_TIME_NS + 50 * 366 * 86400 * 10**9 < 2**63  # room for 50 years of deadlines
    assert format_rfc3339(MAX_TIME_NS - 1) == "2199-12-31T23:59:59.999999999Z"


@pytest.mark.parametrize(
    "text",
    [
        "0000-01-01T00:00:00Z",  # year 0: datetime cannot even format it
        "0001-01-01T00:00:00+23:59",  # before year 1 in UTC
        "1677-09-21T00:12:43Z",  # below -2**63 ns
        "1969-12-31T23:59:59.999999999Z",
        "1970-01-01T00:00:00+00:01",  # the offset moves it before the epoch
        "2200-01-01T00:00:00Z",
        "2199-12-31T23:00:00-01:00",
        "2262-04-11T23:47:16.854775808Z",  # 2**63 ns
        "9999-12-31T23:59:59Z",
    ],
)
def test_instants_outside_the_range_are_refused(text: str) -> None:
    """Outside 1970..2200 the reason names the time and the supported range."""
    with pytest.raises(ValueError, match="outside the supported range") as caught:
        parse_rfc3339(text)
    assert str(caught.value) == f"{text} is outside the supported range {SUPPORTED_RANGE}"
    assert SUPPORTED_RANGE == "1970-01-01T00:00:00Z..2200-01-01T00:00:00Z"


@pytest.mark.parametrize(
    "text",
    [
        "\u0661\u0669\u0667\u0660-01-01T00:00:00Z",  # Arabic-Indic digits: int() accepts them
        "2026-\uff11\uff11-24T08:00:00Z",  # full-width digits
        "2026-11-24T08:00:00.\u0665Z",
        "2026-11-24T08:00:00+\u0660\u0668:00",
    ],
)
def test_only_ascii_digits(text: str) -> None:
    """Digits of other scripts are not RFC 3339 digits."""
    with pytest.raises(ValueError, match="not an RFC 3339 timestamp"):
        parse_rfc3339(text)


def test_a_long_fraction_is_refused_quickly_and_not_echoed() -> None:
    """200,000 fraction digits: a short reason, no parse of the digits."""
    text = "2026-11-24T08:00:00." + "1" * 200_000 + "Z"
    with pytest.raises(ValueError, match="more than 9 fractional digits") as caught:
        parse_rfc3339(text)
    assert len(str(caught.value)) < 120


@pytest.mark.parametrize("text", ["x" * 100_000, "2026-11-24T08:00:00Z" + " " * 100_000])
def test_reasons_quote_a_short_excerpt(text: str) -> None:
    """A huge non-timestamp is quoted as a 40-character excerpt."""
    with pytest.raises(ValueError, match="not an RFC 3339 timestamp") as caught:
        parse_rfc3339(text)
    assert len(str(caught.value)) < 100


@settings(max_examples=300)
@given(st.integers(MIN_TIME_NS - 10**18, MAX_TIME_NS + 10**18))
def test_range_check_agrees_with_the_bounds(ns: int) -> None:
    """Any formatted instant (years 1938..2231) parses back exactly iff it is in range."""
    seconds, nanos = divmod(ns, 10**9)
    text = (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"
    if MIN_TIME_NS <= ns < MAX_TIME_NS:
        assert parse_rfc3339(text) == ns
        assert parse_rfc3339(format_rfc3339(ns)) == ns
    else:
        with pytest.raises(ValueError, match="outside the supported range"):
            parse_rfc3339(text)


@settings(max_examples=300)
@given(st.text(max_size=40) | st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T.{8}.{0,12}\Z"))
def test_any_text_is_an_instant_in_range_or_a_value_error(text: str) -> None:
    """Fuzz: parsing never raises anything but ValueError and never leaves the range."""
    result = _parse(text)
    if isinstance(result, ValueError):
        assert 0 < len(str(result)) <= 200
    else:
        assert MIN_TIME_NS <= result < MAX_TIME_NS


def _parse(text: str) -> int | ValueError:
    try:
        return parse_rfc3339(text)
    except ValueError as exc:
        return exc
