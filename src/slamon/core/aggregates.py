"""Aggregates over outcomes: SLA compliance per priority and the quality figures.

Each aggregator follows ``add`` / ``result``. Percentiles are exact nearest-rank
(rank = ceil(p * n)) over the stopped SLAs: replay holds every value anyway, and
exact beats a sketch when the report is the reference answer.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from slamon.core.decisions import Outcome, Status
from slamon.core.policy import PRIORITIES, SLAS, QualityPolicy
from slamon.core.tickets import TicketFold
from slamon.core.timefmt import ns_to_seconds

NONE = "(none)"  # the breakdown value of a ticket without the attribute
DIMENSIONS = ("region", "service", "customer_tier", "product_category", "technician", "terms")
# the standard's targets (docs/standard.md): repair rate above 90%
STANDARD_TARGETS = {"repair_rate": 0.90}
_RESOLUTION = SLAS[2]
PERCENTILES = (("p50_seconds", 0.50), ("p80_seconds", 0.80), ("p95_seconds", 0.95))
_VOID = (Status.NOT_APPLICABLE, Status.CANCELLED)  # pairs no SLA figure counts
# members bound once: an enum member lookup costs ~100 ns on Python 3.11, a global ~10 ns
_STATUS_MET, _STATUS_BREACHED, _STATUS_OPEN = Status.MET, Status.BREACHED, Status.OPEN


def nearest_rank(sorted_values: list[int], p: float) -> int:
    """The nearest-rank percentile of an ascending list (rank = ceil(p * n), 1-based)."""
    rank = max(1, math.ceil(p * len(sorted_values)))
    return sorted_values[rank - 1]


class SlaStats:
    """Counts and stopped-clock durations of one (priority, SLA)."""

    __slots__ = ("breached", "durations", "met", "open")

    def __init__(self) -> None:
        self.met = 0
        self.breached = 0
        self.open = 0
        self.durations: list[int] = []

    def add(self, outcome: Outcome) -> None:
        status = outcome.status
        if status == _STATUS_MET:
            self.met += 1
        elif status == _STATUS_BREACHED:
            self.breached += 1
        elif status == _STATUS_OPEN:
            self.open += 1
        if outcome.measured:
            self.durations.append(outcome.elapsed_ns)

    def result(self) -> dict[str, Any]:
        decided = self.met + self.breached
        values = sorted(self.durations)
        result: dict[str, Any] = {
            "count": decided + self.open,
            "met": self.met,
            "breached": self.breached,
            "open": self.open,
            "compliance": self.met / decided if decided else None,
            "mean_seconds": ns_to_seconds(sum(values)) / len(values) if values else None,
        }
        for key, p in PERCENTILES:
            result[key] = ns_to_seconds(nearest_rank(values, p)) if values else None
        return result


def counted(fold: TicketFold) -> bool:
    """A ticket every quality figure counts: created (at or before T) and not cancelled."""
    return fold.created_at is not None and fold.cancelled_at is None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class QualityStats:
    """The quality figures over non-cancelled tickets (docs/contract.md, "Quality").

    ``add`` takes a ticket's fold, its resolution outcome and whether it is a repeat
    failure (``None``: not a resolved ticket with an asset), see :func:`repeat_failures`.
    """

    __slots__ = (
        "asset_resolved", "complained", "complaints_settled", "csat", "ftf_flagged", "ftf_true",
        "reopened", "repeats", "res_met", "res_stopped", "resolved", "resolved_now",
        "survey_count", "survey_sum", "tickets",
    )  # fmt: skip

    def __init__(self) -> None:
        self.ftf_flagged = 0
        self.ftf_true = 0
        self.resolved = 0
        self.reopened = 0
        self.survey_sum = 0
        self.survey_count = 0
        self.tickets = 0
        self.resolved_now = 0
        self.res_stopped = 0
        self.res_met = 0
        self.asset_resolved = 0
        self.repeats = 0
        self.complained = 0
        self.complaints_settled = 0
        self.csat: dict[str, list[int]] = {}  # product category -> [score sum, count]

    def add(
        self, fold: TicketFold, resolution: Outcome | None = None, repeat: bool | None = None
    ) -> None:
        if not counted(fold):
            return
        self.tickets += 1
        self.resolved_now += fold.resolved
        if fold.ever_resolved:
            self.resolved += 1
            self.reopened += fold.ever_reopened
            if fold.last_ftf is not None:
                self.ftf_flagged += 1
                self.ftf_true += fold.last_ftf
        if resolution is not None and resolution.measured:
            self.res_stopped += 1
            self.res_met += resolution.status == _STATUS_MET
        if repeat is not None:
            self.asset_resolved += 1
            self.repeats += repeat
        if fold.complaints_filed:
            self.complained += 1
            self.complaints_settled += fold.complaints_resolved >= fold.complaints_filed
        self.survey_sum += fold.survey_sum
        self.survey_count += fold.survey_count
        category = NONE if fold.product_category is None else fold.product_category
        cell = self.csat.setdefault(category, [0, 0])
        cell[0] += fold.survey_sum
        cell[1] += fold.survey_count

    def result(self, baselines: Mapping[str, float] | None = None) -> dict[str, Any]:
        baselines = {} if baselines is None else baselines
        by_category = {}
        for category in sorted({*self.csat, *baselines}):
            total, count = self.csat.get(category, (0, 0))
            mean = total / count if count else None
            baseline = baselines.get(category)
            gap = None if mean is None or baseline is None else mean - baseline
            by_category[category] = {"mean": mean, "count": count, "baseline": baseline,
                                     "gap": gap}  # fmt: skip
        return {
            "first_time_fix_rate": _rate(self.ftf_true, self.ftf_flagged),
            "reopen_rate": _rate(self.reopened, self.resolved),
            "csat_mean": self.survey_sum / self.survey_count if self.survey_count else None,
            "csat_count": self.survey_count,
            "tickets": self.tickets,
            "repair_rate": _rate(self.resolved_now, self.tickets),
            "completion_rate": _rate(self.res_met, self.res_stopped),
            "repeat_failure_rate": _rate(self.repeats, self.asset_resolved),
            "complaint_rate": _rate(self.complained, self.tickets),
            "complaint_resolution_rate": _rate(self.complaints_settled, self.complained),
            "csat_by_category": by_category,
        }


def repeat_failures(folds: Mapping[str, TicketFold], window_ns: int) -> dict[str, bool]:
    """Per counted ticket resolved at least once with an ``asset_id``: whether another
    counted ticket of the same asset was created in ``(r, r + window]``, ``r`` the instant
    the ticket last became resolved. A reopen of the ticket itself is not one."""
    created: dict[str, list[int]] = {}
    for fold in folds.values():
        if counted(fold) and fold.asset_id is not None and fold.created_at is not None:
            created.setdefault(fold.asset_id, []).append(fold.created_at)
    for times in created.values():
        times.sort()
    found: dict[str, bool] = {}
    for ticket_id, fold in folds.items():
        resolved_at = fold.resolved_at
        if not counted(fold) or fold.asset_id is None or resolved_at is None:
            continue
        times = created[fold.asset_id]
        after = bisect_right(times, resolved_at)  # the ticket's own creation is <= r
        found[ticket_id] = after < len(times) and times[after] <= resolved_at + window_ns
    return found


def dimension_value(fold: TicketFold, dimension: str, terms: Sequence[str] = ()) -> str:
    """The ticket's value of a breakdown dimension; :data:`NONE` when it has none.
    ``terms``: the policy's terms names, for the ``terms`` dimension."""
    if dimension == "terms":
        return terms[fold.terms] if 0 <= fold.terms < len(terms) else NONE
    value = fold.technician() if dimension == "technician" else getattr(fold, dimension)
    return NONE if value is None else str(value)


