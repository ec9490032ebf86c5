"""The on-call board: per-ticket alerts beside the SLO burn-rate alerts, and their delivery."""

from __future__ import annotations

from slamon.adapters.grafana.panels import Json, Query, dashboard, panel, row, thresholds
from slamon.adapters.grafana.queries import CLOCKS, RATE, selector, summed
from slamon.core.policy import SlaPolicy

ALERTMANAGER_UID = "alertmanager"
ALERTMANAGER_NAME = "Alertmanager"  # the alert-groups panel picks its source by name
PER_TICKET_MATCHER = 'alertname=~"SlaBreached|SlaAtRisk"'  # the worker's on-call alerts
BURN = "{} / on (priority, sla) (1 - priority_sla:slamon_sla_objective:ratio)"


def _alert_groups() -> Json:
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
    return groups


def _alerts_now_rows() -> list[Json]:
    return [
        row("Alerts now"),
        _alert_groups(),
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
    ]  # fmt: skip


def _burn_rates_rows() -> list[Json]:
    return [
        row("Burn rates"),
        panel("timeseries", "Burn rate over 1h",
              "How many times faster than the objective allows the error budget burns, over "
              "the last hour (error ratio / (1 - objective), recording rules of `slamon "
              "rules`). Dashed lines: 14.4x (page, with 5m) and 6x (page, with 6h/30m).",
              [Query(BURN.format(selector("priority_sla:slamon_sla_errors:ratio1h", CLOCKS)),
                     "{{priority}} {{sla}}")],
              unit="suffix:x", width=12, line=True, minimum=0,
              steps=thresholds(("green", None), ("orange", 6), ("red", 14.4))),
        panel("timeseries", "Burn rate over 5m",
              "The short window of the fast page: error ratio over the last 5 minutes / "
              "(1 - objective). A page needs both the 1h and the 5m burn above 14.4x.",
              [Query(BURN.format(selector("priority_sla:slamon_sla_errors:ratio5m", CLOCKS)),
                     "{{priority}} {{sla}}")],
              unit="suffix:x", width=12, line=True, minimum=0,
              steps=thresholds(("green", None), ("orange", 6), ("red", 14.4))),
    ]  # fmt: skip


def _alerts_over_time_rows() -> list[Json]:
    return [
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
    ]  # fmt: skip


def _delivery_rows() -> list[Json]:
    return [
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


def oncall(policy: SlaPolicy) -> Json:
    del policy
    items = [
        *_alerts_now_rows(),
        *_burn_rates_rows(),
        *_alerts_over_time_rows(),
        *_delivery_rows(),
    ]
    return dashboard(
        "slamon-oncall",
        "slamon / On-call",
        "Live per-ticket alerts beside the SLO burn-rate alerts.",
        items,
    )
