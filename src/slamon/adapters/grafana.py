"""Grafana boards generated from a policy: `slamon dashboards` writes grafana/dashboards/.

Plain builders returning dicts (the JSON Grafana reads), not grafana-foundation-sdk: the
four boards use a handful of panel shapes, the SDK would be a runtime dependency for them
and it pins one Grafana schema release; plain dicts keep the output byte-stable and easy to
check (tests/dashboard_lint.py, tests/integration/test_grafana_promql.py).

Every query reads the worker's metrics (docs/metrics.md) through the ``$datasource``
variable (a Prometheus data source, provisioned with uid ``prometheus``), or the recording
rules of `slamon rules` where the figure needs the policy's budget period (error budget,
burn rates). Compliance is always a ratio of summed counters over a window, never an
average of ratios. Thresholds (targets, objectives) come from the policy given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.timefmt import NS_PER_S

Json = dict[str, Any]

PROMETHEUS_UID = "prometheus"  # grafana/provisioning/datasources: the default data source
ALERTMANAGER_UID = "alertmanager"
ALERTMANAGER_NAME = "Alertmanager"  # the alert-groups panel picks its source by name
PER_TICKET_MATCHER = 'alertname=~"SlaBreached|SlaAtRisk"'  # the worker's on-call alerts
SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
RATE = "$__rate_interval"  # every rate() and increase() of a time series
RANGE = "$__range"  # figures over the board's time range (stat and bar-gauge panels)
WINDOW = "$window"  # the trailing window of ratio time series (compliance, quality)
WINDOWS = ("1h", "6h", "1d", "7d", "30d")
SLA_TITLES = {"first_response": "first response", "onsite_arrival": "on-site arrival",
              "resolution": "resolution"}  # fmt: skip
BOARD_UIDS = ("slamon-sla-overview", "slamon-quality", "slamon-oncall", "slamon-monitor")

# The filter labels each metric has (docs/metrics.md): a matcher per variable it has.
SLI = ("priority", "sla", "service", "region")
WHERE = ("priority", "service", "region")
CLOCKS = ("priority", "sla")
BY_PRIORITY = ("priority",)


def selector(metric: str, labels: Sequence[str], **fixed: str) -> str:
    """``metric{priority=~"$priority",...}``: the board's variables, then fixed matchers."""
    matchers = [f'{label}=~"${label}"' for label in labels if label not in fixed]
    matchers += [f"{label}{value}" for label, value in fixed.items()]
    return f"{metric}{{{','.join(matchers)}}}" if matchers else metric


def summed(fn: str, metric: str, by: str, window: str, labels: Sequence[str],
           **fixed: str) -> str:  # fmt: skip
    grouping = f"sum by ({by}) " if by else "sum "
    return f"{grouping}({fn}({selector(metric, labels, **fixed)}[{window}]))"


def compliance(by: str, window: str, **fixed: str) -> str:
    """met / (met + breaches - retractions), summed by ``by`` over ``window``.

    A group with no breach yet counts 0 breaches (``or 0 * met``) and one with no met SLA
    0 met, so a 100% and a 0% group show instead of vanishing; retractions above the
    window's breaches (a breach before the window, withdrawn inside it) clamp to 0.
    """
    met = summed("increase", "slamon_sla_met_total", by, window, SLI, **fixed)
    breached = summed("increase", "slamon_sla_breaches_total", by, window, SLI, **fixed)
    retracted = summed("increase", "slamon_sla_breach_retractions_total", by, window, SLI,
                       **fixed)  # fmt: skip
    net = f"clamp_min({breached} - ({retracted} or 0 * {breached}), 0)"
    judged = f"(({met} or 0 * {breached}) + ({net} or 0 * {met}))"
    return f"({met} or 0 * {breached})\n/ ({judged} > 0)"


def ratio(numerator: str, denominator: str) -> str:
    """numerator / denominator, 0 when the denominator has data and the numerator none."""
    return f"({numerator} or 0 * {denominator})\n/ ({denominator} > 0)"


