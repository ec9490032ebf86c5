"""One SLA clock: the spans during which it ran, and the arithmetic on them.

A clock is a list of closed run spans plus, while it runs, the instant it last
started. Elapsed time is business time in a calendar; the calendar is passed in
because a priority change swaps it retroactively.
"""

from __future__ import annotations

from slamon.core.calendars import Calendar


class Clock:
    """Run spans ``[start, stop)`` in UTC nanoseconds; ``since`` is set while running."""

    __slots__ = ("since", "spans")

    def __init__(self) -> None:
        # flat: start0, stop0, start1, stop1, ...; a shared empty tuple until the first run
        self.spans: list[int] | tuple[()] = ()
        self.since: int | None = None

    @property
    def running(self) -> bool:
        return self.since is not None

    def start(self, at: int) -> bool:
        """Start running at ``at``; True if the clock was stopped."""
        if self.since is None:
            self.since = at
            return True
        return False

    def stop(self, at: int) -> bool:
        """Stop at ``at``; True if the clock was running."""
        since = self.since
        if since is None:
            return False
        if at > since:  # a zero-length run adds no time and no breach point
            if self.spans:
                self.spans += (since, at)
            else:
                self.spans = [since, at]
        self.since = None
        return True

    # The three queries below walk the flat span list directly: they are the
    # engine's inner loop, and a generator of pairs costs more than the arithmetic.
    def elapsed(self, calendar: Calendar, now: int) -> int:
        """Business time the clock ran up to ``now``."""
        spans = self.spans
        business = calendar.business_ns
        total = 0
        for i in range(0, len(spans), 2):
            total += business(spans[i], min(spans[i + 1], now))
        if self.since is not None:
            total += business(self.since, now)
        return total

    def reach(self, calendar: Calendar, need: int) -> int | None:
        """First instant at which elapsed reaches ``need`` (None if it never will)."""
        spans = self.spans
        acc = 0
        for i in range(0, len(spans), 2):
            start = spans[i]
            run = calendar.business_ns(start, spans[i + 1])
            if acc + run >= need:
                return calendar.reach(start, need - acc)
            acc += run
        if self.since is not None:
            return calendar.reach(self.since, need - acc)
        return None

    def exceed(self, calendar: Calendar, need: int) -> int | None:
        """First instant after which elapsed exceeds ``need`` (the breach instant).

        When ``need`` is used up exactly at a closing time or a stop, this is the
        instant the clock next runs, not the closing instant.
        """
        spans = self.spans
        acc = 0
        for i in range(0, len(spans), 2):
            start = spans[i]
            run = calendar.business_ns(start, spans[i + 1])
            if acc + run > need:
                return calendar.locate(start, need - acc)
            acc += run
        if self.since is not None:
            return calendar.locate(self.since, need - acc)
        return None

    def to_list(self) -> list[int | None]:
        return [*self.spans, self.since]

    @classmethod
    def from_list(cls, values: list[int | None]) -> Clock:
        clock = cls()
        *spans, clock.since = values
        clock.spans = [int(v) for v in spans if v is not None]
        return clock
