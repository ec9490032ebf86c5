"""The alerts topic's word folded back into tickets after a crash (core/said.py).

Policy: ``small_policy`` (24x7; P2 first response 30m). Instants are minutes after
2026-11-23T08:00Z; the worker's ``now`` is minute 100, past every deadline here.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from slamon.core.decisions import Alert, AlertType, alert_id
from slamon.core.events import Event
from slamon.core.live import LiveEngine
from slamon.core.said import Said, generation_of, said_of
from slamon.testing import EventLog, at
from tests.core.test_live import POLICY, RETENTION, decoded, histories, ns

FR = "first_response"
BREACHED, RETRACTED, AT_RISK = AlertType.BREACHED, AlertType.RETRACTED, AlertType.AT_RISK
NOW = ns(100)


def live() -> LiveEngine:
    return LiveEngine(POLICY, retention_ns=RETENTION)


def on_topic(alerts: list[Alert]) -> list[tuple[str, str, str, str]]:
    """Alerts as the catch-up reads them back: (subject, sla, type, id)."""
    return [(a.ticket_id, a.sla, a.type, a.id) for a in alerts]


def standing(alerts: list[Alert]) -> set[tuple[str, str]]:
    """The pairs whose last breach or retraction on the topic is a breach."""
    last: dict[tuple[str, str], str] = {}
    for alert in alerts:
        if alert.type in (BREACHED, RETRACTED):
            last[(alert.ticket_id, alert.sla)] = alert.type
    return {pair for pair, kind in last.items() if kind == BREACHED}


def test_a_breach_raised_before_a_crash_is_retracted_by_a_batch_that_never_raises_it() -> None:
    """Run 1 sees only the creation (first response breached at now) and dies before its
    snapshot; run 2 reads creation and response in one batch: without the topic's word
    it says nothing and the breach stands for good; with it, it retracts that breach."""
    log = EventLog()
    log.created("T", at(0))
    log.add("ticket.responded", "T", at(20))  # within the 30-minute target
    created, responded = decoded(log)
    first = live().ingest_many([created], NOW).alerts
    assert [a.type for a in first if a.sla == FR] == [AT_RISK, BREACHED]

    forgetful = live()
    again = forgetful.ingest_many([created, responded], NOW).alerts
    assert ("T", FR) in standing(first + again)  # the defect this module mends

    engine = live()
    engine.recall(said_of(on_topic(first)))
    assert "T" in engine.recalled  # not held yet: kept for its creation
    again = engine.ingest_many([created, responded], NOW).alerts
    retraction = next(a for a in again if a.sla == FR and a.type != AT_RISK)
    assert retraction.type == RETRACTED
    assert retraction.id == alert_id("T", FR, RETRACTED, 1)  # the breach's generation
    assert ("T", FR) not in standing(first + again)
    assert engine.recalled == {}


def test_the_topics_retraction_clears_a_standing_bit_the_older_snapshot_has() -> None:
    """A snapshot with the breach standing, a retraction on the topic after it: the
    ticket takes the topic's word, so a breach again is a new generation (a new id)."""
    log = EventLog()
    log.created("T", at(0))
    engine = live()
    engine.ingest_many(decoded(log), NOW)
    ticket = engine.tickets["T"]
    assert ticket.standing & 1
    engine.recall({"T": Said(known=1, standing=0, generation=[1, 0, 0])})
    assert not ticket.standing & 1
    assert ticket.generation[0] == 1


def test_generations_never_go_back_and_at_risk_is_kept() -> None:
    """The topic knows generation 3 of a breach; the ticket had 1: it takes 3. An at-risk
    alert on the topic marks the pair warned."""
    said = said_of([
        ("T", FR, AT_RISK, alert_id("T", FR, AT_RISK, 1)),
        ("T", FR, BREACHED, alert_id("T", FR, BREACHED, 3)),
        ("T", FR, RETRACTED, alert_id("T", FR, RETRACTED, 3)),
    ])  # fmt: skip
    assert said["T"] == Said(risk_sent=1, standing=0, known=1, generation=[3, 0, 0])


def test_alerts_slamon_would_not_make_are_left_out() -> None:
    """An unknown SLA, an unknown type or an id no generation fits is ignored."""
    assert said_of([
        ("T", "lunch", BREACHED, alert_id("T", "lunch", BREACHED, 1)),
        ("T", FR, "sla.other", "x"),
        ("T", FR, BREACHED, "not-an-id"),
    ]) == {}  # fmt: skip
    assert generation_of("T", FR, BREACHED, alert_id("T", FR, BREACHED, 7)) == 7


def test_forget_recalled_drops_what_no_ticket_took() -> None:
    """What was kept for tickets that never came is dropped, and counted."""
    engine = live()
    engine.recall({"gone": Said(known=1, standing=1, generation=[1, 0, 0])})
    assert engine.forget_recalled() == 1
    assert engine.recalled == {}


# -- property: a crash between a batch's alerts and its snapshots strands no breach --------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), data=st.data())
def test_a_crash_then_other_batches_leave_the_topic_standing_what_the_engine_does(
    history: list[Event], data: st.DataObject
) -> None:
    """Run 1 ingests a first batch and dies with its alerts out but no snapshot; run 2
    recalls the topic and ingests the whole history in batches of other bounds. The
    pairs the topic leaves standing are the ones run 2's ticket holds as breached (as
    with no crash), and an id on the topic always names the same alert."""
    now = ns(data.draw(st.sampled_from([0, 30, 300, 100_000])))
    cut = data.draw(st.integers(1, len(history)))
    first = live().ingest_many(history[:cut], now).alerts

    engine = live()
    engine.recall(said_of(on_topic(first)))
    alerts = list(first)
    start = 0
    while start < len(history):  # often one batch of all: the first run's bounds gone
        size = data.draw(st.one_of(st.just(len(history)), st.integers(1, len(history))))
        alerts += engine.ingest_many(history[start : start + size], now).alerts
        start += size

    ticket = engine.tickets["T"]
    held = {("T", sla) for i, sla in enumerate((FR, "onsite_arrival", "resolution"))
            if ticket.standing & (1 << i)}  # fmt: skip
    assert standing(alerts) == held
    reference = live()
    reference.ingest_many(history, now)
    assert ticket.standing == reference.tickets["T"].standing  # as if never crashed
    named = {a.id: (a.type, a.sla) for a in alerts}
    assert all(named[a.id] == (a.type, a.sla) for a in alerts)