def mean(metric: str, by: str, window: str, labels: Sequence[str]) -> str:
    total = summed("increase", f"{metric}_sum", by, window, labels)
    count = summed("increase", f"{metric}_count", by, window, labels)
    return f"{total}\n/ ({count} > 0)"


def quantile(q: float, metric: str, by: str, window: str, labels: Sequence[str],
             **fixed: str) -> str:  # fmt: skip
    inner = summed("rate", f"{metric}_bucket", f"le, {by}" if by else "le", window, labels,
                   **fixed)  # fmt: skip
    return f"histogram_quantile({q}, {inner})"


# -- panels ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False  # an instant table of the series' labels
    heatmap: bool = False  # cumulative buckets shown as per-bucket counts (a distribution)


def _target(ref: str, query: Query) -> Json:
    target: Json = {"datasource": DATASOURCE, "refId": ref, "expr": query.expr,
                    "legendFormat": query.legend or "__auto",
                    "range": not query.instant, "instant": query.instant}  # fmt: skip
    if query.table:
        target["format"] = "table"
    elif query.heatmap:
        target["format"] = "heatmap"
    return target


def thresholds(*steps: tuple[str, float | None]) -> Json:
    return {"mode": "absolute",
            "steps": [{"color": color, "value": value} for color, value in steps]}  # fmt: skip


GREEN = thresholds(("green", None))


def panel(
    kind: str,
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str,
    width: int = 12,
    height: int = 8,
    steps: Json = GREEN,
    line: bool = False,
    overrides: Sequence[Json] = (),
    minimum: float | None = None,
    maximum: float | None = None,
    options: Json | None = None,
    custom: Json | None = None,
) -> Json:
    """One panel; ``line`` draws the thresholds as dashed lines (targets, objectives)."""
    defaults: Json = {"unit": unit, "thresholds": steps, "color": {"mode": "palette-classic"}}
    if kind in {"stat", "bargauge"}:
        defaults["color"] = {"mode": "thresholds"}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    if kind == "timeseries":
        defaults["custom"] = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                              "showPoints": "never", "spanNulls": False,
                              "thresholdsStyle": {"mode": "dashed" if line else "off"},
                              **(custom or {})}  # fmt: skip
    out: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": height, "w": width, "x": 0, "y": 0},
        "fieldConfig": {"defaults": defaults, "overrides": list(overrides)},
        "options": options if options is not None else _options(kind),
        "targets": [_target(chr(ord("A") + i), query) for i, query in enumerate(queries)],
    }
    return out


def _options(kind: str) -> Json:
    legend = {"displayMode": "list", "placement": "bottom", "showLegend": True}
    if kind == "timeseries":
        return {"legend": legend, "tooltip": {"mode": "multi", "sort": "desc"}}
    if kind == "stat":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "colorMode": "value", "graphMode": "none", "justifyMode": "auto",
                "textMode": "auto", "orientation": "auto"}  # fmt: skip
    if kind == "bargauge":
        return {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "displayMode": "gradient", "orientation": "horizontal", "showUnfilled": True,
                "valueMode": "color", "minVizHeight": 16, "minVizWidth": 8}  # fmt: skip
    if kind == "table":
        return {"showHeader": True, "cellHeight": "sm"}
    return {}


def row(title: str) -> Json:
    return {"type": "row", "title": title, "collapsed": False, "panels": [],
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}}  # fmt: skip


def series_threshold(name: str, steps: Json) -> Json:
    """Thresholds for one series (by its display name): per-series objectives."""
    return {"matcher": {"id": "byName", "options": name},
            "properties": [{"id": "thresholds", "value": steps}]}  # fmt: skip


def layout(items: Iterable[Json]) -> list[Json]:
    """Grid positions left to right, top to bottom; a row starts a new line. Ids from 1."""
    out, x, y, line_height = [], 0, 0, 0
    for number, item in enumerate(items, start=1):
        width, height = item["gridPos"]["w"], item["gridPos"]["h"]
        if item["type"] == "row" or x + width > 24:
            x, y, line_height = 0, y + line_height, 0
        item["gridPos"] = {"h": height, "w": width, "x": x, "y": y}
        item["id"] = number
        x, line_height = x + width, max(line_height, height)
        if item["type"] == "row":
            x, y, line_height = 0, y + height, 0
        out.append(item)
    return out


