"""The worker's counters for issue 11's figures: complaints and CSAT by product category.

Labels stay bounded: no technician or asset label; a product category is a label only
when the policy names a baseline for it (else ``other``, ``none`` without one).
"""

from __future__ import annotations

import orjson
import pytest
from prometheus_client import generate_latest

from slamon.replay import replay
from slamon.testing import EventLog, at
from slamon.testing import instant as at_ns
from tests.quality_figures import figures
from tests.worker.test_service import POLICY, Harness, event_record, feed


def quality_log() -> EventLog:
    log = EventLog()
    log.created("A", at(0), priority="P1", service="onsite", region="north",
                product_category="car", asset_id="X")  # fmt: skip
    log.created("B", at(0), priority="P1", service="onsite", region="north",
                product_category="drone", asset_id="Y")  # fmt: skip
    log.created("C", at(0), priority="P1", service="onsite", region="north")
    log.add("complaint.filed", "A", at(5), {"reason": "late"})
    log.add("complaint.filed", "A", at(6))
    log.add("complaint.resolved", "A", at(7))
    log.add("survey.submitted", "A", at(10), {"score": 9})
    log.add("survey.submitted", "A", at(11), {"score": 7})
    log.add("survey.submitted", "B", at(10), {"score": 4})
    log.add("survey.submitted", "C", at(10), {"score": 10})
    return log


@pytest.mark.asyncio
async def test_complaints_are_counted_by_where_and_event() -> None:
    """Two filed, one resolved, labelled priority/service/region and event."""
    h = Harness(now=at_ns(60))
    await feed(h, quality_log())
    where = {"priority": "P1", "service": "onsite", "region": "north"}
    assert h.metric("slamon_complaints_total", {**where, "event": "filed"}) == 2
    assert h.metric("slamon_complaints_total", {**where, "event": "resolved"}) == 1


@pytest.mark.asyncio
async def test_csat_by_category_agrees_with_replay_and_keeps_labels_bounded() -> None:
    """car (a baseline category): mean 8 over 2, as replay's csat_by_category says; drone
    (no baseline) under other, no category under none; no asset or technician label."""
    h = Harness(now=at_ns(60))
    log = quality_log()
    await feed(h, log)
    figures = replay(log.lines(), POLICY).quality["csat_by_category"]
    count = h.metric("slamon_csat_category_score_count", {"product_category": "car"})
    total = h.metric("slamon_csat_category_score_sum", {"product_category": "car"})
    assert count is not None
    assert total is not None
    assert (count, total) == (2, 16)
    assert figures["car"]["count"] == count
    assert figures["car"]["mean"] == total / count
    assert h.metric("slamon_csat_category_score_sum", {"product_category": "other"}) == 4
    assert h.metric("slamon_csat_category_score_sum", {"product_category": "none"}) == 10
    assert h.metric("slamon_csat_category_score_sum", {"product_category": "drone"}) is None
    text = generate_latest(h.registry).decode()
    for label in ("asset_id", 'asset="', "technician", "drone", '"X"', '"Y"'):
        assert label not in text


# -- tickets by quality state: repair, completion, complaint and complaint resolution rates
FIGURES = ("repair_rate", "completion_rate", "complaint_rate", "complaint_resolution_rate")


def states_log() -> EventLog:
    """Every way a ticket moves between quality states, in log order (late events too)."""
    log = EventLog()
    north = {"service": "onsite", "region": "north"}
    for ticket in "ABCDEFGHKL":
        log.created(ticket, at(0), priority="P1", **north)
    log.add("ticket.resolved", "A", at(30))  # within the 2h target
    log.add("ticket.resolved", "B", at(150))  # breached ...
    log.add("ticket.paused", "B", at(10))  # ... until a late pause makes it 110m: met
    log.add("ticket.resumed", "B", at(50))
    log.add("ticket.resolved", "L", at(150))  # breached: resolved, not within the target
    log.add("ticket.resolved", "C", at(10))
    log.add("ticket.reopened", "C", at(20))  # not resolved at the end
    log.add("ticket.resolved", "D", at(10))
    log.add("ticket.reopened", "D", at(20))
    log.add("ticket.resolved", "D", at(30))
    log.add("ticket.resolved", "E", at(10))
    log.add("ticket.cancelled", "E", at(20))  # leaves every state
    log.add("complaint.filed", "F", at(5))
    log.add("complaint.filed", "F", at(6))
    log.add("complaint.resolved", "F", at(7))  # one of two: not all resolved
    log.add("complaint.filed", "G", at(5))
    log.add("complaint.resolved", "G", at(6))
    log.add("ticket.updated", "G", at(7), {"region": "south"})  # moves to other labels
    log.add("ticket.resolved", "H", at(200))  # breached under P1 ...
    log.add("ticket.priority_changed", "H", at(1), {"priority": "P3"})  # late: 8h, met
    log.add("complaint.filed", "K", at(5))
    log.add("ticket.priority_changed", "K", at(6), {"priority": "P2"})
    log.add("survey.submitted", "Z", at(5), {"score": 3})  # an orphan counts nowhere
    log.add("ticket.resolved", "Y", at(5))
    log.created("Y", at(1), priority="P4")  # late creation of an orphan: counted since
    return log


