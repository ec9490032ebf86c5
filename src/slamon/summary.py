"""A readable summary table of a replay report, for people at a terminal.

It shows figures only, never customer data: no ticket, technician, region or tier
names (breakdowns are in the JSON report); product categories are clipped.
"""

from __future__ import annotations

import io
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from slamon.core.aggregates import STANDARD_TARGETS
from slamon.core.policy import PRIORITIES, SLAS
from slamon.core.text import clip

WIDTH = 100  # the summary fits a 100-column terminal
SHOWN_CATEGORY = 24  # characters of a product category the summary shows
QUALITY_ROWS = (
    ("repair_rate", "repair rate", f"target > {100 * STANDARD_TARGETS['repair_rate']:.0f}%",
     "resolved at T / tickets"),
    ("completion_rate", "completion rate", "", "resolution met / resolution stopped"),
    ("repeat_failure_rate", "repeat failure rate", "",
     "another ticket of the asset within the window"),
    ("complaint_rate", "complaint rate", "", "tickets with a complaint / tickets"),
    ("complaint_resolution_rate", "complaint resolution", "",
     "all complaints resolved / with a complaint"),
)  # fmt: skip


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
    if "repair_rate" in quality:
        lines += ["", _render(_quality_table(quality))]
        if quality["csat_by_category"]:
            lines += ["", _render(_csat_table(quality["csat_by_category"]))]
    if report.get("breakdowns"):
        dims = ", ".join(f"{dim} ({len(values)})" for dim, values in report["breakdowns"].items())
        lines += ["", f"breakdowns by {dims}: in the report (--report FILE)"]
    lines += [
        "",
        (
            f"first-time fix rate {_pct(quality['first_time_fix_rate'])}   "
            f"reopen rate {_pct(quality['reopen_rate'])}   "
            f"CSAT {'-' if csat is None else f'{csat:.2f}'} / 10 (n={quality['csat_count']})"
        ),
    ]
    return "\n".join(lines)


def _render(table: Table) -> str:
    out = io.StringIO()
    Console(file=out, width=WIDTH, color_system=None, force_terminal=False,
            legacy_windows=False).print(table)  # fmt: skip
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def _quality_table(quality: dict[str, Any]) -> Table:
    table = Table(title=f"quality over {quality['tickets']} tickets", box=box.SIMPLE_HEAD,
                  title_justify="left", pad_edge=False, show_edge=False)  # fmt: skip
    for header, justify in (("figure", "left"), ("value", "right"), ("standard", "left"),
                            ("definition", "left")):  # fmt: skip
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    for key, label, standard, definition in QUALITY_ROWS:
        table.add_row(label, _pct(quality[key]), standard, definition)
    return table


def _csat_table(by_category: dict[str, dict[str, Any]]) -> Table:
    table = Table(title="CSAT per product category (1..10)", box=box.SIMPLE_HEAD,
                  title_justify="left", pad_edge=False, show_edge=False)  # fmt: skip
    for header in ("category", "mean", "surveys", "baseline", "gap"):
        table.add_column(header, justify="left" if header == "category" else "right")
    for category, cell in by_category.items():
        table.add_row(
            clip(category, SHOWN_CATEGORY),
            _score(cell["mean"]),
            str(cell["count"]),
            _score(cell["baseline"]),
            "-" if cell["gap"] is None else f"{cell['gap']:+.2f}",
        )
    return table


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
