"""The SLA overview board: compliance, error budget, breaches, clocks, durations."""

from __future__ import annotations

from slamon.adapters.grafana.panels import (
    Json,
    Query,
    dashboard,
    panel,
    row,
    series_color,
    series_threshold,
    thresholds,
)
from slamon.adapters.grafana.queries import (
    BY_PRIORITY,
    CLOCKS,
    RANGE,
    RATE,
    SLI,
    WINDOW,
    compliance,
    mean,
    quantile,
    selector,
    summed,
)
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.timefmt import NS_PER_S

SLA_TITLES = {"first_response": "first response", "onsite_arrival": "on-site arrival",
              "resolution": "resolution"}  # fmt: skip


def _seconds(ns: int) -> float:
    return ns / NS_PER_S


def _objective_steps(objective: float) -> Json:
    return thresholds(("red", None), ("green", objective))


def _priority_compliance(policy: SlaPolicy, priority: str) -> Json:
    """One priority's SLAs over time; SLAs whose objective differs get their own line."""
    objectives = {sla: float(policy.objective(priority, sla)) for sla in SLAS}
    common = max(objectives.values(), key=list(objectives.values()).count)
    text = ", ".join(f"{SLA_TITLES[s]} {objectives[s]:.4g}" for s in SLAS)
    return panel(
        "timeseries", f"{priority} compliance by SLA",
        f"Share of {priority} SLAs met over the trailing $window at each point: "
        "met / (met + breaches - retractions) of the summed counters (a ratio of sums). "
        f"The dashed line is the policy's objective ({text}).",
        [Query(compliance("sla", WINDOW, priority=f'="{priority}"'), "{{sla}}")],
        unit="percentunit", width=6, steps=_objective_steps(common), line=True,
        maximum=1,
        overrides=[series_threshold(sla, _objective_steps(value))
                   for sla, value in objectives.items() if value != common],
    )  # fmt: skip


def _compliance_over_range(policy: SlaPolicy) -> Json:
    range_overrides = [
        series_threshold(f"{p} {s}", _objective_steps(float(policy.objective(p, s))))
        for p in PRIORITIES
        for s in SLAS
    ]
    return panel(
        "bargauge", "Compliance over the time range",
        "Share of SLAs met over the board's time range, per priority and SLA, as a ratio of "
        "summed counters; green at or above the policy's objective of that pair, red below.",
        [Query(compliance("priority, sla", RANGE), "{{priority}} {{sla}}", instant=True)],
        unit="percentunit", width=12, height=10, minimum=0, maximum=1,
        overrides=range_overrides,
    )  # fmt: skip


def _error_budget_remaining() -> Json:
    return panel(
        "bargauge", "Error budget remaining (30 days)",
        "Share of the error budget left over the last 30 days per priority and SLA: "
        "1 - error ratio / (1 - objective), from the recording rules of `slamon rules` "
        "(priority_sla:slamon_sla_error_budget_remaining:ratio30d). Below 0: the objective "
        "is missed over the period. Not filtered by service or region.",
        [Query(selector("priority_sla:slamon_sla_error_budget_remaining:ratio30d", CLOCKS),
               "{{priority}} {{sla}}", instant=True)],
        unit="percentunit", width=12, height=10, maximum=1,
        steps=thresholds(("red", None), ("orange", 0), ("yellow", 0.25), ("green", 0.5)),
    )  # fmt: skip


def _compliance_rows(policy: SlaPolicy) -> list[Json]:
    return [
        row("Compliance against the objective"),
        *(_priority_compliance(policy, priority) for priority in PRIORITIES),
        _compliance_over_range(policy),
        _error_budget_remaining(),
    ]


