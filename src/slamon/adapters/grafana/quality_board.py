"""The quality board: first-time fix, reopens, CSAT, complaints, completion within SLA."""

from __future__ import annotations

from slamon.adapters.grafana.panels import (
    Json,
    Query,
    dashboard,
    default_options,
    panel,
    row,
    series_threshold,
    thresholds,
)
from slamon.adapters.grafana.queries import (
    RANGE,
    RATE,
    WHERE,
    WINDOW,
    compliance,
    mean,
    ratio,
    summed,
)
from slamon.core.durations import format_duration
from slamon.core.policy import SlaPolicy

RESOLUTIONS = "slamon_resolutions_total"
COMPLAINTS = "slamon_complaints_total"


def _first_time_fix_rate(by: str, window: str) -> str:
    ftf = {"first_time_fix": '="yes"'}
    known = {"first_time_fix": '=~"yes|no"'}
    return ratio(summed("increase", RESOLUTIONS, by, window, WHERE, **ftf),
                 summed("increase", RESOLUTIONS, by, window, WHERE, **known))  # fmt: skip


def _reopen_rate(by: str, window: str) -> str:
    return ratio(summed("increase", "slamon_reopens_total", by, window, WHERE),
                 summed("increase", RESOLUTIONS, by, window, WHERE))  # fmt: skip


def _tickets_in(state: str) -> str:  # net tickets into a quality state over the range
    fixed = {"state": f'="{state}"'}
    entered = summed("increase", "slamon_quality_tickets_entered_total", "", RANGE, WHERE,
                     **fixed)  # fmt: skip
    left = summed("increase", "slamon_quality_tickets_left_total", "", RANGE, WHERE, **fixed)
    return f"({entered}\n - {left})"


def _by_tickets(title: str, part: str, whole: str, what: str, steps: Json, *,
                width: int = 5) -> Json:  # fmt: skip
    return panel("stat", title,
                 f"{what}, over the tickets that entered minus left each quality state "
                 "during the board's time range; replay's figure when the range covers "
                 "the workers' whole history (docs/metrics.md, \"Tickets by quality state\").",
                 [Query(ratio(_tickets_in(part), _tickets_in(whole)), title, instant=True)],
                 unit="percentunit", width=width, maximum=1, steps=steps)  # fmt: skip


def _repairs_rows() -> list[Json]:
    return [
        row("Repairs"),
        panel("stat", "First-time fix rate",
              "Share of resolutions fixed on the first visit over the board's time range "
              "(the first_time_fix flag of ticket.resolved; resolutions without the flag are "
              "left out).",
              [Query(_first_time_fix_rate("", RANGE), "first-time fix", instant=True)],
              unit="percentunit", width=6, maximum=1,
              steps=thresholds(("red", None), ("orange", 0.7), ("green", 0.8))),
        panel("timeseries", "First-time fix rate by priority",
              "Share of resolutions fixed on the first visit, per priority, over the trailing "
              "$window at each point.",
              [Query(_first_time_fix_rate("priority", WINDOW), "{{priority}}")],
              unit="percentunit", width=18, maximum=1),
        panel("stat", "Reopen rate",
              "Reopen events per resolution over the board's time range (a repaired fault "
              "that came back).",
              [Query(_reopen_rate("", RANGE), "reopen rate", instant=True)],
              unit="percentunit", width=6,
              steps=thresholds(("green", None), ("orange", 0.05), ("red", 0.1))),
        panel("timeseries", "Reopen rate by priority",
              "Reopen events per resolution, per priority, over the trailing $window.",
              [Query(_reopen_rate("priority", WINDOW), "{{priority}}")],
              unit="percentunit", width=18),
    ]  # fmt: skip


def _satisfaction_rows() -> list[Json]:
    return [
        row("Customer satisfaction"),
        panel("stat", "CSAT mean",
              "Mean survey score (1..10) over the board's time range.",
              [Query(mean("slamon_csat_score", "", RANGE, WHERE), "CSAT", instant=True)],
              unit="none", width=6, minimum=1, maximum=10,
              steps=thresholds(("red", None), ("orange", 7), ("green", 8.5))),
        panel("timeseries", "CSAT mean by priority",
              "Mean survey score per priority over the trailing $window.",
              [Query(mean("slamon_csat_score", "priority", WINDOW, WHERE), "{{priority}}")],
              unit="none", width=9, minimum=1, maximum=10),
        panel("bargauge", "CSAT distribution",
              "Surveys per score over the board's time range (the cumulative histogram "
              "buckets shown per score; le=10 is a score of 10).",
              [Query(summed("increase", "slamon_csat_score_bucket", "le", RANGE, WHERE),
                     "{{le}}", instant=True, heatmap=True)],
              unit="short", width=9, minimum=0,
              options={**default_options("bargauge"), "displayMode": "basic",
                       "orientation": "vertical"}),
    ]  # fmt: skip


