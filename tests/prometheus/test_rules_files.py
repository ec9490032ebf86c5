"""The generator and the committed files: factors, windows, guard, objectives; the committed
rules are the generator's output for the default policy; promtool accepts config and rules."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from slamon.adapters import prom_rules as pr
from slamon.adapters.policy_yaml import loads_policy
from slamon.cli import main
from slamon.policies import default_policy_text, load_policy_or_default
from slamon.worker.settings import WorkerSettings
from tests.prometheus.promtool import CONFIG, REGENERATE, RULES_DIR, rules_of, run

DEFAULT = load_policy_or_default(None)


def generated(text: str | None = None, **options: object) -> dict[str, list[dict[str, object]]]:
    """The rules the generator makes for a policy text (default: the bundled policy)."""
    policy = DEFAULT if text is None else loads_policy(text)
    files = pr.rule_files(policy, **options)  # type: ignore[arg-type]
    return {name: [rule for group in yaml.safe_load(body)["groups"] for rule in group["rules"]]
            for name, body in files.items()}  # fmt: skip


def test_burn_factors_are_computed_from_budget_share_and_period() -> None:
    """2% of a 30-day budget in 1 h is 14.4x; 5% in 6 h 6x; 10% in 1 d 3x; 10% in 3 d 1x."""
    factors = {(a.long, a.short): a.factor for a in pr.BURN_ALERTS}
    assert factors == {("1h", "5m"): Fraction(72, 5), ("6h", "30m"): 6,
                       ("1d", "2h"): 3, ("3d", "6h"): 1}  # fmt: skip
    assert [a.severity for a in pr.BURN_ALERTS] == ["page", "page", "ticket", "ticket"]


def test_a_burn_alert_compares_both_windows_and_has_the_guard() -> None:
    """Each burn alert reads its long and short window's error ratio against factor x
    (1 - objective), requires min_judged SLAs in the long window, and links runbook and board."""
    alerts = [r for r in generated(min_judged=25)[pr.SLA_FILE] if r.get("alert") == pr.BURN_ALERT]
    assert len(alerts) == 4
    for alert, burn in zip(alerts, pr.BURN_ALERTS, strict=True):
        expr = str(alert["expr"])
        factor = "14.4" if burn.long == "1h" else str(int(burn.factor))
        assert f"{pr.error_series(burn.long)}\n  > on (priority, sla) ({factor} * (1 - " in expr
        assert f"{pr.error_series(burn.short)}\n  > on (priority, sla) ({factor} * (1 - " in expr
        assert f"{pr.judged_series(burn.long)} >= 25" in expr
        assert alert["labels"] == {"severity": burn.severity, "long_window": burn.long,
                                   "short_window": burn.short}  # fmt: skip
        annotations = alert["annotations"]
        assert isinstance(annotations, dict)
        assert annotations["runbook_url"] == "docs/alerting.md#slaerrorbudgetburn"
        assert str(annotations["dashboard_url"]).startswith(
            "http://localhost:3000/d/slamon-sla-overview?var-priority="
        )


def test_every_window_a_rule_reads_is_recorded() -> None:
    """Error ratios for every burn window and the period; compliance per priority/SLA and per
    region for 1h, 1d, 7d, 30d; quantiles p50/p80/p95 and means of the three histograms."""
    records = {r["record"] for r in generated()[pr.SLA_FILE] if "record" in r}
    for window in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "7d", "30d"):
        assert pr.error_series(window) in records
        assert pr.judged_series(window) in records
    for window in ("1h", "1d", "7d", "30d"):
        assert pr.compliance_series(window) in records
        assert pr.compliance_series(window, pr.BY_REGION) in records
    for sla in ("first_response", "onsite_arrival", "resolution"):
        for name in ("p50", "p80", "p95", "mean"):
            assert f"priority:slamon_{sla}_seconds:{name}_1h" in records
    assert pr.BUDGET_REMAINING == "priority_sla:slamon_sla_error_budget_remaining:ratio30d"
    assert pr.BUDGET_REMAINING in records


def test_compliance_divides_sums_of_counters() -> None:
    """The SLI sums each counter's increase by priority and SLA before dividing."""
    rules = {r["record"]: str(r["expr"]) for r in generated()[pr.SLA_FILE] if "record" in r}
    assert (
        rules[pr.met_series("1d")] == "sum by (priority, sla) (increase(slamon_sla_met_total[1d]))"
    )
    breached = rules[pr.breached_series("1d")]
    assert "sum by (priority, sla) (increase(slamon_sla_breaches_total[1d]))" in breached
    assert "increase(slamon_sla_breach_retractions_total[1d])" in breached
    assert rules[pr.compliance_series("1d")].startswith(f"({pr.met_series('1d')} or 0 * ")
    assert "avg" not in " ".join(rules.values())


