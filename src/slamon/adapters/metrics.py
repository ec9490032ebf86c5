"""Prometheus metrics: counters and histograms updated by the worker, gauges read at scrape.

Everything goes to an injected registry (tests use their own). Labels are bounded
sets (priority, SLA, alert type, status, partition): never ticket, technician or
customer ids.
"""

from __future__ import annotations

import asyncio
import math
from bisect import bisect_left
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from slamon.core.decisions import Alert, Outcome
from slamon.core.engine import Engine
from slamon.core.live import tally_running
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.timefmt import NS_PER_S

DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 60.0)


def sla_buckets(policy: SlaPolicy, sla: str) -> tuple[float, ...]:
    """Bucket edges at every policy target of ``sla`` and at its at-risk points."""
    edges: set[float] = set()
    for priority in PRIORITIES:
        edges.add(policy.target_ns(priority, sla) / NS_PER_S)
        edges.add(policy.warn_ns(priority, sla) / NS_PER_S)
    return (*sorted(edges), float("inf"))


class _Histogram:
    """Cumulative-at-scrape buckets over plain ints: no lock, one bisect per observation."""

    __slots__ = ("counts", "edges", "total")

    def __init__(self, edges: tuple[float, ...]) -> None:
        self.edges = edges  # ends with +Inf
        self.counts = [0] * len(edges)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.edges, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = []
        running = 0
        for edge, count in zip(self.edges, self.counts, strict=True):
            running += count
            le = str(floatToGoString(edge))  # type: ignore[no-untyped-call]
            out.append((le, float(running)))
        return out


class SlaMetrics(Collector):
    """The worker's counters and histograms, exposed through ``collect()``.

    The worker's event loop is the only writer, so plain ints do: prometheus_client's
    Counter takes a lock per increment, which costs more than the rest of the bookkeeping.
    """

    EVENT_RESULTS = ("processed", "invalid", "duplicate", "late", "error")

    def __init__(self, registry: CollectorRegistry, policy: SlaPolicy) -> None:
        self.event_counts = dict.fromkeys(self.EVENT_RESULTS, 0)
        self.alert_counts: dict[tuple[str, str, str], int] = {}
        self.outcome_counts: dict[tuple[str, str, str], int] = {}
        self.durations = {
            sla: {p: _Histogram(sla_buckets(policy, sla)) for p in PRIORITIES} for sla in SLAS
        }
        self.delays: dict[str, _Histogram] = {}
        self.last_event_s = 0.0
        self.is_ready = 0
        registry.register(self)

    # -- updates (hot path) ------------------------------------------------------------
    def event(self, result: str) -> None:
        self.event_counts[result] += 1

    def alert(self, alert: Alert, detected_at: int, *, by_clock: bool) -> None:
        key = (alert.type, alert.sla, alert.priority)
        self.alert_counts[key] = self.alert_counts.get(key, 0) + 1
        if by_clock:
            histogram = self.delays.get(alert.type)
            if histogram is None:
                histogram = self.delays[alert.type] = _Histogram((*DELAY_BUCKETS, math.inf))
            histogram.observe(max(0, detected_at - alert.at) / NS_PER_S)

    def outcome(self, outcome: Outcome, *, first: bool) -> None:
        key = (outcome.status, outcome.sla, outcome.priority)
        self.outcome_counts[key] = self.outcome_counts.get(key, 0) + 1
        if first and outcome.measured:
            self.durations[outcome.sla][outcome.priority].observe(outcome.elapsed_ns / NS_PER_S)

    def last_event(self, event_time: int) -> None:
        self.last_event_s = max(self.last_event_s, event_time / NS_PER_S)

    def ready(self, ready: bool) -> None:
        self.is_ready = int(ready)

    # -- scrape ------------------------------------------------------------------------
    def collect(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "slamon_events", "Input records by result: processed, invalid, duplicate, late, error.",
            labels=["result"],
        )  # fmt: skip
        for result, count in self.event_counts.items():
            events.add_metric([result], count)
        yield events
        alerts = CounterMetricFamily("slamon_alerts", "Alerts emitted.",
                                     labels=["type", "sla", "priority"])  # fmt: skip
        for labels, count in sorted(self.alert_counts.items()):
            alerts.add_metric(list(labels), count)
        yield alerts
        outcomes = CounterMetricFamily("slamon_outcomes", "Final outcome records emitted.",
                                       labels=["status", "sla", "priority"])  # fmt: skip
        for labels, count in sorted(self.outcome_counts.items()):
            outcomes.add_metric(list(labels), count)
        yield outcomes
        for sla, by_priority in self.durations.items():
            family = HistogramMetricFamily(
                f"slamon_{sla}_seconds",
                f"Business seconds to {sla.replace('_', ' ')}, stopped clocks, by priority.",
                labels=["priority"],
            )
            for priority, histogram in by_priority.items():
                family.add_metric([priority], histogram.buckets(), histogram.total)
            yield family
        delays = HistogramMetricFamily(
            "slamon_alert_detection_delay_seconds",
            "Wall time from an alert's instant to its emission, for alerts found by the clock.",
            labels=["type"],
        )
        for kind, histogram in sorted(self.delays.items()):
            delays.add_metric([kind], histogram.buckets(), histogram.total)
        yield delays
        last = GaugeMetricFamily("slamon_last_event_time_seconds",
                                 "Event time of the latest processed event.")  # fmt: skip
        last.add_metric([], self.last_event_s)
        yield last
        ready = GaugeMetricFamily("slamon_ready", "1 once table recovery is done.")
        ready.add_metric([], self.is_ready)
        yield ready


Counts = dict[tuple[str, str], int]
REFRESH_CHUNK = 5_000  # tickets counted between two yields to the event loop


class EngineCollector(Collector):
    """Gauges from the live engine: open and at-risk clocks, tickets held, consumer lag.

    Counting walks every ticket. The worker calls :meth:`refresh` every few seconds,
    which walks in chunks and yields to the event loop between them, so a scrape never
    stalls deadline detection (a million tickets take about a second to walk); a
    collector that was never refreshed counts at scrape time.
    """

    def __init__(self, engine: Engine, lag: Callable[[], dict[int, int]]) -> None:
        self.engine = engine
        self.lag = lag
        self.cached: tuple[Counts, Counts] | None = None

    def _empty(self) -> tuple[Counts, Counts]:
        zero = {(p, s): 0 for p in PRIORITIES for s in SLAS}
        return zero, dict(zero)

    async def refresh(self) -> None:
        """Recount in chunks, yielding between them; scrapes read the result."""
        open_count, risk_count = self._empty()
        tickets = list(self.engine.tickets.values())
        for start in range(0, len(tickets), REFRESH_CHUNK):
            tally_running(tickets[start : start + REFRESH_CHUNK], open_count, risk_count)
            await asyncio.sleep(0)
        self.cached = (open_count, risk_count)

    def collect(self) -> Iterator[Metric]:
        if self.cached is None:
            open_count, risk_count = self._empty()
            tally_running(list(self.engine.tickets.values()), open_count, risk_count)
        else:
            open_count, risk_count = self.cached
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
