"""Panels, rows, variables and the board around them: the JSON shapes Grafana reads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

PROMETHEUS_UID = "prometheus"  # grafana/provisioning/datasources: the default data source
SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WINDOWS = ("1h", "6h", "1d", "7d", "30d")  # the choices of the $window variable


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
        "options": options if options is not None else default_options(kind),
        "targets": [_target(chr(ord("A") + i), query) for i, query in enumerate(queries)],
    }
    return out


def default_options(kind: str) -> Json:
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


def series_color(name: str, color: str) -> Json:
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}],
    }


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
