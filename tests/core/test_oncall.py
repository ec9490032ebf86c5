"""On-call alerts (core.oncall): what fires for a ticket, and the Pager's transitions.

Policy: ``small_policy`` (24x7; P1 first response 10m, at risk at 7.5m; resolution 2h,
at risk at 90m; P2 first response 30m, at risk at 22.5m; pause stops resolution).
Instants are ``ns(minutes)`` after 2026-11-23T08:00Z; expectations computed by hand.
"""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slamon.adapters.jsonl import decode_line
from slamon.core.engine import Ticket
from slamon.core.live import LiveEngine
from slamon.core.oncall import (
    FIRE,
    RESEND,
    RESOLVE,
    SLA_AT_RISK,
    SLA_BREACHED,
    UPDATE,
    Firing,
    Labels,
    Pager,
    SeverityRule,
    Transition,
    firing,
    severity,
)
from slamon.core.timefmt import NS_PER_S
from slamon.testing import EventLog, at, small_policy
from slamon.testing import instant as ns

FR, ON, RES = "first_response", "onsite_arrival", "resolution"
MIN = 60 * NS_PER_S
POLICY = small_policy()
RESEND_NS = 60 * NS_PER_S


class Scene:
    """One ticket driven through a LiveEngine, with a Pager fed after every step."""

    def __init__(self, priority: str = "P1", **data: str) -> None:
        self.engine = LiveEngine(POLICY, retention_ns=3600 * NS_PER_S)
        self.pager = Pager(RESEND_NS)
        self.log = EventLog()
        self.seq = itertools.count()
        self.event("ticket.created", 0, {"priority": priority, **data})

    @property
    def ticket(self) -> Ticket:
        return self.engine.tickets["T1"]

    def event(self, etype: str, minute: float, data: dict[str, str] | None = None,
              now: float | None = None) -> list[Transition]:  # fmt: skip
        record = self.log.add(etype, "T1", at(minute), data)
        event = decode_line(self.log.lines()[-1], next(self.seq))
        assert event.id == record["id"]
        when = ns(minute if now is None else now)
        assert isinstance(self.engine.ingest(event, when), list)
        return self.pager.update("T1", firing(POLICY, self.ticket, when), when)

    def advance(self, minute: float) -> list[Transition]:
        self.engine.advance(ns(minute))
        return self.pager.update("T1", firing(POLICY, self.ticket, ns(minute)), ns(minute))

    def firing(self, minute: float) -> list[tuple[str, str, int]]:
        return [(a.alertname, a.sla, a.starts_at)
                for a in firing(POLICY, self.ticket, ns(minute))]  # fmt: skip


def changes(transitions: list[Transition]) -> list[tuple[str, str, str, str]]:
    """(change, alertname, sla, priority) of each transition, in order."""
    return [(t.change, t.alert.alertname, t.alert.sla, t.alert.priority) for t in transitions]


# -- severity ------------------------------------------------------------------------------
def test_severity_pages_p1_and_p2_breaches_only() -> None:
    """P1/P2 breaches page; P3/P4 breaches and every at-risk alert are ticket work."""
    assert [severity(SLA_BREACHED, p) for p in ("P1", "P2", "P3", "P4")] == [
        "page", "page", "ticket", "ticket"
    ]  # fmt: skip
    assert {severity(SLA_AT_RISK, p) for p in ("P1", "P2", "P3", "P4")} == {"ticket"}


def test_severity_rules_are_data_first_match_wins() -> None:
    """Another rule table changes severities without code: the first matching rule decides."""
    rules = (SeverityRule(SLA_AT_RISK, frozenset({"P1"}), "page"),
             SeverityRule(SLA_AT_RISK, frozenset({"P1", "P2"}), "chat"))  # fmt: skip
    assert severity(SLA_AT_RISK, "P1", rules) == "page"
    assert severity(SLA_AT_RISK, "P2", rules) == "chat"
    assert severity(SLA_BREACHED, "P1", rules) == "ticket"


