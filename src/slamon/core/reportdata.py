"""The figures of the HTML report (``slamon report``) beyond the replay report's.

Pure functions over a replay's outcomes and folds (docs/contract.md, "HTML report"):
compliance per creation day and priority, stopped-clock durations against their target,
and the tickets furthest past a target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from slamon.core.decisions import Outcome, Status
from slamon.core.policy import PRIORITIES, SLAS
from slamon.core.tickets import TicketFold
from slamon.core.timefmt import format_rfc3339

NS_PER_DAY = 86_400 * 10**9
# elapsed / target of a stopped clock; the 100% edge is the target
SHARE_EDGES = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
SHARE_LABELS = ("<=25%", "25-50%", "50-75%", "75-100%", "100-150%", "150-200%", ">200%")


def daily_compliance(
    outcomes: Iterable[Outcome], folds: Mapping[str, TicketFold]
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{day: {priority: {met, breached, compliance}}}``: per UTC day of the ticket's
    creation and final priority, over every SLA of its tickets (met / (met + breached),
    null when neither); days in order, every priority present."""
    cells: dict[str, dict[str, list[int]]] = {}
    for outcome in outcomes:
        if outcome.status not in (Status.MET, Status.BREACHED):
            continue
        created = folds[outcome.ticket_id].created_at
        if created is None:
            continue
        day = format_rfc3339(created - created % NS_PER_DAY)[:10]
        row = cells.setdefault(day, {p: [0, 0] for p in PRIORITIES})
        row[outcome.priority][outcome.status != Status.MET] += 1
    return {
        day: {p: {"met": met, "breached": breached,
                  "compliance": met / (met + breached) if met + breached else None}
              for p, (met, breached) in row.items()}
        for day, row in sorted(cells.items())
    }  # fmt: skip


def target_shares(outcomes: Iterable[Outcome], sla: str) -> dict[str, list[int]]:
    """Per final priority, how many stopped clocks of ``sla`` took each share of their
    target (:data:`SHARE_LABELS`; a share exactly on an edge is in the lower bucket)."""
    counts = {p: [0] * len(SHARE_LABELS) for p in PRIORITIES}
    for outcome in outcomes:
        if outcome.sla != sla or not outcome.measured:
            continue
        share = outcome.elapsed_ns / outcome.target_ns
        bucket = next((i for i, edge in enumerate(SHARE_EDGES) if share <= edge),
                      len(SHARE_EDGES))  # fmt: skip
        counts[outcome.priority][bucket] += 1
    return counts


def top_breaches(outcomes: Iterable[Outcome], limit: int = 10) -> list[Outcome]:
    """The breached pairs furthest past their target (elapsed - target), largest first;
    ties by ticket id and SLA order."""
    order = {sla: i for i, sla in enumerate(SLAS)}
    breached = [o for o in outcomes if o.status == Status.BREACHED]
    breached.sort(key=lambda o: (o.target_ns - o.elapsed_ns, o.ticket_id, order[o.sla]))
    return breached[:limit]


def overall_compliance(
    slas: Mapping[str, Mapping[str, Mapping[str, Any]]], sla: str
) -> float | None:
    """One SLA's compliance over every priority of a report's ``slas`` block."""
    met = sum(slas[p][sla]["met"] for p in PRIORITIES)
    decided = met + sum(slas[p][sla]["breached"] for p in PRIORITIES)
    return met / decided if decided else None
