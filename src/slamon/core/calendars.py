"""Business calendars: how much of a span of UTC time counts towards an SLA.

A weekly calendar is a list of open windows in UTC nanoseconds, built per local
date in its IANA zone (so DST is right by construction) and extended lazily as
queries reach further out. Prefix sums over the windows make every query a
binary search: O(log n) however long the ticket has been open.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slamon.core.timefmt import NS_PER_S

MINUTES_PER_DAY = 24 * 60
_CHUNK_DAYS = 128  # dates built per extension; a few ms of zoneinfo work


class Calendar(Protocol):
    """What the SLA clocks need from a calendar. Instants are UTC nanoseconds."""

    @property
    def name(self) -> str: ...

    def business_ns(self, start: int, end: int) -> int:
        """Open time within ``[start, end)``; 0 when ``end <= start``."""
        ...

    def reach(self, start: int, need: int) -> int:
        """The smallest ``x >= start`` with ``business_ns(start, x) >= need``."""
        ...

    def locate(self, start: int, need: int) -> int:
        """Like :meth:`reach`, but the calendar must be open at ``x``.

        This is where a clock that used up ``need`` next runs: the breach instant.
        ``need == 0`` gives the first open instant at or after ``start``.
        """
        ...

    def open_spans(self, start: int, end: int) -> list[tuple[int, int]]:
        """The open windows within ``[start, end)``, clipped to it, in order."""
        ...


class AlwaysOpen:
    """The ``24x7`` calendar: every nanosecond counts."""

    name = "24x7"

    def business_ns(self, start: int, end: int) -> int:
        return end - start if end > start else 0

    def reach(self, start: int, need: int) -> int:
        return start + need if need > 0 else start

    def locate(self, start: int, need: int) -> int:
        return self.reach(start, need)

    def open_spans(self, start: int, end: int) -> list[tuple[int, int]]:
        """The open time within ``[start, end)``: all of it."""
        return [(start, end)] if end > start else []

    def __repr__(self) -> str:
        return "AlwaysOpen()"


ALWAYS_OPEN = AlwaysOpen()


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or touching ``(start, end)`` intervals."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class WeeklyCalendar:
    """Weekly open intervals in local time, minus holidays (local dates, closed all day),
    plus workdays (local dates open with the ``workday`` intervals whatever their weekday:
    make-up working days such as China's 调休).

    ``weekly`` maps a weekday (Monday = 0) to ``(start_minute, end_minute)`` pairs with
    ``0 <= start < end <= 1440``. A window edge that falls in a DST gap maps to the
    transition instant; an ambiguous edge (clocks going back) takes its first occurrence.
    """

    def __init__(
        self,
        name: str,
        timezone: str,
        weekly: Mapping[int, Sequence[tuple[int, int]]],
        holidays: Iterable[date] = (),
        *,
        workdays: Iterable[date] = (),
        workday: Sequence[tuple[int, int]] = (),
    ) -> None:
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory name
            raise ValueError(f"unknown time zone {timezone!r}") from None
        week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for day, intervals in weekly.items():
            if day not in range(7):
                raise ValueError(f"weekday must be 0..6, got {day!r}")
            for start, end in intervals:
                if not 0 <= start < end <= MINUTES_PER_DAY:
                    raise ValueError(f"bad interval {start}-{end} (minutes of the day)")
            week[day] = _merge(intervals)
        if not any(week):
            raise ValueError("a calendar needs at least one open interval in the week")
        self.name = name
        self.timezone = timezone
        self.week = tuple(tuple(day) for day in week)
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays) - self.holidays  # a holiday wins
        for start, end in workday:
            if not 0 <= start < end <= MINUTES_PER_DAY:
                raise ValueError(f"bad interval {start}-{end} (minutes of the day)")
        self.workday = tuple(_merge(workday))
        if self.workdays and not self.workday:
            raise ValueError("workdays need a workday schedule")
        # covered local dates [_lo, _hi); windows sorted, disjoint, not touching
        self._lo: date | None = None
        self._hi: date | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cum: list[int] = []  # open time before window i
        self._cum_end: list[int] = []  # open time up to the end of window i
        self._safe_lo = self._safe_hi = 0  # instants whose neighbourhood is built

    def __repr__(self) -> str:
        return f"WeeklyCalendar({self.name!r}, {self.timezone!r})"

    # -- building ----------------------------------------------------------------------
    def _instant(self, day: date, minute: int) -> int:
        """UTC ns of local ``day`` + ``minute``; DST-gap times map to the transition."""
        if minute == MINUTES_PER_DAY:
            day, minute = day + timedelta(days=1), 0
        hour, minute = divmod(minute, 60)
        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)
        seconds = int(local.timestamp())  # fold=0: the first of two ambiguous instants
        back = datetime.fromtimestamp(seconds, self.zone)
        if back.replace(tzinfo=None) != local.replace(tzinfo=None):  # in a gap
            seconds = self._transition(int(local.replace(fold=1).timestamp()), seconds)
        return seconds * NS_PER_S

    def _transition(self, low: int, high: int) -> int:
        """The first second in ``(low, high]`` with the offset in force at ``high``."""
        after = datetime.fromtimestamp(high, UTC).astimezone(self.zone).utcoffset()
        while high - low > 1:
            mid = (low + high) // 2
            if datetime.fromtimestamp(mid, UTC).astimezone(self.zone).utcoffset() == after:
                high = mid
            else:
                low = mid
        return high

    def _windows(self, first: date, last: date) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        day = first
        while day < last:
            if day not in self.holidays:
                intervals = self.workday if day in self.workdays else self.week[day.weekday()]
                out.extend((self._instant(day, s), self._instant(day, e)) for s, e in intervals)
            day += timedelta(days=1)
        return out

    def _rebuild(self, windows: list[tuple[int, int]]) -> None:
        windows = [w for w in _merge(windows) if w[1] > w[0]]
        self._starts = [s for s, _ in windows]
        self._ends = [e for _, e in windows]
        self._cum, self._cum_end, total = [], [], 0
        for start, end in windows:
            self._cum.append(total)
            total += end - start
            self._cum_end.append(total)

    def _local_date(self, at: int) -> date:
        return datetime.fromtimestamp(at // NS_PER_S, UTC).astimezone(self.zone).date()

    def _cover(self, at: int) -> None:
        """Make sure the windows around instant ``at`` are built."""
        if self._safe_lo <= at < self._safe_hi:  # the hot path: no date arithmetic
            return
        self._cover_dates(at)
        assert self._lo is not None
        assert self._hi is not None
        # a day inside the covered local dates is safe whatever the UTC offset
        self._safe_lo = self._instant(self._lo + timedelta(days=1), 0)
        self._safe_hi = self._instant(self._hi - timedelta(days=1), 0)

    def _cover_dates(self, at: int) -> None:
        day = self._local_date(at)
        lo, hi = day - timedelta(days=2), day + timedelta(days=2)
        if self._lo is None or self._hi is None:
            self._lo, self._hi = lo, max(hi, lo + timedelta(days=_CHUNK_DAYS))
            self._rebuild(self._windows(self._lo, self._hi))
            return
        if lo < self._lo:
            new_lo = min(lo, self._lo - timedelta(days=_CHUNK_DAYS))
            existing = list(zip(self._starts, self._ends, strict=True))
            self._rebuild(self._windows(new_lo, self._lo) + existing)
            self._lo = new_lo
        if hi > self._hi:
            self._extend(max(hi, self._hi + timedelta(days=_CHUNK_DAYS)))

    def _extend(self, new_hi: date) -> None:
        assert self._hi is not None
        added = self._windows(self._hi, new_hi)
        self._hi = new_hi
        if self._starts and added and added[0][0] <= self._ends[-1]:
            # touches the last window (e.g. 00:00-24:00 days): merge through a rebuild
            existing = list(zip(self._starts, self._ends, strict=True))
            self._rebuild(existing + added)
            return
        total = self._cum_end[-1] if self._cum_end else 0
        for start, end in _merge(added):
            self._starts.append(start)
            self._ends.append(end)
            self._cum.append(total)
            total += end - start
            self._cum_end.append(total)

    def _before(self, at: int) -> int:
        """Open time from the start of the covered range to ``at`` (``at`` covered)."""
        i = bisect_right(self._starts, at) - 1
        if i < 0:
            return 0
        end = self._ends[i]
        return self._cum[i] + (at if at < end else end) - self._starts[i]

    def _grow_until(self, total: int, *, strictly: bool) -> int:
        """Extend forward until some window ends past ``total``; return that window."""
        while True:
            find = bisect_right if strictly else bisect_left
            i = find(self._cum_end, total)
            if i < len(self._cum_end):
                return i
            assert self._hi is not None
            self._extend(self._hi + timedelta(days=_CHUNK_DAYS))
            self._safe_hi = self._instant(self._hi - timedelta(days=1), 0)

    # -- queries -----------------------------------------------------------------------
    # the queries test _cover's hot path inline (a method call each saved: the inner loop)
    def business_ns(self, start: int, end: int) -> int:
        if end <= start:
            return 0
        if not self._safe_lo <= start < self._safe_hi:
            self._cover(start)
        if not self._safe_lo <= end < self._safe_hi:
            self._cover(end)
        return self._before(end) - self._before(start)

    def reach(self, start: int, need: int) -> int:
        if need <= 0:
            return start
        if not self._safe_lo <= start < self._safe_hi:
            self._cover(start)
        total = self._before(start) + need
        i = bisect_left(self._cum_end, total)
        if i == len(self._cum_end):  # past the built windows
            i = self._grow_until(total, strictly=False)
        return self._starts[i] + (total - self._cum[i])

    def locate(self, start: int, need: int) -> int:
        if not self._safe_lo <= start < self._safe_hi:
            self._cover(start)
        total = self._before(start) + (need if need > 0 else 0)
        i = bisect_right(self._cum_end, total)
        if i == len(self._cum_end):
            i = self._grow_until(total, strictly=True)
        return self._starts[i] + max(0, total - self._cum[i])

    def open_spans(self, start: int, end: int) -> list[tuple[int, int]]:
        """The open windows within ``[start, end)``, clipped to it, in order (for explain)."""
        if end <= start:
            return []
        self._cover(start)
        self._cover(end)  # the covered dates are contiguous: every window between is built
        out = []
        i = max(bisect_right(self._starts, start) - 1, 0)
        while i < len(self._starts) and self._starts[i] < end:
            lo, hi = max(self._starts[i], start), min(self._ends[i], end)
            if hi > lo:
                out.append((lo, hi))
            i += 1
        return out
