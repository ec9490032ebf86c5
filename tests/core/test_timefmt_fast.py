"""parse_rfc3339's fast path for common shapes equals the exact parser on any input, and
format_rfc3339's cached minute equals the exact formatter.

The fast path answers from a cached minute plus seconds, fraction and offset; the exact
parser (``_parse_exact``) is the reference. For generated timestamps (valid ones, and ones
with a field out of range, a leap second, a bad offset, lower-case letters, a long
fraction, or an instant outside the supported range) both give the same nanoseconds or
both raise the same reason.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from slamon.core import timefmt
from slamon.core.timefmt import (
    MAX_TIME_NS,
    MIN_TIME_NS,
    _format_exact,
    _parse_exact,
    format_rfc3339,
    parse_rfc3339,
)


def _outcome(parse: object, text: str) -> tuple[str, object]:
    try:
        return "ok", parse(text)  # type: ignore[operator]
    except ValueError as exc:
        return "error", str(exc)


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


@st.composite
def timestamps(draw: st.DrawFn) -> str:
    """RFC 3339-like text around the supported range and the fields' limits."""
    year = draw(st.sampled_from([1969, 1970, 1971, 2000, 2024, 2026, 2199, 2200]))
    month, day = draw(_two(0, 13)), draw(_two(0, 32))
    hour, minute, second = draw(_two(0, 25)), draw(_two(0, 61)), draw(_two(0, 61))
    sep = draw(st.sampled_from("TTTt "))
    frac = draw(st.one_of(st.just(""), st.text("0123456789", min_size=0, max_size=11)))
    frac = "." + frac if frac or draw(st.booleans()) else ""
    signed = st.builds(
        lambda s, h, m: f"{s}{h}:{m}", st.sampled_from("+-"), _two(0, 25), _two(0, 61)
    )
    offset = draw(st.one_of(st.sampled_from(["Z", "Z", "z", "", "+00:00", "-00:00"]), signed))
    return f"{year:04d}-{month}-{day}{sep}{hour}:{minute}:{second}{frac}{offset}"


@given(text=timestamps())
@example(text="1969-12-31T23:30:00-01:00")  # the minute is before 1970, the instant is not
@example(text="2199-12-31T23:59:59.999999999Z")
@example(text="2200-01-01T00:00:00Z")
@example(text="2026-11-02T23:59:60Z")
@example(text="2026-02-29T08:00:00Z")
def test_fast_path_equals_the_exact_parser(text: str) -> None:
    """Same instant, or the same ValueError reason, through both paths (twice: cached)."""
    expected = _outcome(_parse_exact, text)
    assert _outcome(parse_rfc3339, text) == expected
    assert _outcome(parse_rfc3339, text) == expected


@given(text=st.text(max_size=40))
def test_fast_path_equals_the_exact_parser_on_any_text(text: str) -> None:
    """Arbitrary text, Unicode digits included: the same answer both ways."""
    assert _outcome(parse_rfc3339, text) == _outcome(_parse_exact, text)


@given(tail=st.one_of(st.text("0123456789.Zz+-:\u0663 ", max_size=14), st.text(max_size=14)))
@example(tail="59.123456789Z")
@example(tail="00.1234567890Z")  # ten digits
@example(tail="07.Z")
@example(tail="60Z")
def test_any_tail_after_a_cached_minute_gives_the_exact_answer(tail: str) -> None:
    """The seconds and fraction after a minute seen before (its fastest path): the same
    instant or reason as the exact parser, whatever follows (Unicode digits, a tenth
    digit, a lower-case z, an offset, nothing)."""
    assert parse_rfc3339("2026-11-02T08:00:00Z")  # the minute is cached now
    text = "2026-11-02T08:00:" + tail
    assert _outcome(parse_rfc3339, text) == _outcome(_parse_exact, text)


def test_the_minute_cache_is_bounded_and_keeps_nothing_invalid() -> None:
    """A refused minute is not cached; the cache never exceeds its bound."""
    timefmt._MINUTE_CACHE.pop("2026-13-02T08:00", None)
    assert _outcome(parse_rfc3339, "2026-13-02T08:00:00Z")[0] == "error"
    assert "2026-13-02T08:00" not in timefmt._MINUTE_CACHE
    assert parse_rfc3339("2026-11-02T08:00:01.5+01:00") == _parse_exact(
        "2026-11-02T08:00:01.5+01:00"
    )
    assert len(timefmt._MINUTE_CACHE) <= 100_000


@given(ns=st.integers(MIN_TIME_NS, MAX_TIME_NS - 1))
@example(ns=MIN_TIME_NS)
@example(ns=MAX_TIME_NS - 1)
@example(ns=59_999_999_999)  # the last nanosecond of the first minute
@example(ns=1_795_000_000_123_000_000)  # milliseconds only
def test_the_cached_minute_formats_as_the_exact_formatter(ns: int) -> None:
    """Same text both ways over the supported range (twice: the second from the cache)."""
    assert format_rfc3339(ns) == _format_exact(ns)
    assert format_rfc3339(ns) == _format_exact(ns)
    assert len(timefmt._PREFIX_CACHE) <= 100_000
