"""ns_to_seconds is CPython's correctly rounded int division, also past 2**53 ns."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from slamon.core.timefmt import NS_PER_S, ns_to_seconds


@given(ns=st.integers(-(2**70), 2**70))
@example(ns=2**53 + 1)
@example(ns=25260066213667484 * 1000)
def test_ns_to_seconds_is_true_division(ns: int) -> None:
    assert ns_to_seconds(ns) == ns / NS_PER_S