# -- variables ---------------------------------------------------------------------------
def _query_variable(name: str, label: str, metric: str) -> Json:
    query = f"label_values({metric}, {name})"
    return {
        "type": "query", "name": name, "label": label, "datasource": DATASOURCE,
        "query": {"query": query, "refId": f"{name}-values", "qryType": 1},
        "definition": query, "refresh": 2, "sort": 1, "multi": True, "includeAll": True,
        "allValue": ".*", "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [], "regex": "", "hide": 0,
    }  # fmt: skip


def variables(*, window: bool = False) -> list[Json]:
    """The datasource variable, then priority, sla, service, region (label_values)."""
    out: list[Json] = [{
        "type": "datasource", "name": "datasource", "label": "Prometheus", "query": "prometheus",
        "current": {"selected": False, "text": "Prometheus", "value": PROMETHEUS_UID},
        "options": [], "refresh": 1, "regex": "", "hide": 0,
    }]  # fmt: skip
    out += [
        _query_variable("priority", "Priority", "slamon_running_clocks"),
        _query_variable("sla", "SLA", "slamon_running_clocks"),
        _query_variable("service", "Service", "slamon_resolutions_total"),
        _query_variable("region", "Region", "slamon_resolutions_total"),
    ]
    if window:
        options = [{"selected": w == WINDOWS[0], "text": w, "value": w} for w in WINDOWS]
        out.append({
            "type": "custom", "name": "window", "label": "Trailing window",
            "query": ",".join(WINDOWS), "options": options,
            "current": {"selected": True, "text": WINDOWS[0], "value": WINDOWS[0]}, "hide": 0,
            "description": "The trailing window of each point of the ratio time series.",
        })  # fmt: skip
    return out


def dashboard(uid: str, title: str, description: str, items: Iterable[Json],
              *, window: bool = False) -> Json:  # fmt: skip
    others = [{"type": "dashboards", "title": "slamon boards", "tags": ["slamon"],
               "asDropdown": True, "includeVars": True, "keepTime": True,
               "icon": "external link", "targetBlank": False}]  # fmt: skip
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["slamon"],
        "editable": False,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "browser",
        "refresh": "30s",
        "links": others,
        "annotations": {"list": []},
        "templating": {"list": variables(window=window)},
        "panels": layout(items),
    }


# -- the boards --------------------------------------------------------------------------
def _seconds(ns: int) -> float:
    return ns / NS_PER_S


def _objective_steps(objective: float) -> Json:
    return thresholds(("red", None), ("green", objective))


