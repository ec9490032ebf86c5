"""Prometheus metrics: counters and histograms updated by the worker, gauges read at scrape.

Everything goes to an injected registry (tests use their own). Labels are bounded
sets (priority, SLA, alert type, status, partition): never ticket, technician or
customer ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from slamon.core.decisions import Alert, Outcome
from slamon.core.engine import Engine
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.timefmt import NS_PER_S

disable_created_metrics()  # type: ignore[no-untyped-call]  # *_created series double the output and no dashboard reads them

DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 60.0)


def sla_buckets(policy: SlaPolicy, sla: str) -> tuple[float, ...]:
    """Bucket edges at every policy target of ``sla`` and at its at-risk points."""
    edges: set[float] = set()
    for priority in PRIORITIES:
        edges.add(policy.target_ns(priority, sla) / NS_PER_S)
        edges.add(policy.warn_ns(priority, sla) / NS_PER_S)
    return (*sorted(edges), float("inf"))


class SlaMetrics:
    """The worker's metrics, registered in ``registry``."""

    def __init__(self, registry: CollectorRegistry, policy: SlaPolicy) -> None:
        self.events = Counter(
            "slamon_events",
            "Input records by result: processed, invalid, duplicate, late.",
            ["result"],
            registry=registry,
        )
        # label children looked up once: .labels() costs more than .inc() on the hot path
        self.event_results = {r: self.events.labels(r)
                              for r in ("processed", "invalid", "duplicate", "late")}  # fmt: skip
        self._children: dict[tuple[str, ...], Any] = {}
        self.alerts = Counter(
            "slamon_alerts", "Alerts emitted.", ["type", "sla", "priority"], registry=registry
        )
        self.outcomes = Counter(
            "slamon_outcomes",
            "Final outcome records emitted.",
            ["status", "sla", "priority"],
            registry=registry,
        )
        self.durations = {
            sla: Histogram(
                f"slamon_{sla}_seconds",
                f"Business seconds to {sla.replace('_', ' ')}, stopped clocks, by priority.",
                ["priority"],
                buckets=sla_buckets(policy, sla),
                registry=registry,
            )
            for sla in SLAS
        }
        self.detection_delay = Histogram(
            "slamon_alert_detection_delay_seconds",
            "Wall time from an alert's instant to its emission, for alerts found by the clock.",
            ["type"],
            buckets=DELAY_BUCKETS,
            registry=registry,
        )
        self.last_event_time = Gauge(
            "slamon_last_event_time_seconds",
            "Event time of the latest processed event.",
            registry=registry,
        )
        self.ready = Gauge("slamon_ready", "1 once table recovery is done.", registry=registry)

    def event(self, result: str) -> None:
        self.event_results[result].inc()

    def _child(self, metric: Counter, *labels: str) -> Any:
        key = (metric._name, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def alert(self, alert: Alert, detected_at: int, *, by_clock: bool) -> None:
        self._child(self.alerts, alert.type, alert.sla, alert.priority).inc()
        if by_clock:
            delay = max(0, detected_at - alert.at) / NS_PER_S
            self.detection_delay.labels(alert.type).observe(delay)

    def outcome(self, outcome: Outcome, *, first: bool) -> None:
        self._child(self.outcomes, outcome.status, outcome.sla, outcome.priority).inc()
        if first and outcome.stopped and outcome.status in ("met", "breached"):
            seconds = outcome.elapsed_ns / NS_PER_S
            self.durations[outcome.sla].labels(outcome.priority).observe(seconds)


class EngineCollector(Collector):
    """Gauges computed from the live engine at scrape time (open, at risk, lag)."""

    def __init__(self, engine: Engine, lag: Callable[[], dict[int, int]]) -> None:
        self.engine = engine
        self.lag = lag

    def collect(self) -> Iterator[GaugeMetricFamily]:
        open_pairs = GaugeMetricFamily(
            "slamon_open_tickets",
            "Running (not final) SLA clocks by priority and SLA.",
            labels=["priority", "sla"],
        )
        at_risk = GaugeMetricFamily(
            "slamon_at_risk_tickets",
            "Running SLA clocks past their at-risk point, not breached.",
            labels=["priority", "sla"],
        )
        open_count = {(p, s): 0 for p in PRIORITIES for s in SLAS}
        risk_count = dict(open_count)
        for ticket in list(self.engine.tickets.values()):
            fold = ticket.fold
            if fold.created_at is None or fold.cancelled_at is not None:
                continue
            for index, sla in enumerate(SLAS):
                if fold.applicable(index) and not fold.stopped(index):
                    key = (fold.priority, sla)
                    open_count[key] += 1
                    bit = 1 << index
                    if ticket.risk_sent & bit and not ticket.standing & bit:
                        risk_count[key] += 1
        for (priority, sla), value in open_count.items():
            open_pairs.add_metric([priority, sla], value)
            at_risk.add_metric([priority, sla], risk_count[(priority, sla)])
        yield open_pairs
        yield at_risk
        tickets = GaugeMetricFamily("slamon_tickets_in_memory", "Tickets held, final included.")
        tickets.add_metric([], len(self.engine.tickets))
        yield tickets
        lag = GaugeMetricFamily(
            "slamon_consumer_lag",
            "Input records not yet processed, by partition.",
            labels=["partition"],
        )
        for partition, value in sorted(self.lag().items()):
            lag.add_metric([str(partition)], value)
        yield lag