def sla_table(outcomes: Iterable[Outcome]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per final priority and SLA; not_applicable and cancelled pairs are left out."""
    stats = {p: {sla: SlaStats() for sla in SLAS} for p in PRIORITIES}
    for outcome in outcomes:
        if outcome.status not in _VOID:
            stats[outcome.priority][outcome.sla].add(outcome)
    return {p: {sla: s.result() for sla, s in row.items()} for p, row in stats.items()}


def quality_figures(
    folds: Mapping[str, TicketFold],
    outcomes: Iterable[Outcome] = (),
    quality: QualityPolicy | None = None,
) -> dict[str, Any]:
    """The report's ``quality`` block over every ticket (``folds`` by ticket id)."""
    return breakdowns(folds, outcomes, quality, ())[0]


def breakdowns(
    folds: Mapping[str, TicketFold],
    outcomes: Iterable[Outcome],
    quality: QualityPolicy | None,
    dimensions: Iterable[str],
    terms: Sequence[str] = (),
) -> tuple[dict[str, Any], dict[str, dict[str, dict[str, Any]]]]:
    """``(quality over every ticket, {dimension: {value: {slas, quality}}})``.

    A ticket without the attribute counts under :data:`NONE`; a repeat failure is looked
    for among every ticket, whatever group the resolved one is in.
    """
    quality = QualityPolicy() if quality is None else quality
    dims = tuple(dict.fromkeys(dimensions))
    for dim in dims:
        if dim not in DIMENSIONS:
            raise ValueError(f"unknown dimension {dim!r} (expected one of {', '.join(DIMENSIONS)})")
    repeats = repeat_failures(folds, quality.repeat_window_ns)
    by_ticket: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_ticket.setdefault(outcome.ticket_id, []).append(outcome)
    total_q = QualityStats()
    groups: dict[str, dict[str, tuple[list[Outcome], QualityStats]]] = {d: {} for d in dims}
    for ticket_id, fold in folds.items():
        if fold.created_at is None:
            continue
        pairs = by_ticket.get(ticket_id, [])
        resolution = next((o for o in pairs if o.sla == _RESOLUTION), None)
        repeat = repeats.get(ticket_id)
        total_q.add(fold, resolution, repeat)
        for dim in dims:
            group = groups[dim].get(dimension_value(fold, dim, terms))
            if group is None:
                group = groups[dim][dimension_value(fold, dim, terms)] = ([], QualityStats())
            group[0].extend(pairs)
            group[1].add(fold, resolution, repeat)
    baselines = quality.csat_baselines
    split = {
        dim: {value: {"slas": sla_table(pairs), "quality": stats.result(baselines)}
              for value, (pairs, stats) in sorted(values.items())}
        for dim, values in groups.items()
    }  # fmt: skip
    return total_q.result(baselines), split
