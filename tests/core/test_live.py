"""LiveEngine: the engine as the worker drives it (dedupe, outcome records, expiry, snapshots).

Policy: ``small_policy`` (24x7; P1 10m/1h/2h, P2 30m/2h/4h; warn_at 0.75; pause
[resolution]). Every instant is ``ns(minutes)`` after 2026-11-23T08:00Z, and every
expectation is computed by hand from those targets.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slamon.adapters.jsonl import decode_line
from slamon.core.decisions import (
    DUPLICATE,
    LATE,
    Alert,
    AlertType,
    Outcome,
    Rejected,
    Status,
    alert_id,
)
from slamon.core.engine import Engine
from slamon.core.events import Event, parse_event
from slamon.core.live import LiveEngine, Snapshot, SnapshotError
from slamon.core.policy import SLAS
from slamon.core.timefmt import NS_PER_S, parse_rfc3339
from slamon.testing import EventLog, at, small_policy

FR, ON, RES = "first_response", "onsite_arrival", "resolution"
AT_RISK, BREACHED, MET = AlertType.AT_RISK, AlertType.BREACHED, Status.MET
MIN = 60 * NS_PER_S
HOUR = 60 * MIN
RETENTION = HOUR
POLICY = small_policy()


def ns(minutes: float) -> int:
    """The instant ``minutes`` after the test base time, in ns."""
    return parse_rfc3339(at(minutes))


def decoded(log: EventLog) -> list[Event]:
    """The log's events, ``seq`` = position in the log."""
    return [decode_line(line, seq) for seq, line in enumerate(log.lines())]


def feed(engine: LiveEngine, log: EventLog, shard: int = 0) -> list[Alert]:
    """Ingest every event of ``log`` at its own event time; fail on any rejection."""
    alerts: list[Alert] = []
    for event in decoded(log):
        out = engine.ingest(event, event.time, shard=shard)
        assert isinstance(out, list), out
        alerts += out
    return alerts


def live() -> LiveEngine:
    return LiveEngine(POLICY, retention_ns=RETENTION)


# -- duplicates ------------------------------------------------------------------------------
def test_same_event_id_twice_on_a_ticket_is_a_duplicate() -> None:
    """The second delivery of an event id on the same ticket is rejected as a duplicate."""
    engine = live()
    created = parse_event(EventLog().created("T1", at(0), priority="P1"), 0)
    assert engine.ingest(created, ns(0)) == []
    assert engine.ingest(created, ns(1)) == Rejected("duplicate") == DUPLICATE
    assert engine.duplicates == 1
    assert len(engine.tickets["T1"].events) == 1


def test_event_id_reused_by_another_ticket_is_not_a_duplicate() -> None:
    """Dedupe is per ticket: the same id on a different ticket is applied."""
    engine = live()
    log = EventLog()
    log.add("ticket.created", "T1", at(0), {"priority": "P2"}, id="same")
    log.add("ticket.created", "T2", at(0), {"priority": "P2"}, id="same")
    assert [e.id for e in decoded(log)] == ["same", "same"]
    feed(engine, log)
    assert engine.duplicates == 0
    assert set(engine.tickets) == {"T1", "T2"}


# -- outcome records -------------------------------------------------------------------------
def test_remote_ticket_reports_onsite_arrival_not_applicable_at_creation() -> None:
    """Creating a remote ticket makes onsite_arrival final (not applicable) at once."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    feed(engine, log)
    # onsite clock never runs: elapsed 0, target P1 1h, no deadline, not stopped
    assert engine.drain_outcomes() == [
        (Outcome("T1", ON, "P1", Status.NOT_APPLICABLE, 0, HOUR, None, False), True)
    ]


def test_first_response_is_reported_once_as_met_with_exact_elapsed() -> None:
    """A response at 4m00.123s reports first_response met (240.123 s) once, never again."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.responded", "T1", "2026-11-23T08:04:00.123Z")
    log.add("technician.dispatched", "T1", at(5))  # changes no SLA
    log.add("ticket.paused", "T1", at(6))  # stops resolution only
    feed(engine, log)
    records = engine.drain_outcomes()
    fr = [(o, newly) for o, newly in records if o.sla == FR]
    # 4 min 0.123 s = 240_123 ms; target 10m; stopped clock has no deadline
    assert fr == [(Outcome("T1", FR, "P1", MET, 240_123_000_000, 10 * MIN, None, True), True)]
    assert [o.sla for o, _ in records] == [ON, FR]  # ON at creation, FR at response
    assert engine.drain_outcomes() == []  # drained: the log is empty now


