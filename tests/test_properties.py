"""Hypothesis properties of the engine over random ticket histories.

Histories mix every event type, times on a minute grid (so ties happen), both
priorities on 24x7 and on business calendars, and arrival in any order.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slamon.core.engine import Engine
from slamon.core.events import Event
from slamon.core.policy import SLAS, SlaPolicy
from slamon.core.timefmt import parse_rfc3339
from slamon.testing import small_policy
from tests.helpers import calendar_policy, run_replay

BASE = parse_rfc3339("2026-11-27T06:00:00Z")  # a Friday afternoon in Shanghai
MINUTE = 60 * 10**9
POLICIES = {"24x7": small_policy(), "calendars": calendar_policy()}
PRIORITIES = st.sampled_from(["P1", "P2", "P3", "P4"])


@st.composite
def events(draw: st.DrawFn, ticket: str) -> list[dict[str, Any]]:
    kinds = [
        "ticket.responded", "technician.dispatched", "technician.arrived", "ticket.paused",
        "ticket.resumed", "ticket.priority_changed", "ticket.resolved", "ticket.reopened",
        "ticket.closed", "ticket.cancelled", "survey.submitted", "ticket.created",
    ]  # fmt: skip
    created = {
        "type": "ticket.created",
        "minute": draw(st.integers(0, 60)),
        "data": {
            "priority": draw(PRIORITIES),
            "service": draw(st.sampled_from(["onsite", "remote"])),
        },
    }
    history = [created]
    for _ in range(draw(st.integers(0, 9))):
        kind = draw(st.sampled_from(kinds))
        data: dict[str, Any] = {}
        if kind in ("ticket.priority_changed", "ticket.created"):
            data["priority"] = draw(PRIORITIES)
        elif kind == "survey.submitted":
            data["score"] = draw(st.integers(1, 10))
        elif kind == "ticket.resolved":
            data["first_time_fix"] = draw(st.sampled_from([True, False, None]))
        history.append({"type": kind, "minute": draw(st.integers(0, 3000)), "data": data})
    return [{**e, "ticket": ticket} for e in history]


@st.composite
def logs(draw: st.DrawFn) -> list[Event]:
    history = [e for t in ("A", "B", "C") for e in draw(events(t))]
    order = draw(st.permutations(range(len(history))))
    out = []
    for seq, index in enumerate(order):
        item = history[index]
        out.append(
            Event(
                id=f"e{seq}",
                type=item["type"],
                ticket_id=item["ticket"],
                time=BASE + item["minute"] * MINUTE,
                seq=seq,
                **{k: v for k, v in item["data"].items() if v is not None or k == "first_time_fix"},
            )
        )
    return out


def to_lines(log: list[Event]) -> list[bytes]:
    import orjson  # noqa: PLC0415

    from slamon.core.timefmt import format_rfc3339  # noqa: PLC0415

    lines = []
    for e in log:
        data = {
            k: getattr(e, k)
            for k in ("priority", "service", "score", "first_time_fix")
            if getattr(e, k) is not None
        }
        record = {"specversion": "1.0", "id": e.id, "source": "/p", "type": e.type,
                  "subject": e.ticket_id, "time": format_rfc3339(e.time), "data": data}  # fmt: skip
        lines.append(orjson.dumps(record))
    return lines


def outcome_set(run_outcomes: Any) -> set[tuple[Any, ...]]:
    return {(o.ticket_id, o.sla, o.priority, o.status, o.elapsed_ns) for o in run_outcomes}


COMMON = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(log=logs(), policy_name=st.sampled_from(sorted(POLICIES)), data=st.data())
def test_any_arrival_order_gives_the_outcomes_of_the_sorted_log(
    log: list[Event], policy_name: str, data: st.DataObject
) -> None:
    """Events ingested in any order (seq = log position) end in the sorted log's outcomes."""
    policy = POLICIES[policy_name]
    reference = run_replay(to_lines(log), policy)
    until = reference.result.until
    assert until is not None
    engine = Engine(policy)
    for event in data.draw(st.permutations(log)):
        engine.ingest(event, until)
    assert outcome_set(engine.outcomes(until)) == outcome_set(reference.result.outcomes)
    standing = {
        (t.id, sla)
        for t in engine.tickets.values()
        for index, sla in enumerate(SLAS)
        if t.standing & (1 << index)
    }
    assert standing == reference.breached_outcomes()


@COMMON
@given(log=logs(), policy_name=st.sampled_from(sorted(POLICIES)))
def test_standing_breach_alerts_equal_breached_outcomes(log: list[Event], policy_name: str) -> None:
    """Invariant: breached alerts not retracted == outcomes with status breached."""
    run = run_replay(to_lines(log), POLICIES[policy_name])
    assert run.standing_breaches() == run.breached_outcomes()


@COMMON
@given(log=logs(), policy_name=st.sampled_from(sorted(POLICIES)))
def test_elapsed_never_exceeds_wall_time(log: list[Event], policy_name: str) -> None:
    """No clock counts more than the time between its ticket's creation and T."""
    run = run_replay(to_lines(log), POLICIES[policy_name])
    until = run.result.until
    assert until is not None
    created: dict[str, int] = {}
    for e in sorted(log, key=lambda e: (e.time, e.seq)):
        if e.type == "ticket.created":
            created.setdefault(e.ticket_id, e.time)
    for outcome in run.result.outcomes:
        assert 0 <= outcome.elapsed_ns <= until - created[outcome.ticket_id]


@COMMON
@given(log=logs(), policy_name=st.sampled_from(sorted(POLICIES)))
def test_alerts_are_well_formed(log: list[Event], policy_name: str) -> None:
    """Alert ids are unique, at-risk comes once per pair, and no alert refers to after T."""
    run = run_replay(to_lines(log), POLICIES[policy_name])
    alerts = run.result.alerts
    assert len({a.id for a in alerts}) == len(alerts)
    risks = [(a.ticket_id, a.sla) for a in alerts if a.type == "sla.at_risk"]
    assert len(risks) == len(set(risks))
    until = run.result.until
    assert until is not None
    assert all(a.at <= until for a in alerts)


@COMMON
@given(log=logs())
def test_outcomes_do_not_depend_on_how_often_time_advances(log: list[Event]) -> None:
    """Advancing the engine clock at extra instants changes no outcome and no standing breach."""
    policy: SlaPolicy = POLICIES["calendars"]
    reference = run_replay(to_lines(log), policy)
    until = reference.result.until
    assert until is not None
    engine = Engine(policy)
    ordered = sorted(log, key=lambda e: (e.time, e.seq))
    for event in ordered:
        for tick in range(event.time - 7 * MINUTE, event.time, MINUTE):
            engine.advance(tick)
        engine.advance(event.time)
        engine.apply(event, event.time)
    engine.advance(until)
    assert outcome_set(engine.outcomes(until)) == outcome_set(reference.result.outcomes)
