"""SLA clock arithmetic on a clock's state: its closed run spans and, while running, ``since``.

A clock is ``(spans, since)``: ``spans`` is flat (start0, stop0, start1, stop1, ...) in UTC
nanoseconds, a shared empty tuple until the first run ends; ``since`` is the instant it
last started, or None while stopped. The state lives in plain slots of
:class:`~slamon.core.tickets.TicketFold` (no object per clock: a worker holds a million
tickets). Elapsed time is business time in a calendar, passed in because a priority change
swaps it retroactively.
"""

from __future__ import annotations

from slamon.core.calendars import Calendar

Spans = list[int] | tuple[()]
NO_SPANS: tuple[()] = ()


def step(spans: Spans, since: int | None, run: bool, at: int) -> tuple[Spans, int | None, bool]:
    """Start (``run``) or stop the clock at ``at``; returns the new state and whether it changed.

    A zero-length run adds no time and no breach point, so it leaves no span.
    """
    if run:
        return (spans, at, True) if since is None else (spans, since, False)
    if since is None:
        return spans, None, False
    if at > since:
        spans = [*spans, since, at] if spans else [since, at]
    return spans, None, True


# The three queries walk the flat span list directly: they are the engine's inner loop.
def elapsed(spans: Spans, since: int | None, calendar: Calendar, now: int) -> int:
    """Business time the clock ran up to ``now``."""
    business = calendar.business_ns
    total = 0
    for i in range(0, len(spans), 2):
        total += business(spans[i], min(spans[i + 1], now))
    if since is not None:
        total += business(since, now)
    return total


def reach(spans: Spans, since: int | None, calendar: Calendar, need: int) -> int | None:
    """First instant at which elapsed reaches ``need`` (None if it never will)."""
    acc = 0
    for i in range(0, len(spans), 2):
        start = spans[i]
        run = calendar.business_ns(start, spans[i + 1])
        if acc + run >= need:
            return calendar.reach(start, need - acc)
        acc += run
    if since is not None:
        return calendar.reach(since, need - acc)
    return None


def exceed(spans: Spans, since: int | None, calendar: Calendar, need: int) -> int | None:
    """First instant after which elapsed exceeds ``need`` (the breach instant).

    When ``need`` is used up exactly at a closing time or a stop, this is the instant the
    clock next runs, not the closing instant.
    """
    acc = 0
    for i in range(0, len(spans), 2):
        start = spans[i]
        run = calendar.business_ns(start, spans[i + 1])
        if acc + run > need:
            return calendar.locate(start, need - acc)
        acc += run
    if since is not None:
        return calendar.locate(since, need - acc)
    return None
