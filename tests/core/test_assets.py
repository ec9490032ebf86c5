"""core/assets.py: the repeat-failure rule per asset, the one the worker's asset agent and
replay (``aggregates.repeat_failures``) share. Window W = 60 (ns, any unit will do)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from slamon.core.aggregates import repeat_failures
from slamon.core.assets import AssetTicket, drop_instant, needed_past, repeat_flags
from slamon.core.events import parse_event
from slamon.core.tickets import TicketFold
from slamon.core.timefmt import format_rfc3339
from slamon.testing import EventLog

W = 60


def test_another_creation_in_the_window_is_a_repeat() -> None:
    """A resolved at 10; B created at 40 (in (10, 70]): A is a repeat, B not resolved."""
    tickets = {"A": AssetTicket(0, 10), "B": AssetTicket(40, None)}
    assert repeat_flags(tickets, W) == {"A": True}


def test_window_edges_open_at_r_closed_at_r_plus_window() -> None:
    """r = 10: a creation at 10 is not in the window, one at 70 is, one at 71 is not."""
    assert repeat_flags({"A": AssetTicket(0, 10), "B": AssetTicket(10, None)}, W) == {"A": False}
    assert repeat_flags({"A": AssetTicket(0, 10), "B": AssetTicket(70, None)}, W) == {"A": True}
    assert repeat_flags({"A": AssetTicket(0, 10), "B": AssetTicket(71, None)}, W) == {"A": False}


def test_the_order_of_the_tickets_does_not_matter() -> None:
    """Out-of-order arrival: the same set in any order gives the same flags."""
    items = [("A", AssetTicket(0, 10)), ("B", AssetTicket(40, 50)), ("C", AssetTicket(90, None)),
             ("D", AssetTicket(200, 210))]  # fmt: skip
    expected = {"A": True, "B": True, "D": False}
    for seed in range(10):
        random.Random(seed).shuffle(items)
        assert repeat_flags(dict(items), W) == expected


def test_a_reopen_after_the_repeat_moves_r() -> None:
    """A resolved at 10, B created at 40: a repeat. A reopened and resolved again at 45:
    r = 45, B's creation is before it: no longer a repeat. Its own reopen never is one."""
    assert repeat_flags({"A": AssetTicket(0, 10), "B": AssetTicket(40, None)}, W) == {"A": True}
    assert repeat_flags({"A": AssetTicket(0, 45), "B": AssetTicket(40, None)}, W) == {"A": False}
    assert repeat_flags({"A": AssetTicket(0, 45)}, W) == {"A": False}


def test_cancelled_tickets_take_no_part() -> None:
    """A cancelled ticket is neither resolved with an asset nor another ticket."""
    tickets = {"A": AssetTicket(0, 10), "B": AssetTicket(40, None, cancelled=True),
               "C": AssetTicket(0, 5, cancelled=True)}  # fmt: skip
    assert repeat_flags(tickets, W) == {"A": False}


def test_past_creations_still_count_and_are_kept_only_while_a_window_holds_them() -> None:
    """Creations of tickets no longer kept count like any; ``needed_past`` keeps those in a
    kept ticket's (r, r + W]: 40 for r = 10, not 10 (= r) nor 71."""
    tickets = {"A": AssetTicket(0, 10)}
    assert repeat_flags(tickets, W, past=[40]) == {"A": True}
    assert needed_past([71, 40, 10], tickets, W) == [40]
    assert needed_past([40], {"A": AssetTicket(0, None)}, W) == []


# -- the same as replay's rule on random small histories -----------------------------------
KINDS = ("ticket.resolved", "ticket.reopened", "ticket.cancelled", "ticket.responded")
step = st.tuples(st.sampled_from(KINDS), st.integers(0, 12))
history = st.tuples(
    st.sampled_from(["X", "Y", None]), st.integers(0, 12), st.lists(step, max_size=5)
)


def _folds(histories: list[tuple[str | None, int, list[tuple[str, int]]]]) -> dict[str, TicketFold]:
    """Each ticket's events (minutes: created, then the steps) folded in time order; a step
    before the creation is ignored, as the fold does."""
    log, folds = EventLog(), {}
    for index, (asset, created, steps) in enumerate(histories):
        ticket = f"T{index}"
        events = [(created, 0, "ticket.created")] + [
            (m, i + 1, k) for i, (k, m) in enumerate(steps)
        ]
        fold = folds[ticket] = TicketFold(frozenset())
        for minute, seq, kind in sorted(events):
            data = {"priority": "P2", "asset_id": asset} if kind == "ticket.created" else None
            if data is not None and asset is None:
                data.pop("asset_id")
            time = format_rfc3339(minute * 60 * 10**9)
            fold.apply(parse_event(log.add(kind, ticket, time, data), seq))
    return folds


@settings(max_examples=300, deadline=None)
@given(st.lists(history, max_size=8), st.integers(1, 6))
def test_equals_replays_repeat_failures(
    histories: list[tuple[str | None, int, list[tuple[str, int]]]], window_minutes: int
) -> None:
    """Per asset, repeat_flags over the asset's tickets equals aggregates.repeat_failures."""
    folds = _folds(histories)
    window = window_minutes * 60 * 10**9
    expected = repeat_failures(folds, window)
    got: dict[str, bool] = {}
    for asset in ("X", "Y"):
        tickets = {t: AssetTicket(f.created_at, f.resolved_at, f.cancelled_at is not None)
                   for t, f in folds.items() if f.asset_id == asset}  # fmt: skip
        got.update(repeat_flags(tickets, window))
    assert got == expected


def test_an_entry_leaves_after_the_retention_and_never_before_its_own_window() -> None:
    """Final at 100: gone at 100 + keep; a resolution at 90 with a window of 50 holds it
    to 141 (the window's last instant is 140); cancelled or not final: as said."""
    assert drop_instant(None, 90, False, keep_ns=20, window_ns=50) is None
    assert drop_instant(100, 90, False, keep_ns=20, window_ns=50) == 141
    assert drop_instant(100, 90, False, keep_ns=60, window_ns=50) == 160
    assert drop_instant(100, 90, True, keep_ns=20, window_ns=50) == 120
    assert drop_instant(100, None, False, keep_ns=20, window_ns=50) == 120