def _breaches_and_clocks_rows() -> list[Json]:
    late = {"state": '=~"at_risk|breached"'}
    return [
        row("Breaches and clocks now"),
        panel(
            "timeseries", "Breaches per minute",
            "SLA breaches as they happen (the moment elapsed business time passes the target, "
            "not when the ticket closes), per priority and SLA; retractions shown apart.",
            [Query("60 * " + summed("rate", "slamon_sla_breaches_total", "priority, sla", RATE,
                                    SLI), "{{priority}} {{sla}}"),
             Query("-60 * " + summed("rate", "slamon_sla_breach_retractions_total",
                                     "priority, sla", RATE, SLI),
                   "retracted {{priority}} {{sla}}")],
            unit="cpm", width=12, custom={"drawStyle": "bars", "fillOpacity": 60},
        ),
        panel(
            "timeseries", "Running clocks by state",
            "SLA clocks running now: within target, at risk (the at-risk alert was sent) and "
            "breached (past the target, still running), summed over the selected priorities "
            "and SLAs.",
            [Query(f"sum by (state) ({selector('slamon_running_clocks', CLOCKS)})",
                   "{{state}}")],
            unit="short", width=8, custom={"stacking": {"mode": "normal", "group": "A"}},
            overrides=[series_color(state, color) for state, color in
                       (("within_target", "green"), ("at_risk", "orange"),
                        ("breached", "red"))],
        ),
        panel(
            "stat", "At risk and breached now",
            "Running clocks at risk and breached now, per priority (the on-call's queue).",
            [Query("sum by (priority, state) "
                   f"({selector('slamon_running_clocks', CLOCKS, **late)})",
                   "{{priority}} {{state}}", instant=True)],
            unit="short", width=4, steps=thresholds(("green", None), ("orange", 1)),
        ),
    ]  # fmt: skip


def _p80_against_target(policy: SlaPolicy, priority: str, sla: str) -> Json:
    name = SLA_TITLES[sla]
    target = _seconds(policy.target_ns(priority, sla))
    return panel(
        "timeseries", f"{priority} p80 {name}",
        f"80th percentile of {priority} business time to {name} (stopped clocks, from "
        f"the histogram, whose bucket edges are the policy's targets). The dashed line "
        f"is the target, {target:g} s.",
        [Query(quantile(0.8, f"slamon_{sla}_seconds", "", RATE, BY_PRIORITY,
                        priority=f'="{priority}"'), "p80")],
        unit="s", width=6, line=True, minimum=0,
        steps=thresholds(("green", None), ("red", target)),
    )  # fmt: skip


def _p80_rows(policy: SlaPolicy) -> list[Json]:
    items: list[Json] = []
    for sla in ("first_response", "onsite_arrival"):
        items.append(row(f"p80 {SLA_TITLES[sla]} against the target"))
        items += [_p80_against_target(policy, priority, sla) for priority in PRIORITIES]
    return items


def _resolution_rows() -> list[Json]:
    return [
        row("Resolution"),
        panel(
            "bargauge", "MTTR over the time range",
            "Mean business time to resolution per priority over the board's time range "
            "(sum / count of the resolution histogram; pauses excluded, as the policy says).",
            [Query(mean("slamon_resolution_seconds", "priority", RANGE, BY_PRIORITY),
                   "{{priority}}", instant=True)],
            unit="s", width=12, minimum=0,
        ),
        panel(
            "timeseries", "MTTR by priority",
            "Mean business time to resolution per priority over the trailing $window.",
            [Query(mean("slamon_resolution_seconds", "priority", WINDOW, BY_PRIORITY),
                   "{{priority}}")],
            unit="s", width=12, minimum=0,
        ),
    ]  # fmt: skip


def sla_overview(policy: SlaPolicy) -> Json:
    items = [
        *_compliance_rows(policy),
        *_breaches_and_clocks_rows(),
        *_p80_rows(policy),
        *_resolution_rows(),
    ]
    return dashboard(
        "slamon-sla-overview", "slamon / SLA overview",
        f"SLA compliance, breaches, clocks and durations against policy '{policy.name}'.",
        items, window=True,
    )  # fmt: skip