def sla_overview(policy: SlaPolicy) -> Json:
    items: list[Json] = [row("Compliance against the objective")]
    for priority in PRIORITIES:
        objectives = {sla: float(policy.objective(priority, sla)) for sla in SLAS}
        common = max(objectives.values(), key=list(objectives.values()).count)
        text = ", ".join(f"{SLA_TITLES[s]} {objectives[s]:.4g}" for s in SLAS)
        items.append(panel(
            "timeseries", f"{priority} compliance by SLA",
            f"Share of {priority} SLAs met over the trailing $window at each point: "
            "met / (met + breaches - retractions) of the summed counters (a ratio of sums). "
            f"The dashed line is the policy's objective ({text}).",
            [Query(compliance("sla", WINDOW, priority=f'="{priority}"'), "{{sla}}")],
            unit="percentunit", width=6, steps=_objective_steps(common), line=True,
            maximum=1,
            overrides=[series_threshold(sla, _objective_steps(value))
                       for sla, value in objectives.items() if value != common],
        ))  # fmt: skip
    range_overrides = [
        series_threshold(f"{p} {s}", _objective_steps(float(policy.objective(p, s))))
        for p in PRIORITIES
        for s in SLAS
    ]
    items.append(panel(
        "bargauge", "Compliance over the time range",
        "Share of SLAs met over the board's time range, per priority and SLA, as a ratio of "
        "summed counters; green at or above the policy's objective of that pair, red below.",
        [Query(compliance("priority, sla", RANGE), "{{priority}} {{sla}}", instant=True)],
        unit="percentunit", width=12, height=10, minimum=0, maximum=1,
        overrides=range_overrides,
    ))  # fmt: skip
    items.append(panel(
        "bargauge", "Error budget remaining (30 days)",
        "Share of the error budget left over the last 30 days per priority and SLA: "
        "1 - error ratio / (1 - objective), from the recording rules of `slamon rules` "
        "(priority_sla:slamon_sla_error_budget_remaining:ratio30d). Below 0: the objective "
        "is missed over the period. Not filtered by service or region.",
        [Query(selector("priority_sla:slamon_sla_error_budget_remaining:ratio30d", CLOCKS),
               "{{priority}} {{sla}}", instant=True)],
        unit="percentunit", width=12, height=10, maximum=1,
        steps=thresholds(("red", None), ("orange", 0), ("yellow", 0.25), ("green", 0.5)),
    ))  # fmt: skip
    items.append(row("Breaches and clocks now"))
    items.append(panel(
        "timeseries", "Breaches per minute",
        "SLA breaches as they happen (the moment elapsed business time passes the target, "
        "not when the ticket closes), per priority and SLA; retractions shown apart.",
        [Query("60 * " + summed("rate", "slamon_sla_breaches_total", "priority, sla", RATE, SLI),
               "{{priority}} {{sla}}"),
         Query("-60 * " + summed("rate", "slamon_sla_breach_retractions_total", "priority, sla",
                                 RATE, SLI), "retracted {{priority}} {{sla}}")],
        unit="cpm", width=12, custom={"drawStyle": "bars", "fillOpacity": 60},
    ))  # fmt: skip
    items.append(panel(
        "timeseries", "Running clocks by state",
        "SLA clocks running now: within target, at risk (the at-risk alert was sent) and "
        "breached (past the target, still running), summed over the selected priorities "
        "and SLAs.",
        [Query(f"sum by (state) ({selector('slamon_running_clocks', CLOCKS)})", "{{state}}")],
        unit="short", width=8, custom={"stacking": {"mode": "normal", "group": "A"}},
        overrides=[_color(state, color) for state, color in
                   (("within_target", "green"), ("at_risk", "orange"), ("breached", "red"))],
    ))  # fmt: skip
    late = {"state": '=~"at_risk|breached"'}
    items.append(panel(
        "stat", "At risk and breached now",
        "Running clocks at risk and breached now, per priority (the on-call's queue).",
        [Query(f"sum by (priority, state) ({selector('slamon_running_clocks', CLOCKS, **late)})",
               "{{priority}} {{state}}", instant=True)],
        unit="short", width=4, steps=thresholds(("green", None), ("orange", 1)),
    ))  # fmt: skip
    for sla in ("first_response", "onsite_arrival"):
        name = SLA_TITLES[sla]
        items.append(row(f"p80 {name} against the target"))
        for priority in PRIORITIES:
            target = _seconds(policy.target_ns(priority, sla))
            items.append(panel(
                "timeseries", f"{priority} p80 {name}",
                f"80th percentile of {priority} business time to {name} (stopped clocks, from "
                f"the histogram, whose bucket edges are the policy's targets). The dashed line "
                f"is the target, {target:g} s.",
                [Query(quantile(0.8, f"slamon_{sla}_seconds", "", RATE, BY_PRIORITY,
                                priority=f'="{priority}"'), "p80")],
                unit="s", width=6, line=True, minimum=0,
                steps=thresholds(("green", None), ("red", target)),
            ))  # fmt: skip
    items.append(row("Resolution"))
    items.append(panel(
        "bargauge", "MTTR over the time range",
        "Mean business time to resolution per priority over the board's time range "
        "(sum / count of the resolution histogram; pauses excluded, as the policy says).",
        [Query(mean("slamon_resolution_seconds", "priority", RANGE, BY_PRIORITY),
               "{{priority}}", instant=True)],
        unit="s", width=12, minimum=0,
    ))  # fmt: skip
    items.append(panel(
        "timeseries", "MTTR by priority",
        "Mean business time to resolution per priority over the trailing $window.",
        [Query(mean("slamon_resolution_seconds", "priority", WINDOW, BY_PRIORITY),
               "{{priority}}")],
        unit="s", width=12, minimum=0,
    ))  # fmt: skip
    return dashboard(
        "slamon-sla-overview", "slamon / SLA overview",
        f"SLA compliance, breaches, clocks and durations against policy '{policy.name}'.",
        items, window=True,
    )  # fmt: skip