def test_drain_outcomes_returns_pairs_and_empties_the_log() -> None:
    """drain_outcomes hands over (Outcome, newly_final) pairs once; a second drain is empty."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P2")
    log.add("ticket.responded", "T1", at(10))
    feed(engine, log)
    assert engine.outcome_log != []
    drained = engine.drain_outcomes()
    assert [(o.sla, o.status, newly) for o, newly in drained] == [
        (ON, "not_applicable", True),
        (FR, "met", True),
    ]
    assert engine.outcome_log == []
    assert engine.drain_outcomes() == []


def test_priority_change_re_reports_final_pairs_not_newly_final() -> None:
    """P2 met at 11m; a change to P1 re-reports it as breached (660 s > 600 s), not newly final."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P2")
    log.add("ticket.responded", "T1", at(11))
    feed(engine, log)
    engine.drain_outcomes()
    later = EventLog()
    later.add("ticket.priority_changed", "T1", at(20), {"priority": "P1"}, id="pc")
    alerts = feed(engine, later)
    assert engine.drain_outcomes() == [
        (Outcome("T1", FR, "P1", Status.BREACHED, 11 * MIN, 10 * MIN, None, True), False),
        (Outcome("T1", ON, "P1", Status.NOT_APPLICABLE, 0, HOUR, None, False), False),
    ]
    # under P1 the stopped clock passed 7.5m (at risk) and 10m (breach) retroactively
    assert [(a.type, a.sla, a.at) for a in alerts] == [
        ("sla.at_risk", FR, ns(7.5)),
        ("sla.breached", FR, ns(10)),
    ]


def test_reopen_after_resolve_reports_resolution_open() -> None:
    """Resolved at 60m, reopened at 90m: resolution re-reported open, 1h elapsed, due 270m."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P2")
    log.add("ticket.resolved", "T1", at(60))
    feed(engine, log)
    assert [(o.sla, o.status, newly) for o, newly in engine.drain_outcomes()] == [
        (ON, "not_applicable", True),
        (RES, "met", True),
    ]
    later = EventLog()
    later.add("ticket.reopened", "T1", at(90), id="re")
    feed(engine, later)
    # 1h used of 4h; running again from 90m: deadline 90m + 3h = 270m
    assert engine.drain_outcomes() == [
        (Outcome("T1", RES, "P2", Status.OPEN, HOUR, 4 * HOUR, ns(270), False), False)
    ]


def test_cancel_reports_every_sla_cancelled() -> None:
    """Cancelled at 5m: all three pairs reported cancelled; onsite was already final."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    feed(engine, log)
    engine.drain_outcomes()
    later = EventLog()
    later.add("ticket.cancelled", "T1", at(5), id="c")
    feed(engine, later)
    # FR and RES ran 0..5m = 300 s; the remote onsite clock never ran
    assert [(o.sla, o.status, o.elapsed_ns, newly) for o, newly in engine.drain_outcomes()] == [
        (FR, "cancelled", 5 * MIN, True),
        (ON, "cancelled", 0, False),
        (RES, "cancelled", 5 * MIN, True),
    ]


