"""Policy durations: parsing ``1h30m``-style text to nanoseconds and formatting back."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slamon.core.durations import MAX_DURATION_NS, format_duration, parse_duration

MS = 1_000_000
S = 1_000 * MS
M = 60 * S
H = 60 * M
D = 24 * H


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", 90 * S),
        ("15m", 15 * M),
        ("4h", 4 * H),
        ("2d", 2 * D),
        ("1h30m", 90 * M),
        ("500ms", 500 * MS),
        ("1m30s", 90 * S),
        ("1s500ms", 1_500 * MS),
        ("1m500ms", 60_500 * MS),  # "m" followed by "500ms" is minutes, not milli-
        ("1d2h3m4s5ms", (86_400 + 7_200 + 180 + 4) * S + 5 * MS),
        ("0h5m", 5 * M),  # a zero part is fine when the total is positive
        ("90m", 90 * M),  # parts are not capped at their unit
        (" 15m ", 15 * M),  # surrounding blanks are ignored
        ("1ms", MS),
    ],
)
def test_parses_valid_durations(text: str, expected: int) -> None:
    """Each unit d/h/m/s/ms, alone or combined in that order, gives exact nanoseconds."""
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "15",  # no unit
        "15x",
        "m",  # no number
        "1h 30m",  # inner blank
        "-5m",
        "+5m",
        "1.5h",
        "30m1h",  # wrong order
        "1s1m",
        "1h1h",
        "15M",
        "0s",  # not positive
        "0h0m0s",
        "0ms",
    ],
)
def test_rejects_malformed_or_zero_durations(text: str) -> None:
    """Anything but a positive d/h/m/s/ms sequence is a ValueError."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize("value", [15, 1.5, None, ["15m"]])
def test_rejects_non_strings(value: Any) -> None:
    """A number (e.g. YAML ``15``) is not a duration: the unit is required."""
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


@pytest.mark.parametrize(
    ("ns", "expected"),
    [
        (0, "0s"),
        (MS - 1, "0s"),  # below a millisecond
        (MS, "1ms"),
        (MS + MS // 2, "1ms"),  # sub-millisecond rest dropped
        (90 * S, "1m30s"),
        (90 * M, "1h30m"),
        (D, "1d"),
        (3 * D, "3d"),
        ((86_400 + 7_200 + 180 + 4) * S + 5 * MS, "1d2h3m4s5ms"),
        (H + 1, "1h"),
        (D + 5 * MS, "1d5ms"),
    ],
)
def test_format_duration(ns: int, expected: str) -> None:
    """The shortest d/h/m/s/ms form, zero parts left out."""
    assert format_duration(ns) == expected


@settings(max_examples=200)
@given(st.integers(1, 400 * D // MS))
def test_format_then_parse_round_trips_milliseconds(ms: int) -> None:
    """Any positive whole number of milliseconds survives format then parse exactly."""
    assert parse_duration(format_duration(ms * MS)) == ms * MS


@settings(max_examples=200)
@given(
    st.tuples(*(st.integers(0, 99) for _ in range(5))).filter(any),
)
def test_parse_sums_the_parts(parts: tuple[int, int, int, int, int]) -> None:
    """``{d}d{h}h{m}m{s}s{ms}ms`` is d*1d + h*1h + m*1m + s*1s + ms*1ms."""
    days, hours, minutes, seconds, millis = parts
    text = f"{days}d{hours}h{minutes}m{seconds}s{millis}ms"
    expected = days * D + hours * H + minutes * M + seconds * S + millis * MS
    assert parse_duration(text) == expected


def test_durations_are_at_most_400_days() -> None:
    """400d is the largest duration; one millisecond more is refused with the bound."""
    assert MAX_DURATION_NS == 400 * D
    assert parse_duration("400d") == 400 * D
    assert parse_duration("399d23h59m59s999ms") == 400 * D - MS
    for text in ("400d1ms", "401d", "9600h1ms", "99999999d", "999999999999ms"):
        with pytest.raises(ValueError, match=r"a duration must be at most 400d, got '"):
            parse_duration(text)


@pytest.mark.parametrize(
    "text",
    [
        "\u0661\u0665m",  # Arabic-Indic 15: int() and \d accept it
        "\uff11h",  # full-width 1
        "1" * 13 + "s",  # more than 12 digits in a part
        "9" * 10_000 + "d",  # int() of it raises on Python 3.11+: refused before int()
        "1h" * 1000,
    ],
)
def test_only_short_ascii_numbers(text: str) -> None:
    """Other scripts' digits and absurdly long numbers are not durations; the reason is short."""
    with pytest.raises(ValueError, match="expected a duration") as caught:
        parse_duration(text)
    assert len(str(caught.value)) < 120


@settings(max_examples=300)
@given(st.text(max_size=30) | st.from_regex(r"\A([0-9]{1,14}(d|h|m|s|ms)){1,5}\Z"))
def test_any_text_is_a_bounded_duration_or_a_value_error(text: str) -> None:
    """Fuzz: a duration is in (0, 400d] or a ValueError with a short reason."""
    result = _parse(text)
    if isinstance(result, ValueError):
        assert 0 < len(str(result)) <= 120
    else:
        assert 0 < result <= MAX_DURATION_NS


def _parse(text: str) -> int | ValueError:
    try:
        return parse_duration(text)
    except ValueError as exc:
        return exc
