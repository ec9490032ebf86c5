"""The monitor health board: the worker itself (throughput, lag, recovery, the broker)."""

from __future__ import annotations

from slamon.adapters.grafana.panels import Json, Query, dashboard, panel, row, thresholds
from slamon.adapters.grafana.queries import RATE, quantile, summed
from slamon.core.policy import SlaPolicy

BY_INSTANCE = "sum by (instance) "


def _throughput_rows() -> list[Json]:
    return [
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
    ]  # fmt: skip


def _health_rows() -> list[Json]:
    return [
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
              [Query(BY_INSTANCE + "(increase(slamon_recoveries_total[$__range]))",
                     "{{instance}}", instant=True)],
              unit="short", width=4),
        panel("stat", "Agent crashes",
              "Crashes of the stream agent over the board's time range (Faust restarts it; "
              "3 in 15 minutes page as SlamonAgentCrashLoop).",
              [Query(BY_INSTANCE + "(increase(slamon_agent_crashes_total[$__range]))",
                     "{{instance}}", instant=True)],
              unit="short", width=4, steps=thresholds(("green", None), ("red", 1))),
        panel("timeseries", "Broker silent",
              "Seconds since the broker last answered a worker's metadata probe, and since "
              "outputs have waited on it (0 while it answers and outputs flow).",
              [Query(BY_INSTANCE + "(slamon_broker_silent_seconds)", "silent {{instance}}"),
               Query(BY_INSTANCE + "(slamon_outputs_stalled_seconds)", "stalled {{instance}}")],
              unit="s", width=8, minimum=0),
        panel("timeseries", "Produce retries and dropped outputs",
              "Flushes the broker did not fully acknowledge (retried) and output records "
              "that could never be sent, per second.",
              [Query(BY_INSTANCE + "(rate(slamon_produce_retries_total[$__rate_interval]))",
                     "retries {{instance}}"),
               Query(summed("rate", "slamon_output_records_dropped_total", "topic", RATE, ()),
                     "dropped {{topic}}")],
              unit="cps", width=8, minimum=0),
        panel("timeseries", "Ready and recoveries over time",
              "Per worker: 1 once its table recovery is done, and recoveries completed per "
              "minute.",
              [Query(BY_INSTANCE + "(slamon_ready)", "ready {{instance}}"),
               Query("60 * " + BY_INSTANCE
                     + "(rate(slamon_recoveries_total[$__rate_interval]))",
                     "recoveries {{instance}}")],
              unit="short", width=8, minimum=0),
    ]  # fmt: skip


def _work_held_rows() -> list[Json]:
    return [
        row("Work held"),
        panel("timeseries", "Tickets in memory",
              "Tickets a worker holds, final ones included until retention expires.",
              [Query(BY_INSTANCE + "(slamon_tickets_in_memory)", "{{instance}}")],
              unit="short", width=12, minimum=0),
        panel("timeseries", "Outcomes per second by status",
              "Outcome records emitted per second by status (met, breached, ...).",
              [Query(summed("rate", "slamon_outcomes_total", "status", RATE, ()),
                     "{{status}}")],
              unit="cps", width=12, minimum=0),
    ]  # fmt: skip


def monitor(policy: SlaPolicy) -> Json:
    del policy
    items = [
        *_throughput_rows(),
        *_health_rows(),
        *_work_held_rows(),
    ]
    return dashboard("slamon-monitor", "slamon / Monitor health",
                     "The worker itself: throughput, lag, detection delay, dead letters, "
                     "recovery, crashes, the broker.", items)  # fmt: skip
