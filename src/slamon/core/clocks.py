"""One SLA clock: the spans during which it ran, and the arithmetic on them.

A clock is a list of closed run spans plus, while it runs, the instant it last
started. Elapsed time is business time in a calendar; the calendar is passed in
because a priority change swaps it retroactively.
"""

from __future__ import annotations

from collections.abc import Iterator

from slamon.core.calendars import Calendar


class Clock:
    """Run spans ``[start, stop)`` in UTC nanoseconds; ``since`` is set while running."""

    __slots__ = ("since", "spans")

    def __init__(self) -> None:
        self.spans: list[int] = []  # flat: start0, stop0, start1, stop1, ...
        self.since: int | None = None

    @property
    def running(self) -> bool:
        return self.since is not None

    def start(self, at: int) -> None:
        if self.since is None:
            self.since = at

    def stop(self, at: int) -> None:
        since = self.since
        if since is not None:
            if at > since:  # a zero-length run adds no time and no breach point
                self.spans.append(since)
                self.spans.append(at)
            self.since = None

    def _runs(self) -> Iterator[tuple[int, int | None]]:
        spans = self.spans
        for i in range(0, len(spans), 2):
            yield spans[i], spans[i + 1]
        if self.since is not None:
            yield self.since, None

    def elapsed(self, calendar: Calendar, now: int) -> int:
        """Business time the clock ran up to ``now``."""
        total = 0
        for start, stop in self._runs():
            end = now if stop is None or stop > now else stop
            total += calendar.business_ns(start, end)
        return total

    def reach(self, calendar: Calendar, need: int) -> int | None:
        """First instant at which elapsed reaches ``need`` (None if it never will)."""
        acc = 0
        for start, stop in self._runs():
            if stop is None:
                return calendar.reach(start, need - acc)
            run = calendar.business_ns(start, stop)
            if acc + run >= need:
                return calendar.reach(start, need - acc)
            acc += run
        return None

    def exceed(self, calendar: Calendar, need: int) -> int | None:
        """First instant after which elapsed exceeds ``need`` (the breach instant).

        When ``need`` is used up exactly at a closing time or a stop, this is the
        instant the clock next runs, not the closing instant.
        """
        acc = 0
        for start, stop in self._runs():
            if stop is None:
                return calendar.locate(start, need - acc)
            run = calendar.business_ns(start, stop)
            if acc + run > need:
                return calendar.locate(start, need - acc)
            acc += run
        return None

    def to_list(self) -> list[int | None]:
        return [*self.spans, self.since]

    @classmethod
    def from_list(cls, values: list[int | None]) -> Clock:
        clock = cls()
        *spans, clock.since = values
        clock.spans = [int(v) for v in spans if v is not None]
        return clock