def state(h: Harness, name: str, **labels: str) -> float:
    """Entered - left of one state, summed over the series whose labels include ``labels``."""
    wanted = {"state": name, **labels}
    signs = {"slamon_quality_tickets_entered_total": 1, "slamon_quality_tickets_left_total": -1}
    total = 0.0
    for family in h.registry.collect():
        for sample in family.samples:
            if sample.name in signs and wanted.items() <= sample.labels.items():
                total += signs[sample.name] * sample.value
    return total


@pytest.mark.asyncio
async def test_quality_state_counters_give_replays_figures() -> None:
    """repair, completion, complaint and complaint resolution rates from the counters, by
    docs/metrics.md's formulas, equal replay's: reopens, a cancel, late events that refold
    a ticket (a pause retracting a breach, a priority change), a late creation."""
    h = Harness(now=at_ns(600))
    log = states_log()
    await feed(h, log)
    expected = replay(log.lines(), POLICY).quality
    got = figures(generate_latest(h.registry).decode())
    assert got["tickets"] == expected["tickets"] == 10
    for name in FIGURES:
        assert got[name] == expected[name], name
    # by hand: tickets A B C D F G H K L Y (E cancelled, Z an orphan); resolved A B D H L Y,
    # within the target but L; complained F G K, all resolved G
    assert (expected["repair_rate"], expected["completion_rate"]) == (6 / 10, 5 / 6)
    assert (expected["complaint_rate"], expected["complaint_resolution_rate"]) == (3 / 10, 1 / 3)


@pytest.mark.asyncio
async def test_a_ticket_moves_its_states_with_its_labels() -> None:
    """G's region update and K's priority change: they leave their states under the old
    labels and enter them under the new ones; every series has its pair (entered, left)."""
    h = Harness(now=at_ns(600))
    await feed(h, states_log())
    where = {"service": "onsite"}
    assert state(h, "complaints_resolved", priority="P1", region="south", **where) == 1
    assert state(h, "complaints_resolved", priority="P1", region="north", **where) == 0
    assert state(h, "complained", priority="P2", region="north", **where) == 1
    assert state(h, "ticket", priority="P3", region="north", **where) == 1  # H
    assert state(h, "resolved_within_target", priority="P1", region="north", **where) == 3
    text = generate_latest(h.registry).decode()
    entered = {line.split(" ")[0].replace("entered", "") for line in text.splitlines()
               if line.startswith("slamon_quality_tickets_entered_total")}  # fmt: skip
    left = {line.split(" ")[0].replace("left", "") for line in text.splitlines()
            if line.startswith("slamon_quality_tickets_left_total")}  # fmt: skip
    assert entered == left


@pytest.mark.asyncio
async def test_a_stopped_clock_past_its_target_counts_when_the_clock_finds_it() -> None:
    """Resolved at 150m (future-dated at 100m): within target until the clock passes 2h."""
    h = Harness(now=at_ns(100))
    log = EventLog()
    log.created("A", at(0), priority="P1")
    log.add("ticket.resolved", "A", at(150))
    await feed(h, log)
    assert state(h, "resolved_within_target", priority="P1") == 1
    h.clock.now = at_ns(121)
    await h.service.tick()
    assert state(h, "resolved_within_target", priority="P1") == 0
    assert figures(generate_latest(h.registry).decode())["completion_rate"] == 0.0


@pytest.mark.asyncio
async def test_an_expired_ticket_still_counts() -> None:
    """A final ticket expired after retention keeps counting: the figures do not move."""
    h = Harness(now=at_ns(60))
    log = EventLog()
    log.created("A", at(0), priority="P1")
    log.add("ticket.responded", "A", at(5))
    log.add("ticket.resolved", "A", at(30))
    log.created("B", at(0), priority="P1")
    await feed(h, log)
    before = figures(generate_latest(h.registry).decode())
    h.clock.now = at_ns(60 + 61)  # final since 60m + 1h retention
    await h.service.tick()
    assert "A" not in h.service.engine.tickets
    assert figures(generate_latest(h.registry).decode()) == before
    assert before["repair_rate"] == replay(log.lines(), POLICY).quality["repair_rate"] == 0.5


@pytest.mark.asyncio
async def test_restored_tickets_count_once_fleet_wide() -> None:
    """A worker rebuilt from the table takes restored tickets as counted: its counters move
    only for what happens next, and both workers' counters summed give replay's figures."""
    first = Harness(now=at_ns(600))
    log = EventLog()
    log.created("A", at(0), priority="P1")
    log.add("ticket.resolved", "A", at(30))
    log.created("B", at(0), priority="P1")
    await feed(first, log)
    second = Harness(now=at_ns(600), table=dict(first.table))
    await second.service.on_recovered({0})
    assert figures(generate_latest(second.registry).decode())["tickets"] == 0
    later = EventLog()
    later.add("ticket.reopened", "A", at(40), id="later-1")
    later.add("complaint.filed", "B", at(41), id="later-2")
    for offset, line in enumerate(later.lines(), len(log.lines())):
        await second.service.handle(event_record(orjson.loads(line), offset=offset))
    assert state(second, "resolved", priority="P1") == -1  # left here, entered on the first
    both = figures(*(generate_latest(h.registry).decode() for h in (first, second)))
    expected = replay([*log.lines(), *later.lines()], POLICY).quality
    assert both["tickets"] == expected["tickets"] == 2
    for name in FIGURES:
        assert both[name] == expected[name], name
