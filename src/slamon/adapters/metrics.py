"""Prometheus metrics: counters and histograms updated by the worker, gauges read at scrape.

Everything goes to an injected registry (tests use their own). Labels are bounded
sets (priority, SLA, service, capped region, alert type, status, partition): never
ticket, technician or customer ids; duration observations carry the ticket id as an
OpenMetrics exemplar instead (docs/metrics.md).
"""

from __future__ import annotations

import asyncio
import math
from bisect import bisect_left
from collections.abc import Callable, Container, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.samples import Exemplar
from prometheus_client.utils import floatToGoString

from slamon.core.decisions import Alert, AlertType, Outcome, Status
from slamon.core.engine import Engine, Ticket
from slamon.core.live import RUNNING_STATES, tally_running
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.timefmt import NS_PER_S

EXEMPLAR_MAX_CHARS = 128  # OpenMetrics: label names and values of one exemplar
DELAY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 60.0)


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


class _Histogram:
    """Cumulative-at-scrape buckets over plain ints: no lock, one bisect per observation.

    Keeps the latest exemplar of each bucket (OpenMetrics shows them; text 0.0.4 does not).
    """

    __slots__ = ("counts", "edges", "exemplars", "total")

    def __init__(self, edges: tuple[float, ...]) -> None:
        self.edges = edges  # ends with +Inf
        self.counts = [0] * len(edges)
        self.total = 0.0
        self.exemplars: list[Exemplar | None] = [None] * len(edges)

    def observe(self, value: float, exemplar: dict[str, str] | None = None) -> None:
        index = bisect_left(self.edges, value)
        self.counts[index] += 1
        self.total += value
        if exemplar is not None:
            self.exemplars[index] = Exemplar(exemplar, value)

    def buckets(self) -> list[tuple[str, float] | tuple[str, float, Exemplar]]:
        out: list[tuple[str, float] | tuple[str, float, Exemplar]] = []
        running = 0
        for edge, count, exemplar in zip(self.edges, self.counts, self.exemplars, strict=True):
            running += count
            le = str(floatToGoString(edge))  # type: ignore[no-untyped-call]
            out.append((le, float(running)) if exemplar is None else (le, float(running), exemplar))
        return out


def ticket_exemplar(ticket_id: str) -> dict[str, str] | None:
    """The exemplar labels linking an observation to its ticket; None when the id is longer
    than OpenMetrics allows (128 characters of label names and values): never cut an id."""
    return {"ticket_id": ticket_id} if len(ticket_id) + 9 <= EXEMPLAR_MAX_CHARS else None