def test_final_since_set_when_all_final_and_cleared_on_reopen() -> None:
    """final_since is the instant the last SLA became final, and None again after a reopen."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P2")
    log.add("ticket.responded", "T1", at(5))
    feed(engine, log)
    ticket = engine.tickets["T1"]
    assert ticket.final_since is None  # resolution still running
    more = EventLog()
    more.add("ticket.resolved", "T1", at(30), id="r")
    feed(engine, more)
    assert ticket.final_since == ns(30)
    again = EventLog()
    again.add("ticket.reopened", "T1", at(40), id="re")
    feed(engine, again)
    assert ticket.final_since is None


# -- expiry ----------------------------------------------------------------------------------
def test_final_ticket_expires_after_retention_and_later_events_are_late() -> None:
    """Final at 5m, retention 1h: kept at 65m - 1ns, gone at 65m; a later event is late."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.cancelled", "T1", at(5))
    feed(engine, log)
    assert engine.expire(ns(65) - 1) == []
    assert "T1" in engine.tickets
    gone = engine.expire(ns(65))  # 5m + 1h
    assert [t.id for t in gone] == ["T1"]
    assert "T1" not in engine.tickets
    survey = parse_event(EventLog().add("survey.submitted", "T1", at(70), {"score": 9}, id="s"), 99)
    assert engine.ingest(survey, ns(70)) == Rejected("late") == LATE
    assert engine.late == 1
    assert "T1" not in engine.tickets


def test_orphan_events_expire_like_final_tickets() -> None:
    """A ticket with no created event is dropped retention after its first event."""
    engine = live()
    log = EventLog()
    log.add("ticket.responded", "T9", at(0))
    log.add("ticket.resolved", "T9", at(10))
    feed(engine, log)
    assert engine.tickets["T9"].final_since == ns(0)  # the first orphan event's wall time
    assert engine.expire(ns(60) - 1) == []
    assert [t.id for t in engine.expire(ns(60))] == ["T9"]
    assert engine.tickets == {}


def test_orphan_that_gets_created_no_longer_expires() -> None:
    """A late-arriving created event makes an orphan a live ticket: final_since is cleared."""
    engine = live()
    log = EventLog()
    log.add("ticket.responded", "T1", at(5))
    log.created("T1", at(0), priority="P2")  # arrives second, sorts first
    feed(engine, log)
    assert engine.tickets["T1"].final_since is None  # resolution still running
    assert engine.expire(ns(10_000)) == []


def test_drop_forgets_only_tickets_of_the_given_shards() -> None:
    """drop({0, 2}) removes the tickets of shards 0 and 2 and keeps shard 1's."""
    engine = live()
    for shard, ticket in enumerate(["T0", "T1", "T2"]):
        log = EventLog()
        log.created(ticket, at(0))
        feed(engine, log, shard=shard)
    assert engine.drop({0, 2}) == 2
    assert set(engine.tickets) == {"T1"}
    assert engine.tickets["T1"].shard == 1


# -- snapshots ---------------------------------------------------------------------------------
def through_json(snapshot: Snapshot) -> Snapshot:
    """The snapshot as the worker's table stores it (JSON bytes and back)."""
    return Snapshot.from_list(orjson.loads(orjson.dumps(snapshot.to_list())))


def test_export_restore_round_trip_gives_identical_outcomes() -> None:
    """A restored onsite ticket evaluates exactly like the original and reports nothing anew."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1", service="onsite")
    log.add("ticket.responded", "T1", at(4))
    log.add("ticket.paused", "T1", at(20))
    log.add("technician.arrived", "T1", at(30))
    feed(engine, log, shard=3)
    original = engine.tickets["T1"]
    record = through_json(LiveEngine.export(original))
    other = live()
    assert other.restore("T1", record, ns(31)) == []
    copy = other.tickets["T1"]
    assert copy.shard == 3
    for when in (ns(31), ns(200)):
        assert list(other.ticket_outcomes(copy, when)) == list(
            engine.ticket_outcomes(original, when)
        )
    assert other.drain_outcomes() == []  # FR and ON were reported before the export
    # resolution paused at 20m with 20m used of 2h: open, no deadline while paused
    res = other.pair_outcome(copy, 2, ns(200))
    assert (res.status, res.elapsed_ns, res.deadline) == ("open", 20 * MIN, None)


def test_restore_does_not_repeat_alerts_sent_before_export() -> None:
    """At-risk and breach sent before the export are not sent again after a restore."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    feed(engine, log)
    sent = engine.advance(ns(11))
    assert [a.type for a in sent] == ["sla.at_risk", "sla.breached"]
    record = through_json(LiveEngine.export(engine.tickets["T1"]))
    other = live()
    assert other.restore("T1", record, ns(12)) == []
    assert other.advance(ns(60)) == []  # resolution at risk only at 90m
    assert other.drain_touched() == set()


