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

The PromQL builders are in ``queries``, the panel and board shapes in ``panels``, and each
board in its own module (``sla_board``, ``quality_board``, ``oncall_board``,
``monitor_board``).
"""

from __future__ import annotations

import json

from slamon.adapters.grafana.monitor_board import monitor
from slamon.adapters.grafana.oncall_board import (
    ALERTMANAGER_NAME,
    ALERTMANAGER_UID,
    PER_TICKET_MATCHER,
    oncall,
)
from slamon.adapters.grafana.panels import (
    DATASOURCE,
    GREEN,
    PROMETHEUS_UID,
    SCHEMA_VERSION,
    WINDOWS,
    Json,
    Query,
    dashboard,
    layout,
    panel,
    row,
    series_threshold,
    thresholds,
    variables,
)
from slamon.adapters.grafana.quality_board import quality
from slamon.adapters.grafana.queries import (
    BY_PRIORITY,
    CLOCKS,
    RANGE,
    RATE,
    SLI,
    WHERE,
    WINDOW,
    compliance,
    mean,
    quantile,
    ratio,
    selector,
    summed,
)
from slamon.adapters.grafana.sla_board import SLA_TITLES, sla_overview
from slamon.core.policy import SlaPolicy

BOARD_UIDS = ("slamon-sla-overview", "slamon-quality", "slamon-oncall", "slamon-monitor")
BOARDS = {"slamon-sla-overview.json": sla_overview, "slamon-quality.json": quality,
          "slamon-oncall.json": oncall, "slamon-monitor.json": monitor}  # fmt: skip


def dashboards(policy: SlaPolicy) -> dict[str, Json]:
    """File name -> board, for ``policy``'s targets and objectives."""
    return {name: build(policy) for name, build in BOARDS.items()}


def render(board: Json) -> str:
    """The JSON text written to grafana/dashboards/ (stable: same policy, same bytes)."""
    return json.dumps(board, indent=2, ensure_ascii=False) + "\n"


__all__ = [
    "ALERTMANAGER_NAME",
    "ALERTMANAGER_UID",
    "BOARDS",
    "BOARD_UIDS",
    "BY_PRIORITY",
    "CLOCKS",
    "DATASOURCE",
    "GREEN",
    "PER_TICKET_MATCHER",
    "PROMETHEUS_UID",
    "RANGE",
    "RATE",
    "SCHEMA_VERSION",
    "SLA_TITLES",
    "SLI",
    "WHERE",
    "WINDOW",
    "WINDOWS",
    "Json",
    "Query",
    "compliance",
    "dashboard",
    "dashboards",
    "layout",
    "mean",
    "monitor",
    "oncall",
    "panel",
    "quality",
    "quantile",
    "ratio",
    "render",
    "row",
    "selector",
    "series_threshold",
    "sla_overview",
    "summed",
    "thresholds",
    "variables",
]
