"""Prometheus metrics: bucket edges at the policy's targets, gauges computed at scrape time.

Policy: ``small_policy`` (24x7; P1 first response 10m, at risk at 7.5m; P2 30m / 22.5m;
P3 1h / 45m; P4 2h / 90m).
"""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, enable_created_metrics, generate_latest

from slamon.adapters.jsonl import decode_line
from slamon.adapters.metrics import EngineCollector, SlaMetrics, sla_buckets
from slamon.core.live import LiveEngine
from slamon.core.timefmt import NS_PER_S, parse_rfc3339
from slamon.testing import EventLog, at, small_policy

POLICY = small_policy()
WHERE = ("remote", "none")


def test_duration_buckets_have_an_edge_at_every_target_and_at_risk_point() -> None:
    """first_response edges: 450, 600, 1350, 1800, 2700, 3600, 5400, 7200 s, then +Inf."""
    assert sla_buckets(POLICY, "first_response") == (
        450.0, 600.0, 1350.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0, float("inf"),
    )  # fmt: skip


def test_stopped_durations_are_observed_once_in_the_bucket_of_their_target() -> None:
    """A 10-minute response of a P1 lands at le=600 (met exactly), counted once."""
    registry = CollectorRegistry()
    metrics = SlaMetrics(registry, POLICY)
    engine = LiveEngine(POLICY, retention_ns=3600 * NS_PER_S)
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.responded", "T1", at(10))
    for seq, line in enumerate(log.lines()):
        engine.ingest(decode_line(line, seq), parse_rfc3339(at(11)))
    for outcome, first in engine.drain_outcomes():
        metrics.outcome(outcome, first=first, where=WHERE)
    labels = {"priority": "P1"}
    bucket = "slamon_first_response_seconds_bucket"
    assert registry.get_sample_value(bucket, {**labels, "le": "450.0"}) == 0
    assert registry.get_sample_value(bucket, {**labels, "le": "600.0"}) == 1
    assert registry.get_sample_value("slamon_first_response_seconds_count", labels) == 1
    assert registry.get_sample_value("slamon_first_response_seconds_sum", labels) == 600.0
    met = {"status": "met", "sla": "first_response", "priority": "P1"}
    assert registry.get_sample_value("slamon_outcomes_total", met) == 1


def running(
    registry: CollectorRegistry, sla: str, state: str, priority: str = "P1"
) -> float | None:
    labels = {"priority": priority, "sla": sla, "state": state}
    return registry.get_sample_value("slamon_running_clocks", labels)


def test_running_clock_gauges_split_within_target_at_risk_and_breached() -> None:
    """Three P1 tickets at 11m: A responded (not running), B created at 0 and running past
    10m (breached), C created at 2m running past 9.5m (at risk); resolution runs within
    target for all three."""
    registry = CollectorRegistry()
    engine = LiveEngine(POLICY, retention_ns=3600 * NS_PER_S)
    registry.register(EngineCollector(engine, lambda: {0: 5}))
    log = EventLog()
    log.created("A", at(0), priority="P1")
    log.created("B", at(0), priority="P1")
    log.created("C", at(2), priority="P1")
    log.add("ticket.responded", "A", at(2))
    for seq, line in enumerate(log.lines()):
        engine.ingest(decode_line(line, seq), parse_rfc3339(at(2)))
    engine.advance(parse_rfc3339(at(11)))  # B breaches at 10m; C at risk at 9.5m
    assert running(registry, "first_response", "within_target") == 0
    assert running(registry, "first_response", "at_risk") == 1
    assert running(registry, "first_response", "breached") == 1
    assert running(registry, "resolution", "within_target") == 3
    assert running(registry, "resolution", "breached") == 0
    assert running(registry, "first_response", "within_target", priority="P4") == 0  # zero-filled
    assert registry.get_sample_value("slamon_consumer_lag", {"partition": "0"}) == 5
    assert registry.get_sample_value("slamon_tickets_in_memory") == 3


async def _refreshed(collector: EngineCollector) -> None:
    await collector.refresh()


def test_refreshed_gauges_are_served_from_the_last_count() -> None:
    """After refresh(), scrapes read the cached count until the next refresh."""
    registry = CollectorRegistry()
    engine = LiveEngine(POLICY, retention_ns=3600 * NS_PER_S)
    collector = EngineCollector(engine, dict)
    registry.register(collector)
    log = EventLog()
    log.created("A", at(0), priority="P2")
    lines = log.lines()
    engine.ingest(decode_line(lines[0], 0), parse_rfc3339(at(1)))
    asyncio.run(_refreshed(collector))
    log.created("B", at(0), priority="P2")
    engine.ingest(decode_line(log.lines()[1], 1), parse_rfc3339(at(1)))
    assert running(registry, "first_response", "within_target", "P2") == 1  # the cached count
    asyncio.run(_refreshed(collector))
    assert running(registry, "first_response", "within_target", "P2") == 2


def test_exposition_has_no_created_series_and_plain_label_values() -> None:
    """With created series enabled process-wide (the default), the scrape has no ``_created``
    sample: the collectors build ``*MetricFamily`` values, which never carry one. Alert types
    and statuses are exposed as their strings."""
    enable_created_metrics()  # type: ignore[no-untyped-call]  # the default, made explicit
    registry = CollectorRegistry()
    metrics = SlaMetrics(registry, POLICY)
    engine = LiveEngine(POLICY, retention_ns=3600 * NS_PER_S)
    registry.register(EngineCollector(engine, lambda: {0: 1}))
    log = EventLog()
    log.created("T1", at(0), priority="P1")
    log.add("ticket.responded", "T1", at(11))
    now = parse_rfc3339(at(11))
    for seq, line in enumerate(log.lines()):
        alerts = engine.ingest(decode_line(line, seq), now)
        assert isinstance(alerts, list)
        for alert in alerts:
            metrics.alert(alert, now, by_clock=True, where=WHERE)
    for outcome, first in engine.drain_outcomes():
        metrics.outcome(outcome, first=first, where=WHERE)
    text = generate_latest(registry).decode()
    assert "_created" not in text
    assert 'slamon_alerts_total{priority="P1",sla="first_response",type="sla.breached"} 1.0' in text
    assert 'slamon_outcomes_total{priority="P1",sla="first_response",status="breached"} 1.0' in text
    assert "AlertType" not in text
    assert "Status." not in text
