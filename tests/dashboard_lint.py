"""Checks on the generated Grafana boards in the spirit of grafana's dashboard-linter
(which cannot be installed here), and the PromQL they hold, for the unit and the
integration tests (tests/adapters/test_grafana.py, tests/integration/test_grafana_promql.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

# What the variables stand for when a query is sent to Prometheus as Grafana would send it
# with every value selected: multi-value variables with "All" are the regex .*;
# $__rate_interval is 1m, Grafana's value for the provisioned data source (timeInterval 15s:
# at least four scrape intervals); $__range a 5-minute board.
SUBSTITUTIONS = {
    "$__rate_interval": "1m",
    "$__range": "5m",
    "$__interval": "15s",
    "$window": "1h",
    "$priority": ".*",
    "$sla": ".*",
    "$service": ".*",
    "$region": ".*",
}
# Range selectors that are deliberately not $__rate_interval: the board's range, the
# trailing window variable, and literal windows of an hour or more (budgets, burn rates).
LONG_WINDOWS = {"$__range", "$window"}
_LONG_LITERAL = re.compile(r"([0-9]+)(h|d|w|y)\Z")
_RANGE = re.compile(r"\[([^\]]+)\]")
# A selector with a range: `name{...}[window]` or `name[window]`, and what stands before.
_RANGE_SELECTOR = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)?\s*\(\s*([A-Za-z_:][A-Za-z0-9_:]*)"
                             r"(\{[^}]*\})?\[([^\]]+)\]")  # fmt: skip
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_COUNTER_SUFFIXES = ("_total", "_bucket", "_sum", "_count")


@dataclass(frozen=True)
class Expression:
    board: str
    panel: str
    ref: str
    expr: str

    @property
    def where(self) -> str:
        return f"{self.board} / {self.panel} / {self.ref}"


def panels(board: Json) -> Iterator[Json]:
    """Every panel, rows' nested panels included; rows themselves too."""
    for item in board.get("panels", []):
        yield item
        yield from item.get("panels", [])


def expressions(board: Json) -> Iterator[Expression]:
    for item in panels(board):
        for target in item.get("targets", []):
            if "expr" in target:
                yield Expression(board["uid"], item["title"], target["refId"], target["expr"])


def substitute(expr: str) -> str:
    """The query as Prometheus receives it from Grafana (longest variable names first)."""
    for name in sorted(SUBSTITUTIONS, key=len, reverse=True):
        expr = expr.replace(name, SUBSTITUTIONS[name])
    assert "$" not in expr, f"a variable is left in {expr!r}"
    return expr


def metric_names(expr: str) -> set[str]:
    """The metric and recording-rule names an expression reads (not functions, labels,
    keywords or strings): enough to check each exists, not a PromQL parser."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings out
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers out
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = _RANGE.sub("", text)
    names = set()
    for match in _NAME.finditer(text):
        rest = text[match.end() :].lstrip()
        name = match.group()
        if rest.startswith("(") or name in {"and", "or", "unless", "bool", "offset", "inf"}:
            continue
        if text[: match.start()].endswith(("$", ".")) or re.fullmatch(r"[0-9.e]+", name):
            continue
        names.add(name)
    return names


def problems_in_expression(expr: str, *, heatmap: bool = False) -> list[str]:
    """Counters only inside rate()/increase(), every range selector inside one of them,
    windows $__rate_interval unless deliberately long, buckets only in
    histogram_quantile (or a distribution panel, format heatmap)."""
    found = []
    for match in _RANGE_SELECTOR.finditer(expr):
        function, metric, window = match.group(1), match.group(2), match.group(4)
        if function not in {"rate", "increase"}:
            found.append(f"{metric}[{window}] is inside {function or 'no function'}(), "
                         "not rate() or increase()")  # fmt: skip
        if window != "$__rate_interval" and window not in LONG_WINDOWS:
            literal = _LONG_LITERAL.match(window)
            if literal is None or (literal.group(2) == "h" and int(literal.group(1)) < 1):
                found.append(f"{metric}[{window}]: use $__rate_interval (or a window of an "
                             "hour or more, $__range, $window, deliberately)")  # fmt: skip
    for name in metric_names(expr):
        if name.endswith(_COUNTER_SUFFIXES) and ":" not in name:
            bare = re.search(rf"(?<![A-Za-z0-9_:]){re.escape(name)}(\{{[^}}]*\}})?(?!\s*[\[{{])",
                             expr)  # fmt: skip
            if bare is not None:
                found.append(f"{name} is read outside rate()/increase()")
    if "_bucket" in expr and "histogram_quantile(" not in expr and not heatmap:
        found.append("a _bucket series outside histogram_quantile (and not a distribution)")
    return sorted(set(found))


def problems(board: Json) -> list[str]:
    """What the dashboard-linter would complain about (its rules as we apply them)."""
    found: list[str] = []
    names = [v.get("name") for v in board.get("templating", {}).get("list", [])]
    variables = {v["name"]: v for v in board.get("templating", {}).get("list", [])}
    source = variables.get("datasource")
    if source is None or source.get("type") != "datasource" or source.get("query") != "prometheus":
        found.append("no datasource variable of type prometheus")
    for name in ("priority", "sla", "service", "region"):
        variable = variables.get(name)
        if variable is None or not str(variable.get("definition", "")).startswith("label_values("):
            found.append(f"no label_values variable {name}")
    if len(names) != len(set(names)):
        found.append("a variable name twice")
    ids = [item.get("id") for item in panels(board)]
    if len(ids) != len(set(ids)):
        found.append("panel ids are not unique")
    for item in panels(board):
        title = item.get("title", "")
        if not title:
            found.append(f"panel {item.get('id')} has no title")
        if item["type"] == "row":
            continue
        if not item.get("description"):
            found.append(f"{title}: no description")
        if not item.get("fieldConfig", {}).get("defaults", {}).get("unit"):
            found.append(f"{title}: no unit")
        for target in item.get("targets", []):
            uid = target.get("datasource", {}).get("uid")
            if uid != "${datasource}":
                found.append(f"{title}: query {target.get('refId')} not on $datasource")
            heatmap = target.get("format") == "heatmap"
            found.extend(f"{title} / {target.get('refId')}: {problem}"
                         for problem in problems_in_expression(target.get("expr", ""),
                                                               heatmap=heatmap))  # fmt: skip
        if item["type"] != "alertGroups" and not item.get("targets"):
            found.append(f"{title}: no query")
        if item["type"] != "alertGroups" and item.get("datasource", {}).get("uid") != (
            "${datasource}"
        ):
            found.append(f"{title}: panel not on $datasource")
    return found
