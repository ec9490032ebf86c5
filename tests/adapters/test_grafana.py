"""The Grafana boards: committed JSON up to date, structure as the dashboard-linter wants it,
thresholds from the policy. Their PromQL on real data: tests/integration/test_grafana_promql.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from slamon.adapters.grafana import BOARD_UIDS, compliance, dashboards, render
from slamon.cli import main
from slamon.core.policy import policy_from_dict
from slamon.policies import load_policy_or_default
from tests.dashboard_lint import (
    expressions,
    metric_names,
    panels,
    problems,
    problems_in_expression,
    substitute,
)

BOARDS_DIR = Path(__file__).parents[2] / "grafana" / "dashboards"
REGENERATE = "regenerate with `.venv/bin/slamon dashboards` (writes grafana/dashboards/)"


def _boards() -> dict[str, dict[str, Any]]:
    return dashboards(load_policy_or_default(None))


def _panel(board: dict[str, Any], title: str) -> dict[str, Any]:
    return next(p for p in panels(board) if p["title"] == title)


def test_committed_boards_are_the_generated_ones() -> None:
    """grafana/dashboards/ holds exactly what `slamon dashboards` writes for the default
    policy; a change to the builders or the policy without regenerating fails here."""
    boards = _boards()
    committed = {p.name for p in BOARDS_DIR.glob("*.json")}
    assert committed == set(boards), f"boards on disk differ from the generated set: {REGENERATE}"
    for name, board in boards.items():
        text = (BOARDS_DIR / name).read_text(encoding="utf-8")
        assert text == render(board), f"grafana/dashboards/{name} is stale: {REGENERATE}"


def test_boards_have_their_stable_uids() -> None:
    """The four boards keep the uids links point at (rules' dashboard_url: slamon-sla-overview)."""
    uids = [board["uid"] for board in _boards().values()]
    assert uids == list(BOARD_UIDS)
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", sorted(_boards()))
def test_board_passes_the_lint(name: str) -> None:
    """Datasource variable, label_values variables, a title, description and unit on every
    panel, counters inside rate()/increase() with $__rate_interval or a deliberate window."""
    assert problems(_boards()[name]) == []


@pytest.mark.parametrize("name", sorted(_boards()))
def test_every_query_substitutes_to_plain_promql(name: str) -> None:
    """Every variable a query uses is one the PromQL test substitutes (none left over)."""
    found = list(expressions(_boards()[name]))
    assert found
    for expression in found:
        assert "$" not in substitute(expression.expr), expression.where


def test_lint_catches_what_it_is_for() -> None:
    """The linter is not a rubber stamp: a raw counter, a short literal window, a bare
    bucket, a gauge in rate() each give a problem; the board's own shapes give none."""
    assert problems_in_expression("sum(slamon_events_total)")
    assert problems_in_expression("sum(rate(slamon_events_total[5m]))")
    assert problems_in_expression("sum by (le) (slamon_csat_score_bucket)")
    assert problems_in_expression("sum by (le) (rate(slamon_csat_score_bucket[$__rate_interval]))")
    assert problems_in_expression("max_over_time(slamon_ready[$__rate_interval])")
    assert problems_in_expression("sum(rate(slamon_events_total[$__rate_interval]))") == []
    assert problems_in_expression("sum(increase(slamon_sla_met_total[30d]))") == []
    assert problems_in_expression(
        "sum by (le) (increase(slamon_csat_score_bucket[$__range]))", heatmap=True
    ) == []  # fmt: skip


def test_metric_names_skip_functions_labels_and_strings() -> None:
    """metric_names finds what the PromQL test checks exists, nothing else."""
    expr = (
        'histogram_quantile(0.8, sum by (le, priority) (rate(slamon_x_bucket{priority=~"$p"}'
        "[$__rate_interval]))) / on (priority) (1 - priority_sla:slamon_sla_objective:ratio)"
    )
    assert metric_names(expr) == {"slamon_x_bucket", "priority_sla:slamon_sla_objective:ratio"}


def test_compliance_is_a_ratio_of_sums() -> None:
    """Compliance divides summed met by summed judged (met + breaches - retractions), no
    average of ratios anywhere."""
    expr = compliance("priority, sla", "$__range")
    assert "avg" not in expr
    numerator, denominator = expr.split("\n/ ")
    assert numerator.startswith("(sum by (priority, sla) (increase(slamon_sla_met_total{")
    for name in ("slamon_sla_met_total", "slamon_sla_breaches_total",
                 "slamon_sla_breach_retractions_total"):  # fmt: skip
        assert f"sum by (priority, sla) (increase({name}{{" in denominator


def test_thresholds_are_the_policy_targets_and_objectives() -> None:
    """The p80 panels' lines sit at the policy's targets, the compliance lines at its
    objectives; another policy gives other lines (and a per-SLA objective an override)."""
    board = _boards()["slamon-sla-overview.json"]
    steps = _panel(board, "P1 p80 first response")["fieldConfig"]["defaults"]["thresholds"]
    assert steps["steps"][-1] == {"color": "red", "value": 300.0}  # 5m in the default policy
    on_site = _panel(board, "P4 p80 on-site arrival")["fieldConfig"]["defaults"]["thresholds"]
    assert on_site["steps"][-1]["value"] == 24 * 3600
    p3 = _panel(board, "P3 compliance by SLA")["fieldConfig"]["defaults"]["thresholds"]
    assert p3["steps"][-1] == {"color": "green", "value": 0.95}

    custom = policy_from_dict({
        "apiVersion": "slamon/v1", "kind": "SlaPolicy", "metadata": {"name": "custom"},
        "spec": {"priorities": {
            p: {"first_response": "90s", "onsite_arrival": "2h", "resolution": "4h",
                "objective": {"resolution": 0.9}} if p == "P1" else
               {"first_response": "1h", "onsite_arrival": "8h", "resolution": "1d"}
            for p in ("P1", "P2", "P3", "P4")}},
    })  # fmt: skip
    other = dashboards(custom)["slamon-sla-overview.json"]
    line = _panel(other, "P1 p80 first response")["fieldConfig"]["defaults"]["thresholds"]
    assert line["steps"][-1]["value"] == 90.0
    p1 = _panel(other, "P1 compliance by SLA")["fieldConfig"]
    assert p1["defaults"]["thresholds"]["steps"][-1]["value"] == 0.99
    assert [o["matcher"]["options"] for o in p1["overrides"]] == ["resolution"]
    assert p1["overrides"][0]["properties"][0]["value"]["steps"][-1]["value"] == 0.9


def test_oncall_board_has_the_alertmanager_list_beside_burn_rate_alerts() -> None:
    """The on-call board lists Alertmanager's alerts (uid alertmanager) and the Prometheus
    ALERTS of the burn-rate rules with severity page|ticket."""
    board = _boards()["slamon-oncall.json"]
    groups = next(p for p in panels(board) if p["type"] == "alertGroups")
    assert groups["datasource"] == {"type": "alertmanager", "uid": "alertmanager"}
    assert groups["options"]["alertmanager"] == "Alertmanager"
    exprs = [e.expr for e in expressions(board)]
    assert any('alertname="SlaErrorBudgetBurn",severity=~"page|ticket"' in e for e in exprs)


def test_dashboards_command_writes_the_boards(tmp_path: Path) -> None:
    """`slamon dashboards --out DIR` writes the four boards, valid JSON, as render() gives."""
    result = CliRunner().invoke(main, ["dashboards", "--out", str(tmp_path / "boards")])
    assert result.exit_code == 0, result.output
    written = sorted(p.name for p in (tmp_path / "boards").iterdir())
    assert written == sorted(_boards())
    for name, board in _boards().items():
        assert json.loads((tmp_path / "boards" / name).read_text()) == board


def test_every_panel_is_in_the_docs_table() -> None:
    """docs/metrics.md#boards has a row for every panel (P1..P4 panels on one row), and no
    row for a panel that is gone."""
    text = (Path(__file__).parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8")
    section = text.split("\n## Boards\n", 1)[1]
    rows = {line.split(" | ")[1] for line in section.splitlines() if line.startswith("| ")}
    rows -= {"panel", "---"}
    titles = {
        re.sub(r"^P[1-4] (.*)", r"P1 … P4 \1 (one panel each)", p["title"])
        for board in _boards().values()
        for p in panels(board)
        if p["type"] != "row"
    }
    assert titles == rows
