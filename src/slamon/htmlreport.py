"""The monthly-review report: one self-contained HTML file (``slamon report --html``).

Charts are pygal's inline SVG (no script or font is fetched: the file opens without a
network); tables are plain HTML. Every figure comes from the replay (the report's
blocks) or :mod:`slamon.core.reportdata`; this module only lays them out. Every text
from the log is escaped.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import pygal
from pygal.style import Style

from slamon.core.aggregates import STANDARD_TARGETS
from slamon.core.durations import format_duration
from slamon.core.policy import PRIORITIES, SLAS, SlaPolicy
from slamon.core.replay import ReplayResult
from slamon.core.reportdata import (
    SHARE_LABELS,
    daily_compliance,
    overall_compliance,
    target_shares,
    top_breaches,
)
from slamon.core.text import clip

# pygal appends a finder for its map plugins to sys.meta_path, of the old kind (no
# find_spec): every later import that reaches it warns (ImportWarning), an error under
# the tests' warning filter. The report draws no map: take it out again.
sys.meta_path[:] = [f for f in sys.meta_path if type(f).__module__ != "pygal"]

COLORS = ("#c0392b", "#e67e22", "#2980b9", "#27ae60")  # P1..P4
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#333333",
              foreground_strong="#111111", foreground_subtle="#999999", colors=COLORS,
              font_family="DejaVu Sans, Arial, sans-serif", title_font_size=16,
              label_font_size=11, legend_font_size=12)  # fmt: skip
SHOWN = 60  # characters of a value from the log shown in a table cell
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 24px auto; max-width: 1200px;
       color: #222; background: #fff; }
h1 { font-size: 24px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 2px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; } td.l, th.l { text-align: left; }
.below { color: #b00; font-weight: bold; } .ok { color: #070; font-weight: bold; }
.chart { width: 100%; max-width: 1100px; } .note { color: #555; font-size: 13px; }
"""


def _e(value: object) -> str:
    return html.escape(clip(str(value), SHOWN))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _dur(seconds: float | None) -> str:
    """A duration to the second; to the minute from an hour on."""
    if seconds is None:
        return "-"
    unit = 60 if seconds >= 3600 else 1
    return format_duration(round(seconds / unit) * unit * 10**9)


def _ns(ns: int) -> str:
    return _dur(ns / 1e9)


def _svg(chart: Any, number: int) -> str:
    """The chart's SVG, inline, with a stable id (pygal draws a random one) and no comments."""
    svg = chart.render(is_unicode=True, disable_xml_declaration=True)
    svg = _COMMENT.sub("", svg)
    return f'<div class="chart">{_UUID.sub(f"{number}", svg)}</div>'


def _chart(kind: Any, title: str, **config: Any) -> Any:
    return kind(title=title, style=STYLE, js=[], width=1100, height=380, legend_at_bottom=True,
                print_values=False, **config)  # fmt: skip


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]], left: int = 1) -> str:
    """A table whose first ``left`` columns are text (left-aligned); cells are escaped
    unless given as ``(html, css class)``."""

    def cell(tag: str, i: int, value: object) -> str:
        css = ["l"] if i < left else []
        text = _e(value)
        if isinstance(value, tuple):
            text, extra = value
            css.append(extra)
        attr = f' class="{" ".join(css)}"' if css else ""
        return f"<{tag}{attr}>{text}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                   for row in rows)  # fmt: skip
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(
    result: ReplayResult, policy: SlaPolicy, by: Sequence[str] = (), source: str = ""
) -> str:
    """The whole report as one HTML document."""
    report = result.report()
    charts = iter(range(1, 1000))
    parts = [_header(report, policy, source)]
    trend_note = ('<p class="note">met / (met + breached) of every SLA of the tickets created '
                  "that day (UTC), per final priority.</p>")  # fmt: skip
    parts += ["<h2>Compliance per day of creation</h2>", trend_note,
              _svg(_trend(result), next(charts))]  # fmt: skip
    parts.append("<h2>Response and arrival times against the target</h2>")
    parts.append(
        '<p class="note">Stopped clocks by elapsed time as a share of their target '
        "(100% = the target; the buckets right of 75-100% are breaches).</p>"
    )
    for sla in ("first_response", "onsite_arrival"):
        parts.append(_svg(_shares(result, sla), next(charts)))
    parts += ["<h2>SLAs per priority</h2>", _sla_table(report, policy)]
    parts += ["<h2>Quality against the standard</h2>", _quality_table(report["quality"])]
    parts.append(_svg(_csat_chart(report["quality"]["csat_by_category"]), next(charts)))
    for dim in by:
        parts += [f"<h2>Breakdown by {_e(dim)}</h2>", _breakdown(report["breakdowns"][dim])]
    parts += ["<h2>Top breached tickets</h2>", _top(result)]
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>slamon report: {_e(policy.name)}</title><style>{CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )


