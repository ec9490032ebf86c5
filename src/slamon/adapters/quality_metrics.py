"""Service-quality metrics (docs/metrics.md): resolutions, reopens, CSAT, complaints and
tickets by quality state. :class:`~slamon.adapters.metrics.SlaMetrics` inherits them, so
the worker keeps one metrics object and one hot-path call per update."""

from __future__ import annotations

import math
from collections.abc import Container, Iterator

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from slamon.adapters.metric_series import PlainHistogram, RegionLabels, Where
from slamon.core.engine import Ticket
from slamon.core.policy import SLAS

CSAT_BUCKETS = (*(float(score) for score in range(1, 11)), math.inf)
FTF_VALUES = {True: "yes", False: "no", None: "unknown"}
# The quality states a ticket counts in (docs/metrics.md, "Tickets by quality state"): bit i
# of a mask for TICKET_STATES[i]. Each is a subset of "ticket" (created, not cancelled).
TICKET_STATES = ("ticket", "resolved", "resolved_within_target", "complained",
                 "complaints_resolved")  # fmt: skip
# The states of resolved tickets with an asset, counted by the asset agent (worker/assets.py):
# bit i of its masks for ASSET_STATES[i]; "repeat_failure" is within "resolved_with_asset".
ASSET_STATES = ("resolved_with_asset", "repeat_failure")
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


class QualityMetrics:
    """The quality counters and histograms, by (priority, service, region) unless named."""

    def __init__(self, categories: frozenset[str], region: RegionLabels) -> None:
        self.resolutions: dict[tuple[str, str, str, str], int] = {}  # + first_time_fix
        self.reopens: dict[tuple[str, str, str], int] = {}
        self.csat: dict[tuple[str, str, str], PlainHistogram] = {}
        self.complaints: dict[tuple[str, str, str, str], int] = {}  # + event filed/resolved
        # CSAT by product category: the policy's baseline categories, else "other"/"none"
        self.csat_category: dict[str, PlainHistogram] = {}
        # tickets by quality state: the state each held ticket was last counted in, and
        # counters of tickets entering / leaving each (state, priority, service, region)
        self.ticket_states: dict[str, TicketState] = {}
        self._interned: dict[TicketState, TicketState] = {}  # one tuple per distinct state
        self.states_entered: dict[tuple[str, str, str, str], int] = {}
        self.states_left: dict[tuple[str, str, str, str], int] = {}
        self.categories = categories
        self.region = region

    # -- updates (hot path) ------------------------------------------------------------
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
            histogram = self.csat[key] = PlainHistogram(CSAT_BUCKETS)
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
            histogram = self.csat_category[label] = PlainHistogram(CSAT_BUCKETS)
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

    def move_asset_states(self, old: TicketState | None, new: TicketState | None) -> None:
        """Count a ticket's move between :data:`ASSET_STATES` (masks over them), from ``old``
        to ``new`` (None or mask 0: in none); labels as in :meth:`track`."""
        if old == new:
            return
        if old is not None and new is not None and old[:3] == new[:3]:
            self._count_asset(self.states_left, old, old[3] & ~new[3])
            self._count_asset(self.states_entered, new, new[3] & ~old[3])
            return
        if old is not None:
            self._count_asset(self.states_left, old, old[3])
        if new is not None:
            self._count_asset(self.states_entered, new, new[3])

    def _count_asset(self, counts: dict[tuple[str, str, str, str], int], at: TicketState,
                     mask: int) -> None:  # fmt: skip
        for index, state in enumerate(ASSET_STATES):
            if mask & (1 << index):
                key = (state, at[0], at[1], at[2])
                counts[key] = counts.get(key, 0) + 1
                self.states_left.setdefault(key, 0)

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

    # -- scrape ------------------------------------------------------------------------
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
                   "complained, complaints_resolved, resolved_with_asset, "
                   "repeat_failure).")  # fmt: skip
        left = "Tickets leaving a quality state; entered - left is the number of tickets in it."
        for name, text, counts in (
            ("slamon_quality_tickets_entered", entered, self.states_entered),
            ("slamon_quality_tickets_left", left, self.states_left),
        ):
            family = CounterMetricFamily(name, text, labels=labels)
            for key, count in sorted(counts.items()):
                family.add_metric(list(key), count)
            yield family