def test_restore_over_an_earlier_copy_takes_what_either_said() -> None:
    """An earlier copy raised a first-response breach the snapshot's history does not bear
    out (the response came in time): the restore retracts it; what both said, not again."""
    early, full = EventLog(), EventLog()
    early.created("T1", at(0), priority="P1")
    full.created("T1", at(0), priority="P1", id="e-1")
    full.add("ticket.responded", "T1", at(5))
    stale = live()
    feed(stale, early)
    assert [a.type for a in stale.advance(ns(11))] == ["sla.at_risk", "sla.breached"]
    complete = live()
    feed(complete, full)
    record = through_json(LiveEngine.export(complete.tickets["T1"]))
    engine = live()
    alerts = engine.restore("T1", record, ns(12), said=stale.tickets["T1"])
    assert [(a.type, a.sla) for a in alerts] == [("sla.breach_retracted", FR)]
    assert engine.tickets["T1"].standing == 0


def test_restore_emits_alerts_that_fell_due_while_down() -> None:
    """Exported at 1m, restored at 11m: at-risk (7.5m) and breach (10m) fire at restore."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    feed(engine, log)
    assert engine.advance(ns(1)) == []
    record = through_json(LiveEngine.export(engine.tickets["T1"]))
    other = live()
    alerts = other.restore("T1", record, ns(11))
    # P1 first response 10m, warn 0.75 x 10m = 7.5m; the breach instant is the 10m mark
    # itself: elapsed exceeds the target just after it (Clock.exceed, 24x7 locate = reach)
    assert alerts == [
        Alert(
            alert_id("T1", FR, "sla.at_risk", 1), AlertType.AT_RISK, "T1", FR, "P1", ns(10), ns(7.5)
        ),
        Alert(
            alert_id("T1", FR, "sla.breached", 1),
            AlertType.BREACHED,
            "T1",
            FR,
            "P1",
            ns(10),
            ns(10),
        ),
    ]
    never_down = live()
    feed(never_down, log)
    assert never_down.advance(ns(11)) == alerts  # same ids, same instants as staying up
    assert other.drain_touched() == {"T1"}


def test_redelivery_after_restore_is_still_a_duplicate() -> None:
    """Event ids travel in the snapshot: a redelivered event after a restore is a duplicate."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.responded", "T1", at(4))
    feed(engine, log)
    record = through_json(LiveEngine.export(engine.tickets["T1"]))
    other = live()
    other.restore("T1", record, ns(5))
    responded = decoded(log)[1]
    assert other.ingest(responded, ns(6)) == DUPLICATE
    assert other.duplicates == 1


def test_restored_final_ticket_keeps_its_expiry_clock() -> None:
    """final_since is restored: a ticket final at 5m still expires at 5m + 1h after a restore."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.cancelled", "T1", at(5))
    feed(engine, log)
    record = through_json(LiveEngine.export(engine.tickets["T1"]))
    other = live()
    assert other.restore("T1", record, ns(30)) == []
    assert other.drain_outcomes() == []  # the cancellation was reported before
    assert other.expire(ns(65) - 1) == []
    assert [t.id for t in other.expire(ns(65))] == ["T1"]


def test_restore_rejects_an_unknown_snapshot_version() -> None:
    """A snapshot with another version number is refused with ValueError."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0))
    feed(engine, log)
    record = LiveEngine.export(engine.tickets["T1"]).to_list()
    record[0] = 2
    with pytest.raises(ValueError, match="unknown snapshot version 2"):
        Snapshot.from_list(record)
    other = live()
    with pytest.raises(SnapshotError, match="unknown snapshot version 2"):
        other.restore("T1", Snapshot(*record), ns(1))
    assert other.tickets == {}