# -- what fires --------------------------------------------------------------------------
def test_at_risk_then_breach_takes_over() -> None:
    """First response: at risk at 7.5m fires SlaAtRisk; the breach at 10m resolves it and
    fires SlaBreached (page for P1), startsAt at each instant."""
    scene = Scene()
    assert scene.advance(7) == []
    fired = scene.advance(8)
    assert changes(fired) == [(FIRE, SLA_AT_RISK, FR, "P1")]
    alert = fired[0].alert
    assert (alert.starts_at, alert.deadline, alert.severity) == (ns(7.5), ns(10), "ticket")
    assert fired[0].ends_at == ns(8) + 4 * RESEND_NS
    moved = scene.advance(11)
    assert changes(moved) == [(RESOLVE, SLA_AT_RISK, FR, "P1"), (FIRE, SLA_BREACHED, FR, "P1")]
    assert moved[0].resolved
    assert moved[0].ends_at == ns(11)
    assert (moved[1].alert.starts_at, moved[1].alert.severity) == (ns(10), "page")
    assert scene.firing(11) == [(SLA_BREACHED, FR, ns(10))]


def test_labels_and_annotations() -> None:
    """Identity labels (alertname, ticket, SLA, priority, service, region, severity) and
    annotations a person can read: deadline, target, calendar, summary."""
    scene = Scene(service="onsite", region="eu-west")
    [fired] = scene.advance(11)
    assert fired.alert.label_map() == {
        "alertname": "SlaBreached", "ticket_id": "T1", "sla": FR, "priority": "P1",
        "service": "onsite", "region": "eu-west", "severity": "page",
    }  # fmt: skip
    notes = fired.alert.annotations()
    assert notes["deadline"] == "2026-11-23T08:10:00.000Z"
    assert (notes["target"], notes["calendar"]) == ("10m", "24x7")
    assert notes["summary"] == (
        "Ticket T1 (P1, onsite, region eu-west): first response target 10m breached at "
        "2026-11-23T08:10:00.000Z (24x7 calendar)"
    )
    assert Scene().advance(11)[0].alert.region == "none"  # no region: 'none', as on /metrics


def test_late_response_retracts_the_breach_and_resolves_it() -> None:
    """A ticket.responded stamped 9m arriving at 12m retracts the 10m breach: resolved."""
    scene = Scene()
    scene.advance(11)
    out = scene.event("ticket.responded", 9, now=12)
    assert changes(out) == [(RESOLVE, SLA_BREACHED, FR, "P1")]
    assert out[0].ends_at == ns(12)
    assert scene.firing(12) == []


def test_breached_pair_whose_clock_stops_resolves() -> None:
    """Responded at 12m, after the 10m breach: the breach stands (an outcome), the alert
    resolves, since nobody can act on it any more."""
    scene = Scene()
    scene.advance(11)
    assert changes(scene.event("ticket.responded", 12)) == [(RESOLVE, SLA_BREACHED, FR, "P1")]


def test_met_at_risk_pair_resolves() -> None:
    """Responded at 8m, at risk since 7.5m, within the 10m target: SlaAtRisk resolves."""
    scene = Scene()
    scene.advance(8)
    assert changes(scene.event("ticket.responded", 8.5)) == [(RESOLVE, SLA_AT_RISK, FR, "P1")]


def test_resolved_ticket_resolves_every_alert() -> None:
    """Resolved at 100m: resolution (at risk since 90m) stops, and first response, breached
    at 10m and never answered, has nothing left to act on: both resolve. A reopen at 105m
    brings back what still runs (first response breached; resolution at risk again)."""
    scene = Scene()
    scene.advance(95)
    assert scene.firing(95) == [(SLA_BREACHED, FR, ns(10)), (SLA_AT_RISK, RES, ns(90))]
    out = scene.event("ticket.resolved", 100)
    assert sorted(changes(out)) == [(RESOLVE, SLA_AT_RISK, RES, "P1"),
                                    (RESOLVE, SLA_BREACHED, FR, "P1")]  # fmt: skip
    back = scene.event("ticket.reopened", 105)
    assert sorted(changes(back)) == [(FIRE, SLA_AT_RISK, RES, "P1"),
                                     (FIRE, SLA_BREACHED, FR, "P1")]  # fmt: skip


def test_pause_resolves_at_risk_but_not_a_breach() -> None:
    """Paused at 95m: resolution (paused) at risk resolves; first response, breached and not
    stopped by a pause, keeps firing. Resumed at 100m: the at-risk alert fires again."""
    scene = Scene()
    scene.advance(95)
    assert changes(scene.event("ticket.paused", 95)) == [(RESOLVE, SLA_AT_RISK, RES, "P1")]
    assert scene.firing(96) == [(SLA_BREACHED, FR, ns(10))]
    back = scene.event("ticket.resumed", 100)
    assert changes(back) == [(FIRE, SLA_AT_RISK, RES, "P1")]
    assert back[0].alert.starts_at == ns(90)  # the point it was reached, not the resume


