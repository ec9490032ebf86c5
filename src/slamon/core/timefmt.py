"""RFC 3339 timestamps <-> integer nanoseconds since the Unix epoch (UTC).

The core keeps time as ``int`` nanoseconds: exact, cheap to compare and to store.
Parsing is strict on purpose: an explicit offset is required, a space instead of
``T`` and leap seconds are rejected, digits are ASCII, a fraction has at most nine
digits, and the instant must lie in the supported range (see docs/contract.md).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from operator import truediv

from slamon.core.text import excerpt

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000

# [0-9], not \d: int() and \d also accept other scripts' digits (Arabic-Indic...).
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))\Z"
)
_LONG_FRACTION = re.compile(r"[0-9]:[0-9]{2}\.[0-9]{10}")
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# Event logs repeat the same few dates; caching the date part keeps parsing cheap.
_DAY_CACHE: dict[str, int] = {}


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


# The supported range of input instants: [MIN_TIME_NS, MAX_TIME_NS). Integer ns in
# 64 bits end in 2262; deadlines (at most 50 years of wall time past an event, see
# core/policy_fields.py) must stay below that, and 2200 + 50 years does.
MIN_TIME_NS = 0  # 1970-01-01T00:00:00Z
MAX_TIME_NS = _days_from_civil(2200, 1, 1) * 86400 * NS_PER_S  # 2200-01-01T00:00:00Z
SUPPORTED_RANGE = "1970-01-01T00:00:00Z..2200-01-01T00:00:00Z"


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _epoch_day(text: str) -> int:
    key = text[:10]
    days = _DAY_CACHE.get(key)
    if days is None:
        year, month, day = int(key[0:4]), int(key[5:7]), int(key[8:10])
        if not 1 <= month <= 12:
            raise ValueError(f"month out of range in {text!r}")
        limit = 29 if month == 2 and _is_leap(year) else _DAYS_IN_MONTH[month - 1]
        if not 1 <= day <= limit:
            raise ValueError(f"day out of range in {text!r}")
        days = _days_from_civil(year, month, day)
        if len(_DAY_CACHE) < 100_000:
            _DAY_CACHE[key] = days
    return days


# The common shapes, for parse_rfc3339's fast path: upper-case T and Z, seconds 00-59, an
# offset within +-23:59. Anything else (or a result out of range) takes the exact path.
_COMMON = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}):([0-5][0-9])(?:\.([0-9]{1,9}))?"
    r"(?:Z|([+-])((?:[01][0-9]|2[0-3])):([0-5][0-9]))\Z"
)
# "YYYY-MM-DDTHH:MM" -> its seconds since the epoch in UTC, as the exact path computes them
_MINUTE_CACHE: dict[str, int] = {}


def parse_rfc3339(text: str) -> int:
    """Parse an RFC 3339 timestamp with an explicit offset into UTC nanoseconds.

    The instant must lie in ``[MIN_TIME_NS, MAX_TIME_NS)``. Raises ``ValueError`` with
    the reason, which quotes at most a short excerpt of ``text``.

    Common shapes reuse the exact parser's answer for their minute (cached) and add the
    seconds, fraction and offset; tests/core/test_timefmt_fast.py proves both paths equal.
    """
    if len(text) >= 20 and text[16] == ":":  # a minute seen before, to the second, in UTC
        base = _MINUTE_CACHE.get(text[:16])
        tens, units = text[17], text[18]
        if base is not None and "0" <= tens <= "5" and "0" <= units <= "9":
            ns = (base + (ord(tens) - 48) * 10 + ord(units) - 48) * NS_PER_S
            tail = text[19:]
            if tail != "Z":
                ns = _plus_fraction(ns, tail)
            if MIN_TIME_NS <= ns < MAX_TIME_NS:
                return ns
    match = _COMMON.match(text)
    if match is not None:
        minute, ss, frac, sign, oh, om = match.groups()
        base = _MINUTE_CACHE.get(minute)
        if base is None:
            try:
                base = _parse_exact(minute + ":00Z") // NS_PER_S
            except ValueError:
                return _parse_exact(text)  # a bad date or time of day, or out of range
            if len(_MINUTE_CACHE) < 100_000:
                _MINUTE_CACHE[minute] = base
        seconds = base + int(ss)
        if sign is not None:
            offset = int(oh) * 3600 + int(om) * 60
            seconds -= offset if sign == "+" else -offset
        ns = seconds * NS_PER_S + (int(frac.ljust(9, "0")) if frac else 0)
        if MIN_TIME_NS <= ns < MAX_TIME_NS:
            return ns
    return _parse_exact(text)


def _plus_fraction(ns: int, tail: str) -> int:
    """``ns`` plus a ``.DDDDDDDDDZ`` tail's fraction (1-9 ASCII digits); -1 for any
    other tail (below MIN_TIME_NS: the caller then takes the general path)."""
    if not 3 <= len(tail) <= 11 or tail[0] != "." or tail[-1] != "Z":
        return -1
    digits = tail[1:-1]
    if not (digits.isascii() and digits.isdigit()):  # ASCII digits only, as the RFC says
        return -1
    return ns + int(digits) * _SCALE[len(digits)]


# a fraction of n digits, in ns: _SCALE[n]
_SCALE = (10**9, 10**8, 10**7, 10**6, 10**5, 10**4, 1000, 100, 10, 1)


def _parse_exact(text: str) -> int:
    """:func:`parse_rfc3339` for every shape: the reference, with every reason."""
    match = _RFC3339.match(text)
    if match is None:
        if _LONG_FRACTION.search(text[:64]):
            raise ValueError(f"more than 9 fractional digits (nanoseconds) in {excerpt(text)}")
        raise ValueError(f"not an RFC 3339 timestamp with offset: {excerpt(text)}")
    _, _, _, hh, mm, ss, frac, zulu, sign, oh, om = match.groups()
    hour, minute, second = int(hh), int(mm), int(ss)
    if hour > 23 or minute > 59:
        raise ValueError(f"time of day out of range in {text!r}")
    if second > 59:
        raise ValueError(f"leap seconds are not supported: {text!r}")
    seconds = _epoch_day(text) * 86400 + hour * 3600 + minute * 60 + second
    if zulu is None:
        off_h, off_m = int(oh), int(om)
        if off_h > 23 or off_m > 59:
            raise ValueError(f"offset out of range in {text!r}")
        offset = off_h * 3600 + off_m * 60
        seconds -= offset if sign == "+" else -offset
    ns = seconds * NS_PER_S + (int(frac.ljust(9, "0")) if frac else 0)
    if not MIN_TIME_NS <= ns < MAX_TIME_NS:
        raise ValueError(f"{text} is outside the supported range {SUPPORTED_RANGE}")
    return ns


# minute since the epoch -> "YYYY-MM-DDTHH:MM:", as the exact formatter writes it
_PREFIX_CACHE: dict[int, str] = {}


def format_rfc3339(ns: int) -> str:
    """Format UTC nanoseconds as RFC 3339 in UTC: milliseconds, or more digits only when needed.

    The date and minute come from a cache (UTC minutes have 60 seconds each); equal to
    the exact formatter, tests/core/test_timefmt_fast.py proves it.
    """
    seconds, nanos = divmod(ns, NS_PER_S)
    minute, second = divmod(seconds, 60)
    prefix = _PREFIX_CACHE.get(minute)
    if prefix is None:
        prefix = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:")
        if len(_PREFIX_CACHE) < 100_000:
            _PREFIX_CACHE[minute] = prefix
    if nanos % NS_PER_MS == 0:
        return f"{prefix}{second:02d}.{nanos // NS_PER_MS:03d}Z"
    return f"{prefix}{second:02d}.{nanos:09d}Z"


def _format_exact(ns: int) -> str:
    """:func:`format_rfc3339` without the cache: the reference."""
    seconds, nanos = divmod(ns, NS_PER_S)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos % NS_PER_MS == 0:
        return f"{base}.{nanos // NS_PER_MS:03d}Z"
    return f"{base}.{nanos:09d}Z"


def ns_to_seconds(ns: int) -> float:
    """Nanoseconds as float seconds (exact to well below a millisecond for SLA-sized values)."""
    # truediv, not `/`: CPython's correctly rounded int division also when mypyc compiles
    # this module (its int `/` goes through doubles: another last digit past 2**53 ns)
    seconds: float = truediv(ns, NS_PER_S)
    return seconds
