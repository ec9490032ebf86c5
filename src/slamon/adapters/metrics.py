"""Prometheus metrics: counters and histograms updated by the worker, gauges read at scrape.

Everything goes to an injected registry (tests use their own). Labels are bounded
sets (priority, SLA, service, capped region, alert type, status, partition): never
ticket, technician or customer ids; duration observations carry the ticket id as an
OpenMetrics exemplar instead (docs/metrics.md). The quality metrics are in
adapters/quality_metrics.py, the histogram and label helpers in adapters/metric_series.py.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from slamon.adapters.metric_series import PlainHistogram, RegionLabels, Where, ticket_exemplar
from slamon.adapters.quality_metrics import QualityMetrics
from slamon.core.decisions import Alert, AlertType, Outcome, Status
from slamon.core.engine import Engine
from slamon.core.live import RUNNING_STATES, tally_running
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.timefmt import NS_PER_S

# Where: the label type of SlaMetrics' updates, which its callers import from here
__all__ = ["DEAD_LETTER_CLASSES", "EngineCollector", "SlaMetrics", "Where", "dead_letter_class",
           "sla_buckets"]  # fmt: skip

DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 60.0)
DELAY_EDGES = (*DELAY_BUCKETS, math.inf)


def sla_buckets(policy: SlaPolicy, sla: str) -> tuple[float, ...]:
    """Bucket edges at every policy target of ``sla`` and at its at-risk points, those of
    every ``spec.terms`` entry included."""
    edges: set[float] = set()
    index = SLAS.index(sla)
    for terms in range(-1, len(policy.terms)):
        for priority in PRIORITIES:
            _, targets, warns = policy.rules(priority, terms)
            edges.add(targets[index] / NS_PER_S)
            edges.add(warns[index] / NS_PER_S)
    return (*sorted(edges), float("inf"))


def dead_letter_class(reason: str, result: str) -> str:
    """A bounded class of a dead-letter reason (the reason text itself is unbounded)."""
    if result == "error":
        return "internal_error"
    for needle, kind in _REASON_CLASSES:
        if needle in reason:
            return kind
    return "invalid_field"


_REASON_CLASSES = (
    ("-byte limit", "too_large"),
    ("unknown event type", "unknown_type"),
    ("time:", "bad_time"),
    ("JSON", "not_json"),
    ("base64", "not_json"),
    ("specversion", "bad_envelope"),
    ("envelope", "bad_envelope"),
    ("header", "bad_envelope"),
    ("record key", "bad_envelope"),
    ("empty record", "bad_envelope"),
)
DEAD_LETTER_CLASSES = (
    "too_large", "unknown_type", "bad_time", "not_json", "bad_envelope", "invalid_field",
    "internal_error",
)  # fmt: skip


class SlaMetrics(QualityMetrics, Collector):
    """The worker's counters and histograms, exposed through ``collect()``.

    The worker's event loop is the only writer, so plain ints do: prometheus_client's
    Counter takes a lock per increment, which costs more than the rest of the bookkeeping.
    """

    EVENT_RESULTS = ("processed", "invalid", "duplicate", "late", "error")

    def __init__(
        self, registry: CollectorRegistry, policy: SlaPolicy, max_regions: int = 50
    ) -> None:
        super().__init__(frozenset(policy.quality.csat_baselines), RegionLabels(max_regions))
        self.event_counts = dict.fromkeys(self.EVENT_RESULTS, 0)
        self.dead_letters = dict.fromkeys(DEAD_LETTER_CLASSES, 0)
        self.alert_counts: dict[tuple[str, str, str], int] = {}
        self.outcome_counts: dict[tuple[str, str, str], int] = {}
        # the SLI, by (priority, sla, service, region)
        self.breaches: dict[tuple[str, str, str, str], int] = {}
        self.retractions: dict[tuple[str, str, str, str], int] = {}
        self.met: dict[tuple[str, str, str, str], int] = {}
        self.durations = {
            sla: {p: PlainHistogram(sla_buckets(policy, sla)) for p in PRIORITIES} for sla in SLAS
        }
        self.delays: dict[tuple[str, str], PlainHistogram] = {}  # (type, found_by)
        self.last_event_s = 0.0
        self.is_ready = 0
        self.recoveries = 0
        self.recoveries_superseded = 0
        self.input_gaps = {"reread": 0, "accepted": 0}
        registry.register(self)

    def where(self, service: str, region: str | None) -> Where:
        """The (service, region) label values of a ticket."""
        return service, self.region(region)

    # -- updates (hot path) ------------------------------------------------------------
    def event(self, result: str) -> None:
        self.event_counts[result] += 1

    def dead_letter(self, reason: str, result: str) -> None:
        self.dead_letters[dead_letter_class(reason, result)] += 1

    def alert(
        self, alert: Alert, detected_at: int, *, by_clock: bool, where: Where,
        known_at: int | None = None,
    ) -> None:  # fmt: skip
        """Count ``alert``; its detection delay is from its instant (found by the clock), or
        from when its record could first be read (``known_at``: found with an event), so a
        stalled worker shows whichever way it catches up."""
        key = (alert.type, alert.sla, alert.priority)
        self.alert_counts[key] = self.alert_counts.get(key, 0) + 1
        if alert.type == AlertType.BREACHED:
            sli = (alert.priority, alert.sla, *where)
            self.breaches[sli] = self.breaches.get(sli, 0) + 1
        elif alert.type == AlertType.RETRACTED:
            sli = (alert.priority, alert.sla, *where)
            self.retractions[sli] = self.retractions.get(sli, 0) + 1
        if not by_clock and known_at is None:
            return
        since = alert.at if by_clock or known_at is None else max(alert.at, known_at)
        found_by = "clock" if by_clock else "event"
        histogram = self.delays.get((alert.type, found_by))
        if histogram is None:
            histogram = self.delays[(alert.type, found_by)] = PlainHistogram(DELAY_EDGES)
        histogram.observe(max(0, detected_at - since) / NS_PER_S)

    def outcome(self, outcome: Outcome, *, first: bool, where: Where) -> None:
        key = (outcome.status, outcome.sla, outcome.priority)
        self.outcome_counts[key] = self.outcome_counts.get(key, 0) + 1
        if not first:
            return
        if outcome.measured:
            self.durations[outcome.sla][outcome.priority].observe(
                outcome.elapsed_ns / NS_PER_S, ticket_exemplar(outcome.ticket_id)
            )
        if outcome.status == Status.MET:
            sli = (outcome.priority, outcome.sla, *where)
            self.met[sli] = self.met.get(sli, 0) + 1

    def last_event(self, event_time: int) -> None:
        self.last_event_s = max(self.last_event_s, event_time / NS_PER_S)

    def ready(self, ready: bool) -> None:
        self.is_ready = int(ready)

    def recovered(self) -> None:
        self.recoveries += 1

    def recovery_superseded(self) -> None:
        self.recoveries_superseded += 1

    def input_gap(self, outcome: str) -> None:
        """Input offsets the consumer skipped: read again, or accepted as a real gap."""
        self.input_gaps[outcome] += 1

    # -- scrape ------------------------------------------------------------------------
    def collect(self) -> Iterator[Metric]:
        yield from self._monitor()
        yield from self._sli()
        yield from self._quality()
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
            "Wall time from an alert's instant (or, found with an event, from its record's "
            "timestamp if later) to its emission.",
            labels=["type", "found_by"],
        )
        for (kind, found_by), histogram in sorted(self.delays.items()):
            delays.add_metric([kind, found_by], histogram.buckets(), histogram.total)
        yield delays

    def _monitor(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "slamon_events", "Input records by result: processed, invalid, duplicate, late, error.",
            labels=["result"],
        )  # fmt: skip
        for result, count in self.event_counts.items():
            events.add_metric([result], count)
        yield events
        dead = CounterMetricFamily("slamon_dead_letters", "Records sent to the dead-letter "
                                   "topic, by class of reason.", labels=["reason"])  # fmt: skip
        for reason, count in self.dead_letters.items():
            dead.add_metric([reason], count)
        yield dead
        alerts = CounterMetricFamily("slamon_alerts", "Alerts emitted.",
                                     labels=["type", "sla", "priority"])  # fmt: skip
        for labels, count in sorted(self.alert_counts.items()):
            alerts.add_metric(list(labels), count)
        yield alerts
        outcomes = CounterMetricFamily("slamon_outcomes", "Outcome records emitted.",
                                       labels=["status", "sla", "priority"])  # fmt: skip
        for labels, count in sorted(self.outcome_counts.items()):
            outcomes.add_metric(list(labels), count)
        yield outcomes
        last = GaugeMetricFamily(
            "slamon_last_event_time_seconds", "Event time of the latest processed event."
        )
        last.add_metric([], self.last_event_s)
        yield last
        ready = GaugeMetricFamily("slamon_ready", "1 once table recovery is done.")
        ready.add_metric([], self.is_ready)
        yield ready
        recoveries = CounterMetricFamily("slamon_recoveries", "Table recoveries completed.")
        recoveries.add_metric([], self.recoveries)
        yield recoveries
        superseded = CounterMetricFamily(
            "slamon_recoveries_superseded", "Table recoveries reported complete after a later "
            "rebalance had superseded them: not rebuilt from (the next recovery is).",
        )  # fmt: skip
        superseded.add_metric([], self.recoveries_superseded)
        yield superseded
        gaps = CounterMetricFamily(
            "slamon_input_gaps", "Input offsets the consumer skipped: read again (reread), or "
            "still missing after a re-read and accepted (accepted).", labels=["outcome"],
        )  # fmt: skip
        for outcome, count in self.input_gaps.items():
            gaps.add_metric([outcome], count)
        yield gaps

    def _sli(self) -> Iterator[Metric]:
        labels = ["priority", "sla", "service", "region"]
        breached = "SLAs whose elapsed business time passed the target, counted at that moment."
        withdrawn = "Breaches withdrawn (a late event, a priority change)."
        for name, text, counts in (
            ("slamon_sla_breaches", breached, self.breaches),
            ("slamon_sla_breach_retractions", withdrawn, self.retractions),
            ("slamon_sla_met", "SLA clocks stopped within the target.", self.met),
        ):
            family = CounterMetricFamily(name, text, labels=labels)
            for key, count in sorted(counts.items()):
                family.add_metric(list(key), count)
            yield family


Counts = dict[tuple[str, str, str], int]
REFRESH_CHUNK = 5_000  # tickets counted between two yields to the event loop


class EngineCollector(Collector):
    """Gauges from the live engine: running clocks by state, tickets held, consumer lag.

    Counting walks every ticket. The worker calls :meth:`refresh` every few seconds,
    which walks in chunks and yields to the event loop between them, so a scrape never
    stalls deadline detection (a million tickets take about a second to walk); a
    collector that was never refreshed counts at scrape time.
    """

    def __init__(self, engine: Engine, lag: Callable[[], dict[int, int]]) -> None:
        self.engine = engine
        self.lag = lag
        self.cached: Counts | None = None

    async def refresh(self) -> None:
        """Recount in chunks, yielding between them; scrapes read the result."""
        counts: Counts = {}
        tickets = list(self.engine.tickets.values())
        for start in range(0, len(tickets), REFRESH_CHUNK):
            tally_running(tickets[start : start + REFRESH_CHUNK], counts)
            await asyncio.sleep(0)
        self.cached = counts

    def collect(self) -> Iterator[Metric]:
        if self.cached is None:
            counts: Counts = {}
            tally_running(list(self.engine.tickets.values()), counts)
        else:
            counts = self.cached
        running = GaugeMetricFamily(
            "slamon_running_clocks",
            "Running SLA clocks by state: within_target, at_risk (alert sent), breached "
            "(past the target, still running).",
            labels=["priority", "sla", "state"],
        )
        for priority in PRIORITIES:
            for sla in SLAS:
                for state in RUNNING_STATES:
                    running.add_metric([priority, sla, state],
                                       counts.get((priority, sla, state), 0))  # fmt: skip
        yield running
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
