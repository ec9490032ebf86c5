"""The alerts on slamon itself, the file slamon-monitor.rules.yml: one entry per alert.

Data only; :func:`slamon.adapters.prom_rules.monitor_rules` adds the labels and the links.
Each alert has its runbook section in docs/alerting.md (the anchor is the alert's name).
"""

from __future__ import annotations

from dataclasses import dataclass

JOB = "slamon"  # the scrape job of deploy/prometheus/prometheus.yml


@dataclass(frozen=True)
class MonitorAlert:
    name: str
    expr: str
    for_: str | None  # how long the condition must hold; None: at once
    severity: str
    summary: str


UP = f'up{{job="{JOB}"}}'
MONITOR_ALERTS = (
    MonitorAlert(
        "SlamonWorkerDown", f"{UP} == 0", "2m", "page",
        "slamon worker {{ $labels.instance }} is down: no scrape for 2 minutes, no deadline "
        "fires on its partitions once the others take them over",
    ),
    MonitorAlert(
        "SlamonNoEvents",
        "(sum(rate(slamon_events_total[30m])) or vector(0)) == 0\n"
        "and on () sum(slamon_running_clocks) > 0",
        "10m", "ticket",
        "no ticket event processed for 40 minutes while SLA clocks are running",
    ),
    MonitorAlert(
        "SlamonConsumerLagGrowing",
        "sum by (instance) (slamon_consumer_lag) > 1000\n"
        "and sum by (instance) (delta(slamon_consumer_lag[15m])) > 0",
        "15m", "ticket",
        "{{ $labels.instance }}: more than 1000 input records behind and falling further "
        "behind for 15 minutes",
    ),
    MonitorAlert(
        "SlamonDetectionDelayHigh",
        "histogram_quantile(\n  0.99,\n"
        "  sum by (le) (rate(slamon_alert_detection_delay_seconds_bucket[10m]))\n) > 1",
        "10m", "ticket",
        "99th percentile of breach and at-risk detection delay above 1 s for 10 minutes",
    ),
    MonitorAlert(
        "SlamonDeadLetters",
        "sum(increase(slamon_dead_letters_total[15m])) >= 10\n"
        "and on () sum(rate(slamon_dead_letters_total[15m]))\n"
        "  > 0.01 * sum(rate(slamon_events_total[15m]))",
        "5m", "ticket",
        "more than 1% of input records (at least 10 in 15 minutes) go to the dead-letter topic",
    ),
    MonitorAlert(
        "SlamonAgentCrashLoop",
        "increase(slamon_agent_crashes_total[15m]) >= 3",
        None, "page",
        "slamon worker {{ $labels.instance }}: the stream agent crashed 3 times or more in "
        "15 minutes",
    ),
    MonitorAlert(
        "SlamonRecoveryStuck", "slamon_ready == 0", "15m", "page",
        "slamon worker {{ $labels.instance }} has not finished table recovery in 15 minutes",
    ),
)  # fmt: skip