def test_paused_breach_updates_its_deadline_annotation() -> None:
    """A breached resolution clock paused: same identity, deadline 'paused' (an update)."""
    scene = Scene()
    scene.advance(125)  # resolution (2h) breached at 120m
    assert (SLA_BREACHED, RES, ns(120)) in scene.firing(125)
    out = scene.event("ticket.paused", 126)
    assert changes(out) == [(UPDATE, SLA_BREACHED, RES, "P1")]
    assert out[0].alert.deadline is None
    assert out[0].alert.annotations()["deadline"] == "paused"


def test_cancel_resolves_everything() -> None:
    """Cancelled at 95m: the breach is retracted and the at-risk pair cancelled: both resolve."""
    scene = Scene()
    scene.advance(95)
    out = scene.event("ticket.cancelled", 95)
    assert sorted(changes(out)) == [(RESOLVE, SLA_AT_RISK, RES, "P1"),
                                    (RESOLVE, SLA_BREACHED, FR, "P1")]  # fmt: skip
    assert scene.firing(95) == []


def test_priority_change_resolves_old_labels_and_fires_new() -> None:
    """Breached P2 (first response 30m) at 31m, raised to P1 at 32m: the P2 alert resolves
    and a P1 one fires, starting at P1's breach instant (10m)."""
    scene = Scene("P2")
    scene.advance(31)
    out = scene.event("ticket.priority_changed", 32, {"priority": "P1"})
    assert changes(out)[:2] == [(RESOLVE, SLA_BREACHED, FR, "P2"), (FIRE, SLA_BREACHED, FR, "P1")]
    assert out[1].alert.starts_at == ns(10)


def test_lowered_priority_withdraws_an_at_risk_point_not_reached() -> None:
    """At risk as P1 (7.5m) at 8m, lowered to P2 (at risk at 22.5m) at 8.5m: the P1 alert
    resolves and nothing fires, since P2's at-risk point is still ahead."""
    scene = Scene()
    scene.advance(8)
    out = scene.event("ticket.priority_changed", 8.5, {"priority": "P2"})
    assert changes(out) == [(RESOLVE, SLA_AT_RISK, FR, "P1")]
    assert scene.firing(9) == []


def test_business_calendar_instants() -> None:
    """P3 on an office calendar (Mon-Fri 09:00-17:00 UTC, first response 1h, at risk at
    45m), created Monday 16:30: 30 min run by 17:00, so at risk Tuesday 09:15 and breached
    Tuesday 09:30; the alerts start then, with the calendar's name."""
    policy = small_policy(
        calendars={"office": {"timezone": "UTC", "weekly": {
            day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}}},
        priorities={p: {"calendar": "office", "first_response": "1h", "onsite_arrival": "8h",
                        "resolution": "16h"} for p in ("P1", "P2", "P3", "P4")},
    )  # fmt: skip
    engine = LiveEngine(policy, retention_ns=3600 * NS_PER_S)
    log = EventLog()
    log.created("T1", at(8 * 60 + 30), "P3")  # 08:00 + 8h30 = Monday 16:30
    assert isinstance(engine.ingest(decode_line(log.lines()[0], 0), ns(8 * 60 + 30)), list)
    tuesday = 24 * 60 + 60  # Tuesday 09:00, in minutes after Monday 08:00
    engine.advance(ns(tuesday + 20))
    [risk] = firing(policy, engine.tickets["T1"], ns(tuesday + 20))
    assert (risk.alertname, risk.starts_at, risk.calendar) == (SLA_AT_RISK, ns(tuesday + 15),
                                                               "office")  # fmt: skip
    assert risk.deadline == ns(tuesday + 30)
    engine.advance(ns(tuesday + 31))
    [breach_alert] = firing(policy, engine.tickets["T1"], ns(tuesday + 31))
    assert (breach_alert.alertname, breach_alert.starts_at) == (SLA_BREACHED, ns(tuesday + 30))
    assert breach_alert.severity == "ticket"  # a P3 breach is ticket work


def test_untouched_ticket_is_not_news() -> None:
    """A ticket that never alerted: nothing fires, no transition, nothing held."""
    scene = Scene()
    assert scene.advance(5) == []
    assert len(scene.pager) == 0
    assert not scene.pager.knows("T1")


