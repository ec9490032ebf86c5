"""Prometheus rule files from a policy: recording rules, burn-rate alerts, monitor alerts.

Pure: :func:`rule_files` returns each file's name and text; the ``slamon rules`` command
writes them. Every window, burn-rate share, threshold and guard is data (``COMPLIANCE_WINDOWS``,
``BURN_ALERTS``... here, ``MONITOR_ALERTS`` in ``prom_monitor_alerts``), each burn-rate factor
is computed from its budget share and the SLO period, and each objective comes from the
policy, so a user's own policy gives matching rules (docs/alerting.md).

The metric names are those of docs/metrics.md. Compliance over a window is a ratio of
sums of counters, never an average of ratios::

    compliance = met / (met + breaches - retractions)

Each SLA is judged in its own business calendar, so compliance, error ratios and burn rates
are in business time with no calendar logic here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import yaml

from slamon.adapters.prom_monitor_alerts import JOB, MONITOR_ALERTS, UP, MonitorAlert
from slamon.core.durations import parse_duration
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy

SLA_FILE = "slamon-sla.rules.yml"
MONITOR_FILE = "slamon-monitor.rules.yml"

# -- the SLO -------------------------------------------------------------------------------
SLO_PERIOD = "30d"  # the error budget's period
COMPLIANCE_WINDOWS = ("1h", "1d", "7d", "30d")  # compliance recorded per priority/sla/region
DURATION_WINDOWS = ("1h", "1d")  # quantiles and means of the duration histograms
QUANTILES = (("p50", "0.5"), ("p80", "0.8"), ("p95", "0.95"))
DEFAULT_MIN_JUDGED = 10  # the guard: SLAs judged in the long window before a burn alert fires
DEFAULT_GRAFANA_URL = "http://localhost:3000"
DEFAULT_RUNBOOK_URL = "docs/alerting.md"  # the runbook; each alert links to its anchor
DASHBOARD_PATH = "/d/slamon-sla-overview"  # Grafana board uid slamon-sla-overview

# the counters of the SLI (docs/metrics.md)
MET = "slamon_sla_met_total"
BREACHES = "slamon_sla_breaches_total"
RETRACTIONS = "slamon_sla_breach_retractions_total"
DURATIONS = {sla: f"slamon_{sla}_seconds" for sla in SLAS}  # histograms, by priority
BY_SLA = ("priority", "sla")
BY_REGION = ("priority", "sla", "region")


@dataclass(frozen=True)
class BurnAlert:
    """One multi-window burn-rate alert (Google SRE workbook, chapter 5).

    It fires when the long and the short window both burn the error budget faster than
    ``factor``: the rate at which ``budget_share`` of the budget of ``SLO_PERIOD`` is spent
    in ``long``. The short window makes it stop soon after the errors stop.
    """

    severity: str  # page | ticket
    long: str
    short: str
    budget_share: Fraction  # of the period's error budget, spent within the long window

    @property
    def factor(self) -> Fraction:
        """The burn rate: ``budget_share * period / long`` (2% of 30 days in 1 hour: 14.4)."""
        return self.budget_share * parse_duration(SLO_PERIOD) / parse_duration(self.long)


BURN_ALERTS = (
    BurnAlert("page", long="1h", short="5m", budget_share=Fraction(2, 100)),
    BurnAlert("page", long="6h", short="30m", budget_share=Fraction(5, 100)),
    BurnAlert("ticket", long="1d", short="2h", budget_share=Fraction(10, 100)),
    BurnAlert("ticket", long="3d", short="6h", budget_share=Fraction(10, 100)),
)
BURN_ALERT = "SlaErrorBudgetBurn"


def error_windows() -> tuple[str, ...]:
    """Every window whose error ratio the burn alerts or the budget read, shortest first."""
    windows = {w for alert in BURN_ALERTS for w in (alert.long, alert.short)}
    windows |= {*COMPLIANCE_WINDOWS, SLO_PERIOD}
    return tuple(sorted(windows, key=parse_duration))


# -- recorded series names -----------------------------------------------------------------
def _level(by: tuple[str, ...]) -> str:
    return "_".join(by)


def met_series(window: str, by: tuple[str, ...] = BY_SLA) -> str:
    return f"{_level(by)}:slamon_sla_met:increase{window}"


def breached_series(window: str, by: tuple[str, ...] = BY_SLA) -> str:
    """Breaches less retractions (never below 0) in the window."""
    return f"{_level(by)}:slamon_sla_breached:increase{window}"


def judged_series(window: str, by: tuple[str, ...] = BY_SLA) -> str:
    """SLAs judged in the window: met + breaches - retractions."""
    return f"{_level(by)}:slamon_sla_judged:increase{window}"


def compliance_series(window: str, by: tuple[str, ...] = BY_SLA) -> str:
    return f"{_level(by)}:slamon_sla_compliance:ratio{window}"


def error_series(window: str) -> str:
    """The error ratio (1 - compliance) per priority and SLA."""
    return f"priority_sla:slamon_sla_errors:ratio{window}"


OBJECTIVE = "priority_sla:slamon_sla_objective:ratio"
BUDGET_REMAINING = f"priority_sla:slamon_sla_error_budget_remaining:ratio{SLO_PERIOD}"


def quantile_series(sla: str, name: str, window: str) -> str:
    return f"priority:{DURATIONS[sla]}:{name}_{window}"


def mean_series(sla: str, window: str) -> str:
    return f"priority:{DURATIONS[sla]}:mean_{window}"


# -- recording rules -----------------------------------------------------------------------
def _sum_increase(metric: str, window: str, by: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(by)}) (increase({metric}[{window}]))"


def _counting_rules(window: str, by: tuple[str, ...], ratios: tuple[str, ...]) -> list[Any]:
    """met, breached, judged and the ratios named in ``ratios`` for one window and grouping.

    A pair with no series of one counter (no breach yet) still gets its figures: the
    missing side counts as 0 (``or 0 * other``), never drops the pair from the sum.
    """
    on = ", ".join(by)
    met, breached, judged = (
        met_series(window, by),
        breached_series(window, by),
        judged_series(window, by),
    )
    breaches = _sum_increase(BREACHES, window, by)
    rules: list[Any] = [
        {"record": met, "expr": _sum_increase(MET, window, by)},
        {
            "record": breached,
            "expr": f"clamp_min(\n  {breaches}\n  - on ({on}) (\n"
            f"    {_sum_increase(RETRACTIONS, window, by)}\n    or 0 * {breaches}\n  ),\n  0\n)",
        },
        {"record": judged, "expr": f"(\n  ({met} or 0 * {breached})\n"
                                   f"  + on ({on}) ({breached} or 0 * {met})\n)"},
    ]  # fmt: skip
    if "compliance" in ratios:
        expr = f"({met} or 0 * {breached})\n/ on ({on}) ({judged} > 0)"
        rules.append({"record": compliance_series(window, by), "expr": expr})
    if "errors" in ratios:
        expr = f"({breached} or 0 * {met})\n/ on ({on}) ({judged} > 0)"
        rules.append({"record": error_series(window), "expr": expr})
    return rules


def _objective_rules(policy: SlaPolicy) -> list[Any]:
    return [
        {
            "record": OBJECTIVE,
            "expr": f"vector({_decimal(policy.objective(priority, sla))})",
            "labels": {"priority": priority, "sla": sla},
        }
        for priority in PRIORITIES
        for sla in SLAS
    ]


def _duration_rules() -> list[Any]:
    rules: list[Any] = []
    for sla, histogram in DURATIONS.items():
        for window in DURATION_WINDOWS:
            for name, q in QUANTILES:
                expr = (f"histogram_quantile(\n  {q},\n  sum by (le, priority) "
                        f"(rate({histogram}_bucket[{window}]))\n)")  # fmt: skip
                rules.append({"record": quantile_series(sla, name, window), "expr": expr})
            expr = (f"sum by (priority) (rate({histogram}_sum[{window}]))\n"
                    f"/ sum by (priority) (rate({histogram}_count[{window}]))")  # fmt: skip
            rules.append({"record": mean_series(sla, window), "expr": expr})
    return rules


def recording_groups(policy: SlaPolicy) -> list[Any]:
    """The SLI per priority and SLA (every window), per region (compliance windows), the
    objectives, the error budget remaining, and the duration quantiles and means."""
    sli: list[Any] = []
    for window in error_windows():
        ratios = ("errors", "compliance") if window in COMPLIANCE_WINDOWS else ("errors",)
        sli += _counting_rules(window, BY_SLA, ratios)
    regional: list[Any] = []
    for window in COMPLIANCE_WINDOWS:
        regional += _counting_rules(window, BY_REGION, ("compliance",))
    budget = [
        *_objective_rules(policy),
        {
            "record": BUDGET_REMAINING,
            "expr": f"1 - {error_series(SLO_PERIOD)}\n/ on (priority, sla) (1 - {OBJECTIVE})",
        },
    ]
    return [
        {"name": "slamon-sla-sli", "rules": sli},
        {"name": "slamon-sla-sli-region", "interval": "5m", "rules": regional},
        {"name": "slamon-sla-objectives", "rules": budget},
        {"name": "slamon-durations", "rules": _duration_rules()},
    ]


# -- burn-rate alerts ----------------------------------------------------------------------
@dataclass(frozen=True)
class Links:
    """Where alerts link to: the Grafana base URL and the runbook (docs/alerting.md)."""

    grafana_url: str = DEFAULT_GRAFANA_URL
    runbook_url: str = DEFAULT_RUNBOOK_URL

    def runbook(self, alert: str) -> str:
        return f"{self.runbook_url}#{alert.lower()}"

    def dashboard(self, query: str = "") -> str:
        return f"{self.grafana_url.rstrip('/')}{DASHBOARD_PATH}{query}"


def burn_expr(alert: BurnAlert, min_judged: int) -> str:
    """Both windows above ``factor x budget``, and at least ``min_judged`` SLAs judged in
    the long window (a handful of tickets cannot page)."""
    factor = _decimal(alert.factor)
    budget = f"on (priority, sla) ({factor} * (1 - {OBJECTIVE}))"
    return (
        f"(\n  {error_series(alert.long)}\n  > {budget}\n)\n"
        f"and on (priority, sla) (\n  {error_series(alert.short)}\n  > {budget}\n)\n"
        f"and on (priority, sla) (\n  {judged_series(alert.long)} >= {min_judged}\n)"
    )


def burn_rules(min_judged: int, links: Links) -> list[Any]:
    rules = []
    for alert in BURN_ALERTS:
        factor = _decimal(alert.factor)
        query = "?var-priority={{ $labels.priority }}&var-sla={{ $labels.sla }}"
        rules.append({
            "alert": BURN_ALERT,
            "expr": burn_expr(alert, min_judged),
            "labels": {"severity": alert.severity, "long_window": alert.long,
                       "short_window": alert.short},
            "annotations": {
                "summary": "{{ $labels.priority }} {{ $labels.sla }}: the error budget burns "
                           f"{factor}x too fast ({alert.long} and {alert.short})",
                "description": (
                    "{{ $labels.priority }} {{ $labels.sla }} SLAs breach so often, over the "
                    f"last {alert.long} and the last {alert.short}, that "
                    f"{_percent(alert.budget_share)} of the {SLO_PERIOD} error budget goes in "
                    f"{alert.long} ({factor}x the rate the objective allows; at least "
                    f"{min_judged} SLAs judged in {alert.long})."
                ),
                "runbook_url": links.runbook(BURN_ALERT),
                "dashboard_url": links.dashboard(query),
            },
        })  # fmt: skip
    return rules


# -- alerts on the monitor -----------------------------------------------------------------
def monitor_rules(links: Links) -> list[Any]:
    rules = []
    for alert in MONITOR_ALERTS:
        rule: dict[str, Any] = {"alert": alert.name, "expr": alert.expr}
        if alert.for_ is not None:
            rule["for"] = alert.for_
        rule["labels"] = {"severity": alert.severity}
        rule["annotations"] = {
            "summary": alert.summary,
            "runbook_url": links.runbook(alert.name),
            "dashboard_url": links.dashboard(),
        }
        rules.append(rule)
    return rules


# -- the files -----------------------------------------------------------------------------
def rule_files(
    policy: SlaPolicy, *, min_judged: int = DEFAULT_MIN_JUDGED, links: Links | None = None
) -> dict[str, str]:
    """File name -> text of each rule file for ``policy``."""
    if min_judged < 1:
        raise ValueError(f"min_judged must be at least 1, got {min_judged}")
    links = links or Links()
    sla_groups = [
        *recording_groups(policy),
        {"name": "slamon-sla-burn-rate", "rules": burn_rules(min_judged, links)},
    ]
    header = (
        f"# Generated by `slamon rules` from policy {policy.name!r}: do not edit; regenerate\n"
        "# (docs/alerting.md). Metric names: docs/metrics.md.\n"
    )
    return {
        SLA_FILE: header + _dump({"groups": sla_groups}),
        MONITOR_FILE: header + _dump({"groups": [
            {"name": "slamon-monitor", "rules": monitor_rules(links)}]}),
    }  # fmt: skip


def _decimal(value: Fraction) -> str:
    """A fraction with a finite decimal form as plain text: ``14.4``, ``6``, ``0.99``."""
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    if Fraction(text) != value:
        raise ValueError(f"{value} has no short decimal form")
    return text


def _percent(value: Fraction) -> str:
    return f"{_decimal(value * 100)}%"


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line expressions as literal blocks, keys in the order given."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def _dump(document: Mapping[str, Any]) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=1000, allow_unicode=True)


__all__ = [
    "BURN_ALERTS",
    "JOB",
    "MONITOR_ALERTS",
    "UP",
    "BurnAlert",
    "Links",
    "MonitorAlert",
    "rule_files",
]
