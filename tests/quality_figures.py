"""Replay's quality figures from the worker's ``/metrics`` text, by docs/metrics.md's
formulas ("Tickets by quality state"), for the unit and the integration tests.

Each figure is a ratio of two states' ticket counts, and a state S's count is
``sum(slamon_quality_tickets_entered_total{state=S})``
``- sum(slamon_quality_tickets_left_total{state=S})`` over every label and worker (what the
documented PromQL does with the scraped samples).
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

# figure -> (numerator state, denominator state), as docs/metrics.md writes them
FORMULAS = {
    "repair_rate": ("resolved", "ticket"),
    "completion_rate": ("resolved_within_target", "resolved"),
    "complaint_rate": ("complained", "ticket"),
    "complaint_resolution_rate": ("complaints_resolved", "complained"),
}
# the asset agent's (worker/assets.py): in figures(), apart, since a log may have no repeat
REPEAT = {"repeat_failure_rate": ("repeat_failure", "resolved_with_asset")}


def state_counts(*texts: str) -> dict[str, float]:
    """``{state: entered - left}`` summed over priority, service, region and every worker's
    ``/metrics`` text (fleet-wide, as ``sum`` in Prometheus)."""
    counts: dict[str, float] = {}
    signs = {"slamon_quality_tickets_entered_total": 1, "slamon_quality_tickets_left_total": -1}
    for text in texts:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                sign = signs.get(sample.name)
                if sign is not None:
                    state = sample.labels["state"]
                    counts[state] = counts.get(state, 0.0) + sign * sample.value
    return counts


def figures(*texts: str) -> dict[str, float | None]:
    """The four figures, the repeat failure rate and ``tickets`` (a figure is None when its
    denominator is 0, as in replay's report), over every worker's ``/metrics`` text."""
    counts = state_counts(*texts)
    out: dict[str, float | None] = {}
    for name, (part, whole) in {**FORMULAS, **REPEAT}.items():
        denominator = counts.get(whole, 0.0)
        out[name] = counts.get(part, 0.0) / denominator if denominator else None
    out["tickets"] = counts.get("ticket", 0.0)
    return out