# -- resends -----------------------------------------------------------------------------
def breach(ticket: str = "T1", priority: str = "P1", starts: int = 0) -> Firing:
    return Firing(SLA_BREACHED, ticket, FR, priority, "remote", "none",
                  severity(SLA_BREACHED, priority), starts, starts, 10 * MIN, "24x7")  # fmt: skip


def test_firing_alerts_are_resent_every_interval_with_ends_at() -> None:
    """Fired at 0: nothing due before 60 s; at 60 s a resend with endsAt = now + 4 x 60 s."""
    pager = Pager(RESEND_NS)
    pager.update("T1", [breach()], 0)
    assert pager.due(RESEND_NS - 1) == []
    [again] = pager.due(RESEND_NS)
    assert (again.change, again.status, again.ends_at) == (RESEND, "firing", 5 * RESEND_NS)
    assert pager.due(RESEND_NS + 1) == []  # not before the next interval
    assert len(pager.due(2 * RESEND_NS)) == 1


def test_resolved_alerts_are_resent_for_15_minutes() -> None:
    """Resolved at 10 s: re-sent resolved (endsAt = 10 s) at every interval for 15 minutes
    (14 times at 60 s), then forgotten."""
    pager = Pager(RESEND_NS)
    pager.update("T1", [breach()], 0)
    [resolved] = pager.update("T1", [], 10 * NS_PER_S)
    assert (resolved.change, resolved.status) == (RESOLVE, "resolved")
    assert resolved.ends_at == 10 * NS_PER_S
    sent = []
    for minute in range(1, 20):
        sent += pager.due(10 * NS_PER_S + minute * RESEND_NS)
    assert len(sent) == 14
    assert {(t.change, t.status, t.ends_at) for t in sent} == {(RESEND, "resolved", 10 * NS_PER_S)}
    assert len(pager) == 0


def test_refiring_a_resolved_label_set_stops_its_resolved_resends() -> None:
    """Retracted then breached again: the same label set fires; no stale 'resolved' follows."""
    pager = Pager(RESEND_NS)
    pager.update("T1", [breach()], 0)
    pager.update("T1", [], NS_PER_S)
    assert changes(pager.update("T1", [breach(starts=2 * NS_PER_S)], 2 * NS_PER_S)) == [
        (FIRE, SLA_BREACHED, FR, "P1")
    ]
    later = pager.due(2 * NS_PER_S + RESEND_NS)
    assert [(t.change, t.status) for t in later] == [(RESEND, "firing")]


def test_forget_drops_without_resolving() -> None:
    """A revoked shard's alerts are forgotten (the new owner sends them), not resolved."""
    pager = Pager(RESEND_NS)
    pager.update("T1", [breach("T1")], 0, shard=1)
    pager.update("T2", [breach("T2")], 0, shard=2)
    assert pager.active[(SLA_BREACHED, "page")] == 2
    assert pager.forget({1}) == 1
    assert pager.active[(SLA_BREACHED, "page")] == 1
    assert not pager.knows("T1")
    assert pager.knows("T2")
    assert [t.alert.ticket_id for t in pager.due(RESEND_NS)] == ["T2"]


def test_resend_interval_must_be_positive() -> None:
    """A zero resend interval is refused (it would re-send on every look)."""
    with pytest.raises(ValueError, match="positive"):
        Pager(0)


