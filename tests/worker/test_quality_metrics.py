"""The worker's counters for issue 11's figures: complaints and CSAT by product category.

Labels stay bounded: no technician or asset label; a product category is a label only
when the policy names a baseline for it (else ``other``, ``none`` without one).
"""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from slamon.replay import replay
from slamon.testing import EventLog, at
from slamon.testing import instant as at_ns
from tests.worker.test_service import POLICY, Harness, feed


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
    for label in ("asset", "technician", "drone", '"X"'):
        assert label not in text
