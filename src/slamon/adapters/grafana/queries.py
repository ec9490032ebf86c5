"""PromQL of the boards: the variables' matchers, and ratios of summed counters."""

from __future__ import annotations

from collections.abc import Sequence

RATE = "$__rate_interval"  # every rate() and increase() of a time series
RANGE = "$__range"  # figures over the board's time range (stat and bar-gauge panels)
WINDOW = "$window"  # the trailing window of ratio time series (compliance, quality)

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
