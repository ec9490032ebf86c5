"""The engine's horizon: instants at or after it get no schedule entry (replay's ``until``).

Policy: ``small_policy`` (24x7; P1 first response 10m, at risk at 7.5m). Instants are
minutes after 2026-11-23T08:00Z.
"""

from __future__ import annotations

from slamon.adapters.jsonl import decode_line
from slamon.core.engine import Engine
from slamon.core.events import Event
from slamon.testing import EventLog, at, instant, small_policy

POLICY = small_policy()


def _created(ticket: str, minutes: float) -> Event:
    log = EventLog()
    log.created(ticket, at(minutes), priority="P1")
    return decode_line(log.lines()[0], 1)


def test_without_a_horizon_every_due_instant_is_scheduled() -> None:
    """A worker's engine (no horizon) schedules the at-risk point and fires it later."""
    engine = Engine(POLICY)
    assert engine.apply(_created("T1", 0), instant(0)) == []
    assert engine.next_due() == instant(7.5) - 1
    assert [a.type.value for a in engine.advance(instant(8))] == ["sla.at_risk"]


def test_instants_past_the_horizon_are_not_scheduled_but_stay_due() -> None:
    """With the horizon before the at-risk point, nothing is scheduled; the ticket's due
    instant is the same as without a horizon, and advancing to the horizon fires nothing."""
    engine = Engine(POLICY)
    engine.horizon = instant(5)
    engine.apply(_created("T1", 0), instant(0))
    assert engine.next_due() is None
    assert engine.tickets["T1"].due == instant(7.5) - 1
    assert engine.advance(instant(5)) == []


def test_instants_before_the_horizon_fire_as_without_one() -> None:
    """A horizon after the instant changes nothing: the at-risk alert fires at 7.5m."""
    engine = Engine(POLICY)
    engine.horizon = instant(60)
    engine.apply(_created("T1", 0), instant(0))
    alerts = engine.advance(instant(60))
    assert [(a.type.value, a.at) for a in alerts] == [
        ("sla.at_risk", instant(7.5)),
        ("sla.breached", instant(10)),
    ]