# -- properties ----------------------------------------------------------------------------
UNIVERSE = [
    Firing(name, ticket, sla, priority, "remote", "none", severity(name, priority), 0, None,
           MIN, "24x7")
    for name in (SLA_BREACHED, SLA_AT_RISK) for ticket in ("A", "B") for sla in (FR, RES)
    for priority in ("P1", "P3")
]  # fmt: skip
PAIR_SETS = st.lists(st.sampled_from(UNIVERSE), max_size=6).map(
    lambda alerts: list({(a.ticket_id, a.sla, a.alertname): a for a in alerts}.values())
)
STEPS = st.lists(
    st.tuples(st.sampled_from(["A", "B"]), PAIR_SETS, st.integers(0, 3 * 60 * NS_PER_S)),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(STEPS)
def test_pager_keeps_the_receiver_equal_to_the_firing_sets(steps: list) -> None:  # type: ignore[type-arg]
    """Replaying the transitions (and resends) onto a receiver's alert map gives exactly the
    latest firing set of every ticket; each fire/resolve is a real change; active counts
    match; resends only ever re-state what the pager holds."""
    pager = Pager(RESEND_NS)
    receiver: dict[Labels, str] = {}
    latest: dict[str, set[Labels]] = {}
    now = 0
    for ticket, drawn, gap in steps:
        now += gap
        alerts = [a for a in drawn if a.ticket_id == ticket]
        for transition in pager.due(now):
            labels = transition.alert.labels
            assert receiver.get(labels) == transition.status  # a resend changes nothing
        before = {k for k, v in receiver.items() if v == "firing"}
        for transition in pager.update(ticket, alerts, now):
            labels = transition.alert.labels
            if transition.change == RESOLVE:
                assert labels in before
                assert receiver[labels] == "firing"
                assert transition.ends_at == now
            elif transition.change == FIRE:
                assert receiver.get(labels) != "firing"
                assert transition.ends_at == now + 4 * RESEND_NS
            receiver[labels] = transition.status
        latest[ticket] = {a.labels for a in alerts}
        firing_now = {k for k, v in receiver.items() if v == "firing"}
        assert firing_now == set().union(*latest.values())
        assert {a.labels for a in pager.firing()} == firing_now
        counts: dict[tuple[str, str], int] = {}
        for labels in firing_now:
            counts[(labels[0], labels[6])] = counts.get((labels[0], labels[6]), 0) + 1
        assert {k: v for k, v in pager.active.items() if v} == counts


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 30 * NS_PER_S), min_size=1, max_size=80))
def test_every_firing_alert_is_resent_within_one_interval(gaps: list[int]) -> None:
    """Looked at every few seconds, a firing alert is never silent for more than one resend
    interval plus the look gap, and a resolved one stops after 15 minutes."""
    pager = Pager(RESEND_NS)
    pager.update("T1", [breach()], 0)
    pager.update("T2", [breach("T2")], 0)
    pager.update("T2", [], 0)
    last = {"T1": 0, "T2": 0}
    now = 0
    for gap in gaps:
        previous, now = now, now + gap
        for transition in pager.due(now):
            ticket = transition.alert.ticket_id
            assert now - last[ticket] >= RESEND_NS
            last[ticket] = now
            if ticket == "T2":
                assert transition.status == "resolved"
                assert now < 15 * MIN
        if previous >= RESEND_NS:
            assert now - last["T1"] < RESEND_NS + gap


EVENT_TYPES = ["ticket.responded", "technician.arrived", "ticket.paused", "ticket.resumed",
               "ticket.resolved", "ticket.reopened", "ticket.cancelled",
               "ticket.priority_changed"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(EVENT_TYPES), st.integers(0, 150),
                          st.sampled_from(["P1", "P2", "P3", "P4"])), max_size=8),
       st.sampled_from(["onsite", "remote"]))  # fmt: skip
def test_firing_follows_the_engine_masks(events: list[tuple[str, int, str]], service: str) -> None:
    """Whatever the events: at most one alert per SLA; SlaBreached exactly for standing
    breaches of running clocks; SlaAtRisk only where the at-risk alert went out, no breach
    stands and the clock runs; every instant no later than now."""
    engine = LiveEngine(POLICY, retention_ns=3600 * NS_PER_S)
    log = EventLog()
    log.created("T1", at(0), "P1", service=service)
    for etype, minute, priority in sorted(events, key=lambda e: e[1]):
        log.add(etype, "T1", at(minute), {"priority": priority})
    for seq, line in enumerate(log.lines()):
        event = decode_line(line, seq)
        engine.advance(event.time)
        engine.ingest(event, event.time)
        ticket = engine.tickets["T1"]
        now = event.time + 1
        alerts = firing(POLICY, ticket, now)
        slas = [a.sla for a in alerts]
        assert len(slas) == len(set(slas))
        running = ticket.fold.running_mask()
        for index, sla in enumerate((FR, ON, RES)):
            bit = 1 << index
            names = {a.alertname for a in alerts if a.sla == sla}
            expected = ticket.standing & bit and running & bit and not ticket.fold.resolved
            assert (SLA_BREACHED in names) == bool(expected)
            assert not (alerts and ticket.fold.resolved)
            if SLA_AT_RISK in names:
                assert ticket.risk_sent & bit
                assert not ticket.standing & bit
                assert ticket.fold.clock(index)[1] is not None
        assert all(a.starts_at <= now and a.priority == ticket.fold.priority for a in alerts)
