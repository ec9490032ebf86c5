"""A worker's /metrics text as the figures the board shows, per priority and SLA.

Only metrics the worker already exports are read (docs/operations.md lists them);
what they lack (durations of the resolution SLA, the alerts themselves) the board takes
from the output topics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from slamon.core.decisions import AlertType, Status

Pair = tuple[str, str]  # (priority, SLA)


@dataclass(frozen=True)
class Snapshot:
    """One scrape. Counters count since the worker started."""

    taken_at: float  # monotonic seconds, for rates between two scrapes
    open: dict[Pair, int] = field(default_factory=dict)
    at_risk: dict[Pair, int] = field(default_factory=dict)
    breached: dict[Pair, int] = field(default_factory=dict)  # breach alerts net of retractions
    met_final: dict[Pair, int] = field(default_factory=dict)  # final outcomes, met
    breached_final: dict[Pair, int] = field(default_factory=dict)  # final outcomes, breached
    judged_met: dict[Pair, int] = field(default_factory=dict)  # the SLI: slamon_sla_met_total
    judged_breached: dict[Pair, int] = field(default_factory=dict)  # breaches - retractions
    records: int = 0  # input records handled, whatever the result
    lag: int = 0
    tickets: int = 0
    ready: bool = False

    def compliance(self, pair: Pair) -> float | None:
        """met / (met + breaches - retractions), the rules' and boards' SLI (a breach counts
        the moment it happens); from final outcomes for a worker without those counters.
        None before the first SLA is judged."""
        if self.judged_met or self.judged_breached:
            met, breached = self.judged_met.get(pair, 0), self.judged_breached.get(pair, 0)
        else:
            met, breached = self.met_final.get(pair, 0), self.breached_final.get(pair, 0)
        return met / (met + breached) if met + breached > 0 else None

    def total(self, figure: dict[Pair, int]) -> int:
        return sum(figure.values())


def parse_metrics(text: str, taken_at: float) -> Snapshot:
    """The board's figures from Prometheus text; metrics it does not know are ignored.

    Raises ``ValueError`` when ``text`` is not Prometheus text.
    """
    figures = ("open", "at_risk", "breached", "met_final", "breached_final", "judged_met",
               "judged_breached")  # fmt: skip
    by_pair: dict[str, dict[Pair, int]] = {name: {} for name in figures}
    gauges = {"slamon_open_tickets": "open", "slamon_at_risk_tickets": "at_risk"}
    alert_sign: dict[str, int] = {AlertType.BREACHED: 1, AlertType.RETRACTED: -1}
    finals: dict[str, str] = {Status.MET: "met_final", Status.BREACHED: "breached_final"}
    totals = dict.fromkeys(("slamon_events_total", "slamon_consumer_lag",
                            "slamon_tickets_in_memory", "slamon_ready"), 0.0)  # fmt: skip

    def add(figure: str, pair: Pair, value: float) -> None:
        by_pair[figure][pair] = by_pair[figure].get(pair, 0) + int(value)

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            pair = (labels.get("priority", ""), labels.get("sla", ""))
            if name in gauges:
                add(gauges[name], pair, sample.value)
            elif name == "slamon_running_clocks":  # the two gauges above, by state
                add("open", pair, sample.value)
                if labels.get("state") == "at_risk":
                    add("at_risk", pair, sample.value)
            elif name == "slamon_sla_met_total":
                add("judged_met", pair, sample.value)
            elif name == "slamon_sla_breaches_total":
                add("judged_breached", pair, sample.value)
            elif name == "slamon_sla_breach_retractions_total":
                add("judged_breached", pair, -sample.value)
            elif name == "slamon_alerts_total" and labels.get("type") in alert_sign:
                add("breached", pair, alert_sign[labels["type"]] * sample.value)
            elif name == "slamon_outcomes_total" and labels.get("status") in finals:
                add(finals[labels["status"]], pair, sample.value)
            elif name in totals:
                totals[name] += sample.value
    return Snapshot(
        taken_at, **by_pair,
        records=int(totals["slamon_events_total"]), lag=int(totals["slamon_consumer_lag"]),
        tickets=int(totals["slamon_tickets_in_memory"]), ready=bool(totals["slamon_ready"]),
    )  # fmt: skip


def records_per_s(before: Snapshot | None, after: Snapshot) -> float | None:
    """Input records a second between two scrapes; None without two (or after a restart)."""
    if before is None or after.taken_at <= before.taken_at or after.records < before.records:
        return None
    return (after.records - before.records) / (after.taken_at - before.taken_at)
