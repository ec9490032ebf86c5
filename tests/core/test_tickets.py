"""The one rule for in force / running / final, as masks on TicketFold (bit i = SLAS[i]).

first_response = bit 0 (1), onsite_arrival = bit 1 (2), resolution = bit 2 (4).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from slamon.adapters.jsonl import decode_line
from slamon.core.engine import Engine
from slamon.core.events import Event, parse_event
from slamon.core.tickets import ALL_SLAS, TicketFold
from slamon.testing import EventLog, at, small_policy

POLICY = small_policy()
PAUSE = frozenset({"resolution"})


def fold_of(*kinds: str, service: str = "remote") -> TicketFold:
    """A fold of one ticket created at 0 (unless the first kind is not ``created``)."""
    fold = TicketFold(PAUSE)
    for minute, kind in enumerate(kinds):
        data: dict[str, Any] = {}
        if kind == "ticket.created":
            data = {"priority": "P2", "service": service}
        fold.apply(parse_event(EventLog().add(kind, "T", at(minute), data, id=f"e{minute}"), 0))
    return fold


def masks(fold: TicketFold) -> tuple[int, int, int]:
    return fold.in_force_mask(), fold.running_mask(), fold.final_mask()


def test_nothing_binds_before_creation() -> None:
    assert masks(TicketFold(PAUSE)) == (0, 0, 0)
    assert masks(fold_of("ticket.responded")) == (0, 0, 0)


def test_remote_ticket_onsite_arrival_is_final_at_creation() -> None:
    assert masks(fold_of("ticket.created")) == (0b101, 0b101, 0b010)
    assert masks(fold_of("ticket.created", service="onsite")) == (0b111, 0b111, 0)


def test_a_stopped_clock_is_final_a_paused_one_is_not() -> None:
    assert masks(fold_of("ticket.created", "ticket.responded")) == (0b101, 0b100, 0b011)
    paused = fold_of("ticket.created", "ticket.paused", service="onsite")
    assert masks(paused) == (0b111, 0b111, 0)
    resolved = fold_of("ticket.created", "ticket.resolved", "ticket.reopened")
    assert masks(resolved) == (0b101, 0b101, 0b010)  # reopened: running again


def test_cancel_makes_every_sla_final_and_none_in_force() -> None:
    assert masks(fold_of("ticket.created", "ticket.cancelled", service="onsite")) == (
        0, 0, ALL_SLAS,
    )  # fmt: skip


KINDS = [
    "ticket.responded", "technician.arrived", "ticket.paused", "ticket.resumed",
    "ticket.resolved", "ticket.reopened", "ticket.cancelled", "ticket.closed",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(kinds=st.lists(st.sampled_from(KINDS), max_size=8), onsite=st.booleans())
def test_final_means_stopped_cancelled_or_not_applicable(kinds: list[str], onsite: bool) -> None:
    """Per docs/worker.md, final = met, breached and stopped, cancelled, not_applicable; the
    outcomes the engine reports agree with the masks for every pair."""
    log = EventLog()
    log.add("ticket.created", "T", at(0), {"priority": "P1",
            "service": "onsite" if onsite else "remote"})  # fmt: skip
    for minute, kind in enumerate(kinds, start=1):
        log.add(kind, "T", at(minute * 7))
    engine = Engine(POLICY)
    events: list[Event] = [decode_line(line, seq) for seq, line in enumerate(log.lines())]
    for event in events:
        engine.apply(event, event.time)
    ticket = engine.tickets["T"]
    fold = ticket.fold
    for index, outcome in enumerate(engine.ticket_outcomes(ticket, events[-1].time)):
        bit = 1 << index
        final = outcome.stopped or outcome.status in ("cancelled", "not_applicable")
        assert bool(fold.final_mask() & bit) is final, (index, outcome)
        assert bool(fold.running_mask() & bit) is not final
        assert bool(fold.in_force_mask() & bit) is (outcome.status not in
                                                    ("cancelled", "not_applicable"))  # fmt: skip