def objectives(text: str | None = None) -> dict[tuple[str, str], float]:
    rules = generated(text)[pr.SLA_FILE]
    found = {}
    for rule in rules:
        if rule.get("record") == pr.OBJECTIVE:
            labels = rule["labels"]
            assert isinstance(labels, dict)
            found[labels["priority"], labels["sla"]] = float(str(rule["expr"])[7:-1])
    return found


def test_objectives_come_from_the_policy() -> None:
    """The default policy's objectives (P1 0.99 ... P4 0.9) are recorded per pair; a policy
    setting P2's to 0.995 and P4 resolution's to 0.8 gets those, the rest unchanged."""
    default = objectives()
    assert default["P1", "first_response"] == 0.99
    assert default["P4", "resolution"] == 0.9
    assert len(default) == 12
    text = (
        default_policy_text()
        .replace("P2: {calendar: 24x7,", "P2: {objective: 0.995, calendar: 24x7,")
        .replace("P4: {calendar: office,", "P4: {objective: {resolution: 0.8}, calendar: office,")
    )
    custom = objectives(text)
    assert {k: v for k, v in custom.items() if k[0] == "P2"} == {
        ("P2", sla): 0.995 for sla in ("first_response", "onsite_arrival", "resolution")
    }
    assert custom["P4", "resolution"] == 0.8
    assert custom["P4", "first_response"] == 0.9
    assert custom["P1", "first_response"] == 0.99


def test_min_judged_below_one_is_refused() -> None:
    """A guard of 0 would let a single ticket page."""
    with pytest.raises(ValueError, match="min_judged"):
        pr.rule_files(DEFAULT, min_judged=0)


def test_the_committed_rules_are_the_generators_output() -> None:
    """deploy/prometheus/rules/ holds exactly what `slamon rules` makes of the default policy."""
    for name, text in pr.rule_files(DEFAULT).items():
        path = RULES_DIR / name
        committed = path.read_text(encoding="utf-8") if path.exists() else None
        assert committed == text, f"{path} is stale: regenerate it with `{REGENERATE}`"


def test_rules_command_writes_the_files(tmp_path: Path) -> None:
    """`slamon rules --out DIR` writes both files; the default policy gives the committed ones;
    --min-judged reaches the guard."""
    result = CliRunner().invoke(main, ["rules", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    for name in (pr.SLA_FILE, pr.MONITOR_FILE):
        written = (tmp_path / "r" / name).read_text(encoding="utf-8")
        assert written == (RULES_DIR / name).read_text(encoding="utf-8")
    env = {"SLAMON_RULES_MIN_JUDGED": "40", "SLAMON_RULES_OUT": str(tmp_path / "env")}
    result = CliRunner().invoke(main, ["rules"], env=env)
    assert result.exit_code == 0, result.output
    assert ">= 40" in (tmp_path / "env" / pr.SLA_FILE).read_text(encoding="utf-8")


def test_rules_command_names_a_bad_objective(tmp_path: Path) -> None:
    """An objective of 1 is refused with the file, the line and the field; nothing written."""
    policy = tmp_path / "p.yaml"
    text = default_policy_text().replace("P1: {calendar:", "P1: {objective: 1, calendar:")
    policy.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["rules", "--policy", str(policy), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{policy}:27: spec.priorities.P1.objective: must be between 0 and 1" in result.output
    assert not (tmp_path / pr.SLA_FILE).exists()


def test_prometheus_scrapes_the_workers_default_port() -> None:
    """prometheus.yml: job slamon on the worker's default web port, both rule files, and
    Alertmanager on localhost:9093."""
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = jobs[pr.JOB]["static_configs"][0]["targets"]
    assert targets == [f"127.0.0.1:{WorkerSettings().web_port}"]
    assert config["rule_files"] == [f"rules/{pr.SLA_FILE}", f"rules/{pr.MONITOR_FILE}"]
    alertmanagers = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert alertmanagers == ["localhost:9093"]


def test_promtool_check_config() -> None:
    """`promtool check config` accepts prometheus.yml and the rule files it names."""
    result = run("check", "config", CONFIG)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 rule files found" in result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    """`promtool check rules` accepts both committed rule files."""
    paths = [RULES_DIR / pr.SLA_FILE, RULES_DIR / pr.MONITOR_FILE]
    result = run("check", "rules", *paths)
    assert result.returncode == 0, result.stdout + result.stderr
    total = sum(len(rules_of(path)) for path in paths)
    assert total > 100