def test_advance_marks_alerted_tickets_touched() -> None:
    """advance() adds tickets it alerted on to touched; drain_touched hands them over once."""
    engine = live()
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.created("T2", at(0), priority="P4")  # first at-risk at 0.75 x 2h = 90m
    feed(engine, log)
    assert engine.touched == set()  # ingest persists through the record itself
    assert [a.ticket_id for a in engine.advance(ns(8))] == ["T1"]  # at risk at 7.5m
    assert engine.drain_touched() == {"T1"}
    assert engine.touched == set()
    assert engine.drain_touched() == set()


# -- property: arrival order does not matter -----------------------------------------------------
FAR = ns(100_000)  # far beyond every event: all deadlines have passed
KINDS = [
    "ticket.created", "ticket.responded", "technician.dispatched", "technician.arrived",
    "ticket.paused", "ticket.resumed", "ticket.priority_changed", "ticket.resolved",
    "ticket.reopened", "ticket.closed", "ticket.cancelled", "survey.submitted",
]  # fmt: skip
PRIORITY = st.sampled_from(["P1", "P2", "P3", "P4"])


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    """One ticket's events (a created first in the log), on a minute grid so ties occur."""
    kinds = ["ticket.created", *draw(st.lists(st.sampled_from(KINDS), max_size=10))]
    out = []
    for seq, kind in enumerate(kinds):
        data: dict[str, Any] = {}
        if kind in ("ticket.created", "ticket.priority_changed"):
            data["priority"] = draw(PRIORITY)
        if kind == "ticket.created":
            data["service"] = draw(st.sampled_from(["onsite", "remote"]))
        if kind == "survey.submitted":
            data["score"] = draw(st.integers(1, 10))
        record = {
            "specversion": "1.0",
            "id": f"e{seq}",
            "source": "/p",
            "type": kind,
            "subject": "T",
            "time": at(draw(st.integers(0, 600))),
            "data": data,
        }
        out.append(parse_event(record, seq))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), data=st.data())
def test_any_arrival_order_ends_in_the_sorted_outcomes(
    history: list[Event], data: st.DataObject
) -> None:
    """A ticket's events in any order give the outcomes Engine computes on the sorted log."""
    reference = Engine(POLICY)
    for event in sorted(history, key=lambda e: (e.time, e.seq)):
        reference.apply(event, event.time)
    reference.advance(FAR)
    expected = list(reference.ticket_outcomes(reference.tickets["T"], FAR))

    engine = live()
    for event in data.draw(st.permutations(history)):
        assert isinstance(engine.ingest(event, FAR), list)
    got = list(engine.ticket_outcomes(engine.tickets["T"], FAR))
    assert got == expected
    # and the last record published for every pair now final says what the sorted log says
    # (as published: to_dict; `stopped` of a not-applicable pair is not part of the record)
    last = {o.sla: o.to_dict() for o, _ in engine.drain_outcomes()}
    settled = engine.tickets["T"].settled
    for index, outcome in enumerate(expected):
        if settled & (1 << index):
            assert last[outcome.sla] == outcome.to_dict()


def test_superseded_schedule_entries_are_compacted_and_live_ones_kept() -> None:
    """Five rounds of 1,000 tickets created, cancelled and expired, then 1,000 left open:
    the schedule stays within 2 x tickets + 1,024 entries (it held one per evaluation
    until that instant passed) and every open ticket still breaches its first response."""
    engine = live()
    for round_ in range(5):
        log = EventLog()
        for i in range(1000):
            log.created(f"R{round_}-{i}", at(round_), priority="P1")
            log.add("ticket.cancelled", f"R{round_}-{i}", at(round_ + 0.5))
        feed(engine, log)
        engine.expire(ns(round_ + 0.5) + RETENTION)
    assert engine.tickets == {}
    assert engine.schedule_size() <= 1024 + 1
    log = EventLog()
    for i in range(1000):
        log.created(f"open-{i}", at(10), priority="P1")
    feed(engine, log)
    assert engine.schedule_size() <= 2 * len(engine.tickets) + 1024 + 1
    breaches = [a for a in engine.advance(ns(10 + 10) + 1) if a.type == BREACHED]
    assert sorted(a.ticket_id for a in breaches if a.sla == FR) == sorted(
        f"open-{i}" for i in range(1000)
    )


