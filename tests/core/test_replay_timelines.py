"""Replay runs each ticket's timeline on its own: the same answer, in the same order,
as one pass over the whole log in time order (core/replay.py)."""

from __future__ import annotations

from operator import attrgetter

from hypothesis import given
from hypothesis import strategies as st

from slamon.core.decisions import Alert, AlertType, Outcome
from slamon.core.engine import Engine
from slamon.core.events import Event
from slamon.core.policy import SlaPolicy
from slamon.core.replay import replay_events
from tests.test_properties import BASE, COMMON, MINUTE, POLICIES, logs


def one_pass(log: list[Event], policy: SlaPolicy, until: int) -> tuple[list[Alert], list[Outcome]]:
    """The reference: every event in stable time order, ``advance`` before each."""
    engine = Engine(policy)
    admitted = sorted((e for e in log if engine.admit(e)), key=attrgetter("time"))
    engine.horizon = until
    alerts: list[Alert] = []
    for event in admitted:
        if event.time > until:
            break
        alerts += engine.advance(event.time)
        alerts += engine.apply(event, event.time)
    alerts += engine.advance(until)
    return alerts, list(engine.outcomes(until))


@COMMON
@given(
    log=logs(),
    policy_name=st.sampled_from(sorted(POLICIES)),
    cut=st.one_of(st.none(), st.integers(0, 3100)),
)
def test_timelines_give_the_alerts_and_outcomes_of_one_pass_in_its_order(
    log: list[Event], policy_name: str, cut: int | None
) -> None:
    """Alerts equal one pass's, order included (ties at one instant: events first, in log
    order, then fired deadlines by ticket id); outcomes too; with or without a cut-off."""
    policy = POLICIES[policy_name]
    until = max(e.time for e in log) if cut is None else BASE + cut * MINUTE
    result = replay_events(enumerate(log, 1), policy, until=until)
    alerts, outcomes = one_pass(log, policy, until)
    assert result.alerts == alerts
    assert result.outcomes == outcomes


def test_simultaneous_deadlines_of_two_tickets_fire_by_ticket_id() -> None:
    """Two tickets created at one instant breach at one instant: B's alerts (created
    first in the log) still come after A's, as the schedule's tie-break orders them."""
    policy = POLICIES["24x7"]
    log = [
        Event(id="b", type="ticket.created", ticket_id="B", time=BASE, seq=1, priority="P1"),
        Event(id="a", type="ticket.created", ticket_id="A", time=BASE, seq=2, priority="P1"),
    ]
    until = BASE + 10_000 * MINUTE
    result = replay_events(enumerate(log, 1), policy, until=until)
    fired = [(a.ticket_id, a.type) for a in result.alerts]
    assert fired == [(a.ticket_id, a.type) for a in one_pass(log, policy, until)[0]]
    assert len(fired) >= 4
    first_instant = [a for a in result.alerts if a.at == result.alerts[0].at]
    assert [a.ticket_id for a in first_instant] == ["A", "B"]
    assert [o.ticket_id for o in result.outcomes][:1] == ["B"]  # tickets in first-event order


def test_an_events_alerts_come_before_a_deadline_passing_at_its_instant() -> None:
    """A's first response breaches at 06:10 (fired just after it); B, re-prioritised at
    06:10, breaches on that event: one pass applies the event first, so B's alerts lead."""
    policy = POLICIES["24x7"]
    log = [
        Event(id="b0", type="ticket.created", ticket_id="B", time=BASE - 50 * MINUTE, seq=1,
              priority="P4"),
        Event(id="a0", type="ticket.created", ticket_id="A", time=BASE, seq=2, priority="P1"),
        Event(id="b1", type="ticket.priority_changed", ticket_id="B", time=BASE + 10 * MINUTE,
              seq=3, priority="P1"),
    ]  # fmt: skip
    until = BASE + 11 * MINUTE
    result = replay_events(enumerate(log, 1), policy, until=until)
    assert result.alerts == one_pass(log, policy, until)[0]
    breaches = [(a.ticket_id, a.sla) for a in result.alerts if a.type is AlertType.BREACHED]
    assert breaches[-2:] == [("B", "first_response"), ("A", "first_response")]