def _complaints_and_category_rows(policy: SlaPolicy) -> list[Json]:
    baselines = dict(sorted(policy.quality.csat_baselines.items()))
    baseline_text = ", ".join(f"{c} {b:g}" for c, b in baselines.items()) or "none"
    return [
        row("Complaints and CSAT by product category"),
        panel("stat", "Complaint resolution rate",
              "Complaints resolved / complaints filed over the board's time range (the "
              "standard's complaint resolution rate; above 1 when older complaints are "
              "resolved).",
              [Query(ratio(summed("increase", COMPLAINTS, "", RANGE, WHERE, event='="resolved"'),
                           summed("increase", COMPLAINTS, "", RANGE, WHERE, event='="filed"')),
                     "resolved / filed", instant=True)],
              unit="percentunit", width=6,
              steps=thresholds(("red", None), ("orange", 0.75), ("green", 0.9))),
        panel("timeseries", "Complaints per minute",
              "Complaints filed and resolved per minute.",
              [Query("60 * " + summed("rate", COMPLAINTS, "event", RATE, WHERE), "{{event}}")],
              unit="cpm", width=9, minimum=0),
        panel("bargauge", "CSAT by product category against the baseline",
              "Mean survey score per product category over the board's time range; green at "
              f"or above the policy's baseline for that category ({baseline_text}), red below. "
              "Not filtered by priority, service or region.",
              [Query(mean("slamon_csat_category_score", "product_category", RANGE, ()),
                     "{{product_category}}", instant=True)],
              unit="none", width=9, minimum=1, maximum=10,
              overrides=[series_threshold(category, thresholds(("red", None), ("green", value)))
                         for category, value in baselines.items()]),
    ]  # fmt: skip


def _ticket_figures_rows(policy: SlaPolicy) -> list[Json]:
    window = format_duration(policy.quality.repeat_window_ns)
    return [
        row("Ticket figures (replay's report)"),
        _by_tickets("Repair rate (tickets)", "resolved", "ticket",
                    "Tickets resolved now / tickets (the standard's target: above 90%)",
                    thresholds(("red", None), ("green", 0.9))),
        _by_tickets("Completion rate (tickets)", "resolved_within_target", "resolved",
                    "Tickets resolved within the resolution target / tickets resolved",
                    thresholds(("red", None), ("orange", 0.9), ("green", 0.95))),
        _by_tickets("Complaint rate (tickets)", "complained", "ticket",
                    "Tickets with a complaint / tickets",
                    thresholds(("green", None), ("orange", 0.05), ("red", 0.1))),
        _by_tickets("Complaint resolution rate (tickets)", "complaints_resolved", "complained",
                    "Tickets whose complaints are all resolved / tickets with a complaint",
                    thresholds(("red", None), ("orange", 0.75), ("green", 0.9))),
        _by_tickets("Repeat failure rate (tickets)", "repeat_failure", "resolved_with_asset",
                    "Resolved tickets with an asset for which another ticket of the same asset "
                    f"was created within the repeat window ({window}) after the resolution / "
                    "resolved tickets with an asset (the standard's 故障率, for which it gives "
                    "no figure: green below 5%, red from 10%, as the reopen rate)",
                    thresholds(("green", None), ("orange", 0.05), ("red", 0.1)), width=4),
    ]  # fmt: skip


def _completion_within_sla_rows() -> list[Json]:
    return [
        row("Completion within SLA"),
        panel("stat", "Completion within SLA",
              "Share of resolution SLAs met over the board's time range (the standard's "
              "completion rate): met / (met + breaches - retractions) of resolution.",
              [Query(compliance("", RANGE, sla='="resolution"'), "completion", instant=True)],
              unit="percentunit", width=6, maximum=1,
              steps=thresholds(("red", None), ("orange", 0.9), ("green", 0.95))),
        panel("timeseries", "Completion within SLA by priority",
              "Share of resolution SLAs met per priority over the trailing $window.",
              [Query(compliance("priority", WINDOW, sla='="resolution"'), "{{priority}}")],
              unit="percentunit", width=18, maximum=1),
    ]  # fmt: skip


def quality(policy: SlaPolicy) -> Json:
    items = [
        *_repairs_rows(),
        *_satisfaction_rows(),
        *_complaints_and_category_rows(policy),
        *_ticket_figures_rows(policy),
        *_completion_within_sla_rows(),
    ]
    return dashboard("slamon-quality", "slamon / Quality",
                     "First-time fix, reopens, customer satisfaction, completion within SLA.",
                     items, window=True)  # fmt: skip