# -- property: a backlog's batch ends where one event at a time does ----------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), data=st.data())
def test_ingest_many_ends_as_ingest_one_by_one(history: list[Event], data: st.DataObject) -> None:
    """One evaluation for a ticket's batch leaves the outcomes, the standing breaches and
    what was settled as ingesting the same events one by one at the same now does; its
    alerts are some of theirs (a breach a later event took back is not raised)."""
    arrival = data.draw(st.permutations(history))
    now = ns(data.draw(st.sampled_from([0, 30, 300, 100_000])))
    split = data.draw(st.integers(0, len(arrival)))  # the first part already ingested

    one, many = live(), live()
    one_alerts: set[str] = set()
    for event in arrival:
        out = one.ingest(event, now)
        assert isinstance(out, list)
        one_alerts |= {alert.id for alert in out}
    for event in arrival[:split]:
        assert isinstance(many.ingest(event, now), list)
    many_alerts, applied, rejected = many.ingest_many(arrival[split:], now)

    assert rejected == []
    assert sorted(applied, key=lambda e: (e.time, e.seq)) == applied
    assert {e.id for e in applied} == {e.id for e in arrival[split:]}
    a, b = one.tickets["T"], many.tickets["T"]
    assert a.events == b.events
    assert list(one.ticket_outcomes(a, now)) == list(many.ticket_outcomes(b, now))
    # (not ``risk_sent`` nor ``due``: one by one may warn under a priority the batch skips)
    assert (a.standing, a.settled, a.final_since) == (b.standing, b.settled, b.final_since)
    assert {alert.id for alert in many_alerts} <= one_alerts
    # the last record published per final pair says the same (as published: ``to_dict``;
    # an open pair's record is its elapsed at the moment it was written)
    last_one = {o.sla: o.to_dict() for o, _ in one.drain_outcomes()}
    last_many = {o.sla: o.to_dict() for o, _ in many.drain_outcomes()}
    for index, sla in enumerate(SLAS):
        if b.settled & (1 << index) and sla in last_many:
            assert last_many[sla] == last_one[sla]


def test_ingest_many_rejects_duplicates_in_and_before_the_batch() -> None:
    """An event id seen before or earlier in the batch is a duplicate, counted once each."""
    log = EventLog()
    log.created("T", at(0))
    log.add("ticket.responded", "T", at(5))
    events = decoded(log)
    engine = live()
    engine.ingest(events[0], ns(10))
    alerts, applied, rejected = engine.ingest_many([events[1], events[0], events[1]], ns(10))
    assert rejected == [DUPLICATE, DUPLICATE]
    assert applied == [events[1]]
    assert engine.duplicates == 2
    assert len(engine.tickets["T"].events) == 2
    assert alerts == []


def test_ingest_many_after_expiry_is_late_for_every_event() -> None:
    """A ticket expired before the batch: each of its events is late, nothing recreated."""
    log = EventLog()
    log.created("T", at(0))
    log.add("ticket.cancelled", "T", at(1))
    engine = live()
    engine.ingest_many(decoded(log), ns(2))
    assert engine.expire(ns(2) + RETENTION) != []
    later = EventLog()
    later.add("ticket.responded", "T", at(3), id="x-1")
    later.add("ticket.resolved", "T", at(4), id="x-2")
    again = decoded(later)
    assert engine.ingest_many(again, ns(5) + RETENTION) == ([], [], [LATE, LATE])
    assert "T" not in engine.tickets


def test_ingest_many_refuses_events_of_two_tickets() -> None:
    """One call is one ticket: mixing two is a bug of the caller, not silently split."""
    log = EventLog()
    log.created("T", at(0))
    log.created("U", at(0))
    events = decoded(log)
    with pytest.raises(ValueError, match="events of 'T' and 'U'"):
        live().ingest_many(events, ns(1))
