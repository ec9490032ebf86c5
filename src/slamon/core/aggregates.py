"""Aggregates over outcomes: SLA compliance per priority and the quality figures.

Each aggregator follows ``add`` / ``result``. Percentiles are exact nearest-rank
(rank = ceil(p * n)) over the stopped SLAs: replay holds every value anyway, and
exact beats a sketch when the report is the reference answer.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from slamon.core.decisions import Outcome, Status
from slamon.core.policy import PRIORITIES, SLAS
from slamon.core.tickets import TicketFold
from slamon.core.timefmt import ns_to_seconds

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


class QualityStats:
    """First-time fix, reopen and satisfaction figures over non-cancelled tickets."""

    __slots__ = ("ftf_flagged", "ftf_true", "reopened", "resolved", "survey_count", "survey_sum")

    def __init__(self) -> None:
        self.ftf_flagged = 0
        self.ftf_true = 0
        self.resolved = 0
        self.reopened = 0
        self.survey_sum = 0
        self.survey_count = 0

    def add(self, fold: TicketFold) -> None:
        if fold.created_at is None or fold.cancelled_at is not None:
            return
        if fold.ever_resolved:
            self.resolved += 1
            self.reopened += fold.ever_reopened
            if fold.last_ftf is not None:
                self.ftf_flagged += 1
                self.ftf_true += fold.last_ftf
        self.survey_sum += fold.survey_sum
        self.survey_count += fold.survey_count

    def result(self) -> dict[str, Any]:
        return {
            "first_time_fix_rate": self.ftf_true / self.ftf_flagged if self.ftf_flagged else None,
            "reopen_rate": self.reopened / self.resolved if self.resolved else None,
            "csat_mean": self.survey_sum / self.survey_count if self.survey_count else None,
            "csat_count": self.survey_count,
        }


def sla_table(outcomes: Iterable[Outcome]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per final priority and SLA; not_applicable and cancelled pairs are left out."""
    stats = {p: {sla: SlaStats() for sla in SLAS} for p in PRIORITIES}
    for outcome in outcomes:
        if outcome.status not in _VOID:
            stats[outcome.priority][outcome.sla].add(outcome)
    return {p: {sla: s.result() for sla, s in row.items()} for p, row in stats.items()}


def quality_figures(folds: Iterable[TicketFold]) -> dict[str, Any]:
    quality = QualityStats()
    for fold in folds:
        quality.add(fold)
    return quality.result()
