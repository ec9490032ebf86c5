"""SLA clock arithmetic on a clock's state: its closed run spans and, while running, ``since``.

A clock is ``(spans, since)``: ``spans`` is flat (start0, stop0, start1, stop1, ...) in UTC
nanoseconds, a shared empty tuple until the first run ends; ``since`` is the instant it
last started, or None while stopped. The state lives in plain slots of
:class:`~slamon.core.tickets.TicketFold` (no object per clock: a worker holds a million
tickets). Elapsed time is business time in a calendar, passed in because a priority change
swaps it retroactively.
"""

from __future__ import annotations

from slamon.core.calendars import ALWAYS_OPEN, Calendar

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
# For the 24x7 calendar (business time = wall time) they skip the calendar's method calls;
# tests/core/test_clocks_fast.py proves them equal to the calendar walk on generated clocks.
def elapsed(spans: Spans, since: int | None, calendar: Calendar, now: int) -> int:
    """Business time the clock ran up to ``now``."""
    if calendar is ALWAYS_OPEN:
        total = 0
        for i in range(0, len(spans), 2):
            start, end = spans[i], spans[i + 1]
            end = end if end < now else now
            if end > start:
                total += end - start
        return total + (now - since if since is not None and now > since else 0)
    business = calendar.business_ns
    total = 0
    for i in range(0, len(spans), 2):
        total += business(spans[i], min(spans[i + 1], now))
    if since is not None:
        total += business(since, now)
    return total


def reach(spans: Spans, since: int | None, calendar: Calendar, need: int) -> int | None:
    """First instant at which elapsed reaches ``need`` (None if it never will)."""
    if calendar is ALWAYS_OPEN:
        return _wall(spans, since, need, False)
    if not spans:  # a clock that never stopped yet: the common case, no loop to set up
        return calendar.reach(since, need) if since is not None else None
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
    if calendar is ALWAYS_OPEN:
        return _wall(spans, since, need, True)
    if not spans:
        return calendar.locate(since, need) if since is not None else None
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


def _wall(spans: Spans, since: int | None, need: int, strictly: bool) -> int | None:
    """:func:`reach` (``strictly`` False) or :func:`exceed` (True) in the 24x7 calendar,
    where a run's business time is its length and ``reach``/``locate`` add ``need``."""
    acc = 0
    for i in range(0, len(spans), 2):
        start = spans[i]
        end = spans[i + 1]
        run = end - start if end > start else 0
        if acc + run > need if strictly else acc + run >= need:
            left = need - acc
            return start + left if left > 0 else start
        acc += run
    if since is not None:
        left = need - acc
        return since + left if left > 0 else since
    return None