def _header(report: dict[str, Any], policy: SlaPolicy, source: str) -> str:
    events = report["events"]
    return (
        f"<h1>SLA and quality report</h1><p>policy <b>{_e(policy.name)}</b>, "
        f"until <b>{_e(report['until'])}</b>{f', log {_e(source)}' if source else ''}: "
        f"{events['processed']} events processed, {events['invalid']} invalid, "
        f"{events['duplicates']} duplicates, {events['orphans']} orphans; "
        f"{report['quality']['tickets']} tickets.</p>"
    )


def _trend(result: ReplayResult) -> Any:
    days = daily_compliance(result.outcomes, result.folds)
    chart = _chart(pygal.Line, "Compliance per day (%)", range=(0, 100), x_label_rotation=40,
                   show_minor_x_labels=True, allow_interruptions=True)  # fmt: skip
    chart.x_labels = list(days)
    for priority in PRIORITIES:
        values = [days[d][priority]["compliance"] for d in days]
        chart.add(priority, [None if v is None else round(100 * v, 1) for v in values])
    return chart


def _shares(result: ReplayResult, sla: str) -> Any:
    counts = target_shares(result.outcomes, sla)
    chart = _chart(pygal.Bar, f"{sla}: stopped clocks by share of the target")
    chart.x_labels = list(SHARE_LABELS)
    for priority in PRIORITIES:
        chart.add(priority, counts[priority])
    return chart


def _csat_chart(by_category: dict[str, dict[str, Any]]) -> Any:
    chart = _chart(pygal.Bar, "CSAT per product category against the baseline (1..10)",
                   range=(0, 10))  # fmt: skip
    chart.x_labels = [clip(c, 30) for c in by_category]
    chart.add("mean", [cell["mean"] for cell in by_category.values()])
    chart.add("baseline", [cell["baseline"] for cell in by_category.values()])
    return chart


def _sla_table(report: dict[str, Any], policy: SlaPolicy) -> str:
    rows = []
    for priority in PRIORITIES:
        for sla in SLAS:
            row = report["slas"][priority][sla]
            target_s = policy.target_ns(priority, sla) / 1e9
            p80 = row["p80_seconds"]
            mark = "" if p80 is None else ("below" if p80 > target_s else "ok")
            rows.append([priority, sla, row["count"], row["met"], row["breached"], row["open"],
                         _pct(row["compliance"]), _dur(row["mean_seconds"]),
                         (_e(_dur(p80)), mark), _dur(target_s)])  # fmt: skip
    return _table(("priority", "sla", "count", "met", "breached", "open", "compliance", "mean",
                   "p80", "target"), rows, left=2)  # fmt: skip


def _quality_table(quality: dict[str, Any]) -> str:
    target = STANDARD_TARGETS["repair_rate"]
    repair = quality["repair_rate"]
    mark = "" if repair is None else ("ok" if repair > target else "below")
    rows: list[list[object]] = [
        ["repair rate", (_e(_pct(repair)), mark), f"> {_pct(target)}"],
        ["completion rate", _pct(quality["completion_rate"]), ""],
        ["repeat failure rate", _pct(quality["repeat_failure_rate"]), ""],
        ["first-time fix rate", _pct(quality["first_time_fix_rate"]), ""],
        ["reopen rate", _pct(quality["reopen_rate"]), ""],
        ["complaint rate", _pct(quality["complaint_rate"]), ""],
        ["complaint resolution rate", _pct(quality["complaint_resolution_rate"]), ""],
    ]
    for category, cell in quality["csat_by_category"].items():
        mean, baseline = cell["mean"], cell["baseline"]
        mark = "" if cell["gap"] is None else ("ok" if cell["gap"] >= 0 else "below")
        shown = "-" if mean is None else f"{mean:.2f} (n={cell['count']})"
        rows.append([f"CSAT {category}", (_e(shown), mark),
                     "" if baseline is None else f"baseline {baseline:.1f}"])  # fmt: skip
    return _table(("figure", "value", "the standard"), rows)


def _breakdown(values: dict[str, dict[str, Any]]) -> str:
    rows = []
    for value, group in values.items():
        quality = group["quality"]
        csat = quality["csat_mean"]
        rows.append([value, quality["tickets"],
                     *(_pct(overall_compliance(group["slas"], sla)) for sla in SLAS),
                     _pct(quality["repair_rate"]), _pct(quality["completion_rate"]),
                     _pct(quality["repeat_failure_rate"]), _pct(quality["complaint_rate"]),
                     "-" if csat is None else f"{csat:.2f}"])  # fmt: skip
    return _table(("value", "tickets", *(f"{s} compliance" for s in SLAS), "repair rate",
                   "completion", "repeat failures", "complaints", "CSAT"), rows)  # fmt: skip


def _top(result: ReplayResult) -> str:
    rows = [[o.ticket_id, o.priority, o.sla, _ns(o.elapsed_ns), _ns(o.target_ns),
             _ns(o.elapsed_ns - o.target_ns),
             "stopped" if o.stopped else "running"]
            for o in top_breaches(result.outcomes)]  # fmt: skip
    if not rows:
        return "<p>No breach.</p>"
    return _table(("ticket", "priority", "sla", "elapsed", "target", "over by", "clock"), rows,
                  left=3)  # fmt: skip