class RegionLabels:
    """Region label values, capped: the first ``limit`` distinct regions, then ``other``.

    Regions are free strings from the publishers; a typo per ticket must not create a
    series per ticket.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.known: set[str] = set()

    def __call__(self, region: str | None) -> str:
        if region is None or region == "":
            return "none"
        if region in self.known:
            return region
        if len(self.known) < self.limit:
            self.known.add(region)
            return region
        return "other"


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
CSAT_BUCKETS = (*(float(score) for score in range(1, 11)), math.inf)
FTF_VALUES = {True: "yes", False: "no", None: "unknown"}
Where = tuple[str, str]  # (service, region) label values
# The quality states a ticket counts in (docs/metrics.md, "Tickets by quality state"): bit i
# of a mask for TICKET_STATES[i]. Each is a subset of "ticket" (created, not cancelled).
TICKET_STATES = ("ticket", "resolved", "resolved_within_target", "complained",
                 "complaints_resolved")  # fmt: skip
_RESOLUTION_BIT = 1 << SLAS.index("resolution")  # in Ticket.standing
TicketState = tuple[str, str, str, int]  # (priority, service, region label, mask)
_STATES_OF = tuple(
    tuple(state for index, state in enumerate(TICKET_STATES) if mask & (1 << index))
    for mask in range(1 << len(TICKET_STATES))
)  # the states of each mask


def ticket_state_mask(ticket: Ticket) -> int:
    """The mask of :data:`TICKET_STATES` a ticket is in, from what the engine holds (O(1)).

    ``resolved``: its last applied resolve/reopen is a resolve (its resolution clock is
    stopped); ``resolved_within_target``: and no breach of the resolution SLA stands (for a
    stopped clock the engine's standing breach is "elapsed > target"); ``complained``: at
    least one complaint filed; ``complaints_resolved``: and as many resolved.
    """
    fold = ticket.fold
    if fold.created_at is None or fold.cancelled_at is not None:
        return 0
    mask = 1
    if fold.resolved:
        mask |= 2 if ticket.standing & _RESOLUTION_BIT else 6
    filed = fold.complaints_filed
    if filed:
        mask |= 24 if fold.complaints_resolved >= filed else 8
    return mask


class SlaMetrics(Collector):
    """The worker's counters and histograms, exposed through ``collect()``.

    The worker's event loop is the only writer, so plain ints do: prometheus_client's
    Counter takes a lock per increment, which costs more than the rest of the bookkeeping.
    """

    EVENT_RESULTS = ("processed", "invalid", "duplicate", "late", "error")

    def __init__(
        self, registry: CollectorRegistry, policy: SlaPolicy, max_regions: int = 50
    ) -> None:
        self.event_counts = dict.fromkeys(self.EVENT_RESULTS, 0)
        self.dead_letters = dict.fromkeys(DEAD_LETTER_CLASSES, 0)
        self.alert_counts: dict[tuple[str, str, str], int] = {}
        self.outcome_counts: dict[tuple[str, str, str], int] = {}
        # the SLI, by (priority, sla, service, region)
        self.breaches: dict[tuple[str, str, str, str], int] = {}
        self.retractions: dict[tuple[str, str, str, str], int] = {}
        self.met: dict[tuple[str, str, str, str], int] = {}
        # quality, by (priority, service, region)
        self.resolutions: dict[tuple[str, str, str, str], int] = {}  # + first_time_fix
        self.reopens: dict[tuple[str, str, str], int] = {}
        self.csat: dict[tuple[str, str, str], _Histogram] = {}
        self.complaints: dict[tuple[str, str, str, str], int] = {}  # + event filed/resolved
        # CSAT by product category: the policy's baseline categories, else "other"/"none"
        self.csat_category: dict[str, _Histogram] = {}
        # tickets by quality state: the state each held ticket was last counted in, and
        # counters of tickets entering / leaving each (state, priority, service, region)
        self.ticket_states: dict[str, TicketState] = {}
        self._interned: dict[TicketState, TicketState] = {}  # one tuple per distinct state
        self.states_entered: dict[tuple[str, str, str, str], int] = {}
        self.states_left: dict[tuple[str, str, str, str], int] = {}
        self.categories = frozenset(policy.quality.csat_baselines)
        self.durations = {
            sla: {p: _Histogram(sla_buckets(policy, sla)) for p in PRIORITIES} for sla in SLAS
        }
        self.delays: dict[tuple[str, str], _Histogram] = {}  # (type, found_by)
        self.region = RegionLabels(max_regions)
        self.last_event_s = 0.0
        self.is_ready = 0
        self.recoveries = 0
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
            histogram = self.delays[(alert.type, found_by)] = _Histogram((*DELAY_BUCKETS, math.inf))
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

    def resolution(self, priority: str, where: Where, first_time_fix: bool | None) -> None:
        key = (priority, *where, FTF_VALUES[first_time_fix])
        self.resolutions[key] = self.resolutions.get(key, 0) + 1

    def reopen(self, priority: str, where: Where) -> None:
        key = (priority, *where)
        self.reopens[key] = self.reopens.get(key, 0) + 1

    def survey(self, priority: str, where: Where, score: int) -> None:
        key = (priority, *where)
        histogram = self.csat.get(key)
        if histogram is None:
            histogram = self.csat[key] = _Histogram(CSAT_BUCKETS)
        histogram.observe(float(score))

    def complaint(self, priority: str, where: Where, event: str) -> None:
        """A complaint event: ``event`` is ``filed`` or ``resolved``."""
        key = (priority, *where, event)
        self.complaints[key] = self.complaints.get(key, 0) + 1

    def survey_category(self, category: str | None, score: int) -> None:
        """A survey score by the ticket's product category (a bounded label)."""
        label = "none" if category is None else category if category in self.categories else "other"
        histogram = self.csat_category.get(label)
        if histogram is None:
            histogram = self.csat_category[label] = _Histogram(CSAT_BUCKETS)
        histogram.observe(float(score))

    def track(self, ticket: Ticket) -> None:
        """Count the ticket's moves between quality states since it was last tracked: call
        it after anything that may change a ticket (O(1): a mask, a lookup, a few adds).

        A ticket whose priority, service or region changes leaves its states under the old
        labels and enters them under the new ones, so sums over labels stay exact.
        """
        mask = ticket_state_mask(ticket)
        old = self.ticket_states.get(ticket.id)
        if not mask:
            if old is not None:
                del self.ticket_states[ticket.id]
                self._count(self.states_left, old, old[3])
            return
        fold = ticket.fold
        new = (fold.priority, fold.service, self.region(fold.region), mask)
        if new == old:
            return
        new = self._interned.setdefault(new, new)
        self.ticket_states[ticket.id] = new
        if old is None:
            self._count(self.states_entered, new, mask)
        elif old[:3] == new[:3]:
            self._count(self.states_left, old, old[3] & ~mask)
            self._count(self.states_entered, new, mask & ~old[3])
        else:
            self._count(self.states_left, old, old[3])
            self._count(self.states_entered, new, mask)

    def _count(self, counts: dict[tuple[str, str, str, str], int], at: TicketState,
               mask: int) -> None:  # fmt: skip
        left = self.states_left
        for state in _STATES_OF[mask]:
            key = (state, at[0], at[1], at[2])
            counts[key] = counts.get(key, 0) + 1
            if counts is not left:  # both series exist: entered - left needs no "or"
                left.setdefault(key, 0)

    def hold(self, ticket: Ticket) -> None:
        """Take a restored ticket's states as already counted (by this worker before a
        restart, or by the partition's previous owner): no counter moves."""
        mask = ticket_state_mask(ticket)
        if mask:
            fold = ticket.fold
            state = (fold.priority, fold.service, self.region(fold.region), mask)
            self.ticket_states[ticket.id] = self._interned.setdefault(state, state)
        else:
            self.ticket_states.pop(ticket.id, None)

    def forget(self, ticket_id: str) -> None:
        """An expired ticket: it keeps counting in the states it was last counted in."""
        self.ticket_states.pop(ticket_id, None)

    def retain(self, ticket_ids: Container[str]) -> None:
        """Forget (without counting) tickets no longer held, e.g. of revoked partitions."""
        for ticket_id in [t for t in self.ticket_states if t not in ticket_ids]:
            del self.ticket_states[ticket_id]

    def last_event(self, event_time: int) -> None:
        self.last_event_s = max(self.last_event_s, event_time / NS_PER_S)

    def ready(self, ready: bool) -> None:
        self.is_ready = int(ready)

    def recovered(self) -> None:
        self.recoveries += 1

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

    def _quality(self) -> Iterator[Metric]:
        where = ["priority", "service", "region"]
        resolutions = CounterMetricFamily(
            "slamon_resolutions", "Resolve events, by their first-time-fix flag.",
            labels=[*where, "first_time_fix"],
        )  # fmt: skip
        for key, count in sorted(self.resolutions.items()):
            resolutions.add_metric(list(key), count)
        yield resolutions
        reopens = CounterMetricFamily("slamon_reopens", "Reopen events.", labels=where)
        for where_key, count in sorted(self.reopens.items()):
            reopens.add_metric(list(where_key), count)
        yield reopens
        csat = HistogramMetricFamily("slamon_csat_score", "Customer satisfaction survey "
                                     "scores (1..10).", labels=where)  # fmt: skip
        for where_key, histogram in sorted(self.csat.items()):
            csat.add_metric(list(where_key), histogram.buckets(), histogram.total)
        yield csat
        complaints = CounterMetricFamily("slamon_complaints", "Complaint events (filed, "
                                         "resolved).", labels=[*where, "event"])  # fmt: skip
        for key, count in sorted(self.complaints.items()):
            complaints.add_metric(list(key), count)
        yield complaints
        by_category = HistogramMetricFamily(
            "slamon_csat_category_score", "Survey scores (1..10) by product category: the "
            "policy's baseline categories, other, none.", labels=["product_category"],
        )  # fmt: skip
        for category, histogram in sorted(self.csat_category.items()):
            by_category.add_metric([category], histogram.buckets(), histogram.total)
        yield by_category
        labels = ["state", *where]
        entered = ("Tickets entering a quality state (ticket, resolved, resolved_within_target, "
                   "complained, complaints_resolved).")  # fmt: skip
        left = "Tickets leaving a quality state; entered - left is the number of tickets in it."
        for name, text, counts in (
            ("slamon_quality_tickets_entered", entered, self.states_entered),
            ("slamon_quality_tickets_left", left, self.states_left),
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