def _color(name: str, color: str) -> Json:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
    }


def quality(policy: SlaPolicy) -> Json:
    res = "slamon_resolutions_total"
    baselines = dict(sorted(policy.quality.csat_baselines.items()))
    baseline_text = ", ".join(f"{c} {b:g}" for c, b in baselines.items()) or "none"
    complaints = "slamon_complaints_total"
    ftf = {"first_time_fix": '="yes"'}
    known = {"first_time_fix": '=~"yes|no"'}

    def ftf_rate(by: str, window: str) -> str:
        return ratio(summed("increase", res, by, window, WHERE, **ftf),
                     summed("increase", res, by, window, WHERE, **known))  # fmt: skip

    def reopen_rate(by: str, window: str) -> str:
        return ratio(summed("increase", "slamon_reopens_total", by, window, WHERE),
                     summed("increase", res, by, window, WHERE))  # fmt: skip

    def tickets_in(state: str) -> str:  # net tickets into a quality state over the range
        fixed = {"state": f'="{state}"'}
        entered = summed("increase", "slamon_quality_tickets_entered_total", "", RANGE, WHERE,
                         **fixed)  # fmt: skip
        left = summed("increase", "slamon_quality_tickets_left_total", "", RANGE, WHERE, **fixed)
        return f"({entered}\n - {left})"

    def by_tickets(title: str, part: str, whole: str, what: str, steps: Json) -> Json:
        return panel("stat", title,
                     f"{what}, over the tickets that entered minus left each quality state "
                     "during the board's time range; replay's figure when the range covers "
                     "the workers' whole history (docs/metrics.md, \"Tickets by quality state\").",
                     [Query(ratio(tickets_in(part), tickets_in(whole)), title, instant=True)],
                     unit="percentunit", width=6, maximum=1, steps=steps)  # fmt: skip

    items = [
        row("Repairs"),
        panel("stat", "First-time fix rate",
              "Share of resolutions fixed on the first visit over the board's time range "
              "(the first_time_fix flag of ticket.resolved; resolutions without the flag are "
              "left out).",
              [Query(ftf_rate("", RANGE), "first-time fix", instant=True)],
              unit="percentunit", width=6, maximum=1,
              steps=thresholds(("red", None), ("orange", 0.7), ("green", 0.8))),
        panel("timeseries", "First-time fix rate by priority",
              "Share of resolutions fixed on the first visit, per priority, over the trailing "
              "$window at each point.",
              [Query(ftf_rate("priority", WINDOW), "{{priority}}")],
              unit="percentunit", width=18, maximum=1),
        panel("stat", "Reopen rate",
              "Reopen events per resolution over the board's time range (a repaired fault "
              "that came back).",
              [Query(reopen_rate("", RANGE), "reopen rate", instant=True)],
              unit="percentunit", width=6,
              steps=thresholds(("green", None), ("orange", 0.05), ("red", 0.1))),
        panel("timeseries", "Reopen rate by priority",
              "Reopen events per resolution, per priority, over the trailing $window.",
              [Query(reopen_rate("priority", WINDOW), "{{priority}}")],
              unit="percentunit", width=18),
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
              options={**_options("bargauge"), "displayMode": "basic",
                       "orientation": "vertical"}),
        row("Complaints and CSAT by product category"),
        panel("stat", "Complaint resolution rate",
              "Complaints resolved / complaints filed over the board's time range (the "
              "standard's complaint resolution rate; above 1 when older complaints are "
              "resolved).",
              [Query(ratio(summed("increase", complaints, "", RANGE, WHERE, event='="resolved"'),
                           summed("increase", complaints, "", RANGE, WHERE, event='="filed"')),
                     "resolved / filed", instant=True)],
              unit="percentunit", width=6,
              steps=thresholds(("red", None), ("orange", 0.75), ("green", 0.9))),
        panel("timeseries", "Complaints per minute",
              "Complaints filed and resolved per minute.",
              [Query("60 * " + summed("rate", complaints, "event", RATE, WHERE), "{{event}}")],
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
        row("Ticket figures (replay's report)"),
        by_tickets("Repair rate (tickets)", "resolved", "ticket",
                   "Tickets resolved now / tickets (the standard's target: above 90%)",
                   thresholds(("red", None), ("green", 0.9))),
        by_tickets("Completion rate (tickets)", "resolved_within_target", "resolved",
                   "Tickets resolved within the resolution target / tickets resolved",
                   thresholds(("red", None), ("orange", 0.9), ("green", 0.95))),
        by_tickets("Complaint rate (tickets)", "complained", "ticket",
                   "Tickets with a complaint / tickets",
                   thresholds(("green", None), ("orange", 0.05), ("red", 0.1))),
        by_tickets("Complaint resolution rate (tickets)", "complaints_resolved", "complained",
                   "Tickets whose complaints are all resolved / tickets with a complaint",
                   thresholds(("red", None), ("orange", 0.75), ("green", 0.9))),
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
    return dashboard("slamon-quality", "slamon / Quality",
                     "First-time fix, reopens, customer satisfaction, completion within SLA.",
                     items, window=True)  # fmt: skip


def oncall(policy: SlaPolicy) -> Json:
    del policy
    burn = "{} / on (priority, sla) (1 - priority_sla:slamon_sla_objective:ratio)"
    alertmanager = {"type": "alertmanager", "uid": ALERTMANAGER_UID}
    groups = panel(
        "alertGroups", "Per-ticket alerts (Alertmanager)",
        "The per-ticket SlaBreached and SlaAtRisk alerts in Alertmanager, as it groups them "
        "(`slamon worker --alertmanager URL` sends them, labelled ticket_id, sla, priority, "
        "service, region, severity; docs/oncall.md).",
        [], unit="none", width=12, height=12,
        options={"alertmanager": ALERTMANAGER_NAME, "expandAll": True,
                 "labels": PER_TICKET_MATCHER},
    )  # fmt: skip
    groups["datasource"] = alertmanager
    items = [
        row("Alerts now"),
        groups,
        panel("table", "Burn-rate alerts",
              "SlaErrorBudgetBurn alerts firing or pending in Prometheus (multi-window, "
              "multi-burn-rate: page at 14.4x over 1h and 5m or 6x over 6h and 30m, ticket "
              "at 3x or 1x).",
              [Query('ALERTS{alertname="SlaErrorBudgetBurn",severity=~"page|ticket",'
                     'priority=~"$priority",sla=~"$sla"}', instant=True, table=True)],
              unit="none", width=12, height=6),
        panel("table", "Monitor alerts",
              "Alerts on slamon itself (worker down, no events, lag, detection delay, dead "
              "letters, crash loop, recovery stuck) firing or pending in Prometheus.",
              [Query('ALERTS{alertname=~"Slamon.*",severity=~"page|ticket"}', instant=True,
                     table=True)],
              unit="none", width=12, height=6),
        row("Burn rates"),
        panel("timeseries", "Burn rate over 1h",
              "How many times faster than the objective allows the error budget burns, over "
              "the last hour (error ratio / (1 - objective), recording rules of `slamon "
              "rules`). Dashed lines: 14.4x (page, with 5m) and 6x (page, with 6h/30m).",
              [Query(burn.format(selector("priority_sla:slamon_sla_errors:ratio1h", CLOCKS)),
                     "{{priority}} {{sla}}")],
              unit="suffix:x", width=12, line=True, minimum=0,
              steps=thresholds(("green", None), ("orange", 6), ("red", 14.4))),
        panel("timeseries", "Burn rate over 5m",
              "The short window of the fast page: error ratio over the last 5 minutes / "
              "(1 - objective). A page needs both the 1h and the 5m burn above 14.4x.",
              [Query(burn.format(selector("priority_sla:slamon_sla_errors:ratio5m", CLOCKS)),
                     "{{priority}} {{sla}}")],
              unit="suffix:x", width=12, line=True, minimum=0,
              steps=thresholds(("green", None), ("orange", 6), ("red", 14.4))),
        row("Alerts over time"),
        panel("timeseries", "Prometheus alerts firing",
              "Prometheus alerts firing, by name and severity (page or ticket).",
              [Query('count by (alertname, severity) '
                     '(ALERTS{alertstate="firing",severity=~"page|ticket"})',
                     "{{alertname}} {{severity}}")],
              unit="short", width=12, minimum=0),
        panel("timeseries", "Per-ticket alerts per minute",
              "Breach and at-risk alerts the worker emits to the alerts topic, per type and "
              "priority: what on-call delivery receives.",
              [Query("60 * " + summed("rate", "slamon_alerts_total", "type, priority", RATE,
                                      CLOCKS), "{{type}} {{priority}}")],
              unit="cpm", width=12, minimum=0),
        row("On-call delivery"),
        panel("timeseries", "Per-ticket alerts firing",
              "Per-ticket alerts firing now as the workers sent them to on-call, by alert name "
              "and severity (page for P1/P2 breaches, ticket otherwise).",
              [Query("sum by (alertname, severity) (slamon_oncall_active_alerts)",
                     "{{alertname}} {{severity}}")],
              unit="short", width=8, minimum=0),
        panel("timeseries", "Deliveries per minute by result",
              "Alert transitions delivered to on-call sinks per minute, by sink kind "
              "(alertmanager, webhook) and result (sent; rejected: 4xx; failed: retries "
              "exhausted).",
              [Query("60 * " + summed("rate", "slamon_oncall_notifications_total",
                                      "sink, result", RATE, ()), "{{sink}} {{result}}")],
              unit="cpm", width=8, minimum=0),
        panel("timeseries", "Delivery retries, drops and queue",
              "Batches sent again per minute, alert transitions dropped from a full queue per "
              "minute, and transitions waiting, by sink kind.",
              [Query("60 * " + summed("rate", "slamon_oncall_retries_total", "sink", RATE, ()),
                     "retries {{sink}}"),
               Query("60 * " + summed("rate", "slamon_oncall_dropped_total", "sink", RATE, ()),
                     "dropped {{sink}}"),
               Query("sum by (sink) (slamon_oncall_queued)", "queued {{sink}}")],
              unit="short", width=8, minimum=0),
    ]  # fmt: skip
    return dashboard(
        "slamon-oncall",
        "slamon / On-call",
        "Live per-ticket alerts beside the SLO burn-rate alerts.",
        items,
    )


def monitor(policy: SlaPolicy) -> Json:
    del policy
    by_instance = "sum by (instance) "
    items = [
        row("Throughput"),
        panel("timeseries", "Events per second by result",
              "Input records per second by result: processed, invalid, duplicate, late, error.",
              [Query(summed("rate", "slamon_events_total", "result", RATE, ()), "{{result}}")],
              unit="cps", width=12, minimum=0),
        panel("timeseries", "Consumer lag",
              "Input records not processed yet, per worker and partition (a growing lag: "
              "deadlines are still found on time, events are late).",
              [Query("sum by (instance, partition) (slamon_consumer_lag)",
                     "{{instance}} p{{partition}}")],
              unit="short", width=12, minimum=0),
        panel("timeseries", "Detection delay p99",
              "99th percentile of the wall time from an alert's instant (a deadline) to its "
              "emission, for alerts found by the clock, by type; the dashed line is the "
              "SlamonDetectionDelayHigh threshold, 1 s.",
              [Query(quantile(0.99, "slamon_alert_detection_delay_seconds", "type", RATE, ()),
                     "p99 {{type}}"),
               Query(quantile(0.5, "slamon_alert_detection_delay_seconds", "type", RATE, ()),
                     "p50 {{type}}")],
              unit="s", width=12, line=True, minimum=0,
              steps=thresholds(("green", None), ("red", 1))),
        panel("timeseries", "Dead letters by reason",
              "Records sent to the dead-letter topic per second, by class of reason "
              "(docs/metrics.md).",
              [Query(summed("rate", "slamon_dead_letters_total", "reason", RATE, ()),
                     "{{reason}}")],
              unit="cps", width=12, minimum=0),
        row("Health"),
        panel("stat", "Workers up",
              "Workers Prometheus scrapes successfully now (job slamon).",
              [Query('sum(up{job="slamon"})', "up", instant=True)],
              unit="short", width=4, steps=thresholds(("red", None), ("green", 1))),
        panel("stat", "Ready",
              "Workers whose table recovery is done (slamon_ready = 1), of those reporting.",
              [Query("sum(slamon_ready)", "ready", instant=True)],
              unit="short", width=4, steps=thresholds(("red", None), ("green", 1))),
        panel("stat", "Recoveries",
              "Table recoveries completed over the board's time range, per worker (one at "
              "each start and rebalance).",
              [Query(by_instance + "(increase(slamon_recoveries_total[$__range]))",
                     "{{instance}}", instant=True)],
              unit="short", width=4),
        panel("stat", "Agent crashes",
              "Crashes of the stream agent over the board's time range (Faust restarts it; "
              "3 in 15 minutes page as SlamonAgentCrashLoop).",
              [Query(by_instance + "(increase(slamon_agent_crashes_total[$__range]))",
                     "{{instance}}", instant=True)],
              unit="short", width=4, steps=thresholds(("green", None), ("red", 1))),
        panel("timeseries", "Broker silent",
              "Seconds since the broker last answered a worker's metadata probe, and since "
              "outputs have waited on it (0 while it answers and outputs flow).",
              [Query(by_instance + "(slamon_broker_silent_seconds)", "silent {{instance}}"),
               Query(by_instance + "(slamon_outputs_stalled_seconds)", "stalled {{instance}}")],
              unit="s", width=8, minimum=0),
        panel("timeseries", "Produce retries and dropped outputs",
              "Flushes the broker did not fully acknowledge (retried) and output records "
              "that could never be sent, per second.",
              [Query(by_instance + "(rate(slamon_produce_retries_total[$__rate_interval]))",
                     "retries {{instance}}"),
               Query(summed("rate", "slamon_output_records_dropped_total", "topic", RATE, ()),
                     "dropped {{topic}}")],
              unit="cps", width=8, minimum=0),
        panel("timeseries", "Ready and recoveries over time",
              "Per worker: 1 once its table recovery is done, and recoveries completed per "
              "minute.",
              [Query(by_instance + "(slamon_ready)", "ready {{instance}}"),
               Query("60 * " + by_instance
                     + "(rate(slamon_recoveries_total[$__rate_interval]))",
                     "recoveries {{instance}}")],
              unit="short", width=8, minimum=0),
        row("Work held"),
        panel("timeseries", "Tickets in memory",
              "Tickets a worker holds, final ones included until retention expires.",
              [Query(by_instance + "(slamon_tickets_in_memory)", "{{instance}}")],
              unit="short", width=12, minimum=0),
        panel("timeseries", "Outcomes per second by status",
              "Outcome records emitted per second by status (met, breached, ...).",
              [Query(summed("rate", "slamon_outcomes_total", "status", RATE, ()),
                     "{{status}}")],
              unit="cps", width=12, minimum=0),
    ]  # fmt: skip
    return dashboard("slamon-monitor", "slamon / Monitor health",
                     "The worker itself: throughput, lag, detection delay, dead letters, "
                     "recovery, crashes, the broker.", items)  # fmt: skip


BOARDS = {"slamon-sla-overview.json": sla_overview, "slamon-quality.json": quality,
          "slamon-oncall.json": oncall, "slamon-monitor.json": monitor}  # fmt: skip


def dashboards(policy: SlaPolicy) -> dict[str, Json]:
    """File name -> board, for ``policy``'s targets and objectives."""
    return {name: build(policy) for name, build in BOARDS.items()}


def render(board: Json) -> str:
    """The JSON text written to grafana/dashboards/ (stable: same policy, same bytes)."""
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"
