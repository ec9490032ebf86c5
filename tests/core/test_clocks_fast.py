"""The clocks' 24x7 fast path equals the calendar walk it replaces.

``clocks.elapsed``, ``reach`` and ``exceed`` skip the calendar's methods when the calendar
is :data:`ALWAYS_OPEN`. A proxy that forwards to the same calendar (but is not it) takes
the general walk: on any generated clock both must answer the same.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slamon.core import clocks
from slamon.core.calendars import ALWAYS_OPEN
from slamon.core.clocks import Spans


class _Forward:
    """ALWAYS_OPEN's methods behind another object: the clocks' general path."""

    name = "24x7"

    def business_ns(self, start: int, end: int) -> int:
        return ALWAYS_OPEN.business_ns(start, end)

    def reach(self, start: int, need: int) -> int:
        return ALWAYS_OPEN.reach(start, need)

    def locate(self, start: int, need: int) -> int:
        return ALWAYS_OPEN.locate(start, need)

    def open_spans(self, start: int, end: int) -> list[tuple[int, int]]:
        return ALWAYS_OPEN.open_spans(start, end)


GENERAL = _Forward()


@st.composite
def clock_states(draw: st.DrawFn) -> tuple[Spans, int | None]:
    """A clock as core.clocks.step builds it: ordered positive runs, maybe running after."""
    cuts = sorted(set(draw(st.lists(st.integers(0, 10**6), max_size=9))))
    if len(cuts) % 2:
        since: int | None = cuts.pop() if draw(st.booleans()) else None
        if since is None and cuts:
            cuts.pop()
    else:
        since = None
    spans: Spans = cuts if cuts else clocks.NO_SPANS
    return spans, since


needs = st.integers(-5, 2 * 10**6)


@given(clock=clock_states(), need=needs)
def test_reach_and_exceed_fast_path_equal_the_calendar_walk(
    clock: tuple[Spans, int | None], need: int
) -> None:
    """reach and exceed give the same instant (or None) through both paths."""
    spans, since = clock
    assert clocks.reach(spans, since, ALWAYS_OPEN, need) == clocks.reach(
        spans, since, GENERAL, need
    )
    assert clocks.exceed(spans, since, ALWAYS_OPEN, need) == clocks.exceed(
        spans, since, GENERAL, need
    )


@given(clock=clock_states(), now=st.integers(-5, 2 * 10**6))
def test_elapsed_fast_path_equals_the_calendar_walk(
    clock: tuple[Spans, int | None], now: int
) -> None:
    """elapsed at any instant, before, inside or after the runs, is the same both ways."""
    spans, since = clock
    assert clocks.elapsed(spans, since, ALWAYS_OPEN, now) == clocks.elapsed(
        spans, since, GENERAL, now
    )


def test_fast_path_on_a_paused_clock() -> None:
    """A worked example: 100 ns run, paused, running again from 500; need 150."""
    spans: Spans = [0, 100]
    assert clocks.reach(spans, 500, ALWAYS_OPEN, 150) == 550
    assert clocks.exceed(spans, 500, ALWAYS_OPEN, 100) == 500  # used up at the pause
    assert clocks.reach(spans, 500, ALWAYS_OPEN, 100) == 100
    assert clocks.elapsed(spans, 500, ALWAYS_OPEN, 520) == 120
