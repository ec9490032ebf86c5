"""A readable summary table of a replay report, for people at a terminal."""

from __future__ import annotations

from typing import Any

from slamon.core.policy import PRIORITIES, SLAS


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def render_summary(report: dict[str, Any], policy_name: str = "") -> str:
    events = report["events"]
    lines = [
        f"slamon replay  policy={policy_name}  until={report['until']}",
        (
            "events: {processed} processed, {invalid} invalid, {duplicates} duplicates, "
            "{orphans} orphans"
        ).format(**events),
        "",
        (
            f"{'priority':8} {'sla':15} {'count':>7} {'met':>7} {'breached':>8} {'open':>6} "
            f"{'compliance':>10} {'p80':>8}"
        ),
    ]
    for priority in PRIORITIES:
        for sla in SLAS:
            row = report["slas"][priority][sla]
            lines.append(
                f"{priority:8} {sla:15} {row['count']:>7} {row['met']:>7} {row['breached']:>8} "
                f"{row['open']:>6} {_pct(row['compliance']):>10} {_dur(row['p80_seconds']):>8}"
            )
    quality = report["quality"]
    csat = quality["csat_mean"]
    lines += [
        "",
        (
            f"first-time fix rate {_pct(quality['first_time_fix_rate'])}   "
            f"reopen rate {_pct(quality['reopen_rate'])}   "
            f"CSAT {'-' if csat is None else f'{csat:.2f}'} / 10 (n={quality['csat_count']})"
        ),
    ]
    return "\n".join(lines)
