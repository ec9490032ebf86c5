"""The recording rules of the committed SLA rules, evaluated by `promtool test rules`:
compliance as a ratio of summed counters (per priority/SLA and per region), the error
budget remaining, duration quantiles and means."""

from __future__ import annotations

from pathlib import Path

from slamon.adapters import prom_rules as pr
from tests.prometheus.promtool import SLA_RULES, assert_passes, series, unit_tests

PAIR = {"priority": "P1", "sla": "first_response"}


def sli(met: str, breaches: str, **labels: str) -> list[dict[str, str]]:
    labels = {**PAIR, "service": "onsite", "region": "none", **labels}
    return [
        {"series": series(pr.MET, labels), "values": met},
        {"series": series(pr.BREACHES, labels), "values": breaches},
    ]


def sample(expr: str, value: float, labels: dict[str, str] | None = None) -> dict[str, object]:
    """A promql_expr_test at 60m: ``expr`` has one sample with ``labels``, its value within
    1e-9 of ``value`` (promtool compares floats exactly; the rules divide)."""
    labels = labels if labels is not None else PAIR
    low, high = value - 1e-9, value + 1e-9
    return {
        "expr": f"count by ({', '.join(labels)}) ({expr} >= {low!r} <= {high!r})",
        "eval_time": "60m",
        "exp_samples": [{"labels": series("", labels), "value": 1}],
    }


def run(tmp_path: Path, inputs: list[dict[str, str]], checks: list[dict[str, object]]) -> None:
    test = {"interval": "1m", "input_series": inputs, "promql_expr_test": checks}
    assert_passes(unit_tests(tmp_path, [SLA_RULES], [test]))


def test_compliance_is_a_ratio_of_sums_not_an_average_of_ratios(tmp_path: Path) -> None:
    """Two regions, 100% of 1 a minute and 50% of 10 a minute: 6/11 met overall (an
    average of the two ratios would say 75%); each region keeps its own ratio."""
    inputs = [*sli("0+1x60", "0x60", region="north"), *sli("0+5x60", "0+5x60", region="south")]
    region = {**PAIR, "region": "north"}
    run(tmp_path, inputs, [
        sample(pr.compliance_series("1h"), 6 / 11),
        sample(pr.judged_series("1h"), 660),
        sample(pr.error_series("1h"), 5 / 11),
        sample(pr.compliance_series("1h", pr.BY_REGION), 1, region),
        sample(pr.compliance_series("1h", pr.BY_REGION), 0.5, {**PAIR, "region": "south"}),
    ])  # fmt: skip


def test_retractions_are_taken_off_the_breaches(tmp_path: Path) -> None:
    """met 8, breaches 4 and 2 retracted a minute: 8 / (8 + 4 - 2) = 80% met."""
    labels = {**PAIR, "service": "onsite", "region": "none"}
    inputs = [
        *sli("0+8x60", "0+4x60"),
        {"series": series(pr.RETRACTIONS, labels), "values": "0+2x60"},
    ]
    run(tmp_path, inputs, [sample(pr.compliance_series("1h"), 0.8)])


def test_a_pair_with_no_breach_yet_is_fully_compliant(tmp_path: Path) -> None:
    """Only the met counter exists: compliance 1 and error ratio 0, not a missing series."""
    inputs = sli("0+3x60", "0x60")[:1]
    run(tmp_path, inputs, [
        sample(pr.compliance_series("1h"), 1),
        sample(pr.error_series("1h"), 0),
        sample(pr.compliance_series("30d"), 1),
    ])  # fmt: skip


def test_error_budget_remaining_over_the_period(tmp_path: Path) -> None:
    """P1's objective 0.99 (the default policy): 1 breached in 200 spends half the budget
    (remaining 0.5); the objective itself is a recorded series."""
    inputs = sli("0+199x60", "0+1x60")
    run(tmp_path, inputs, [
        sample(pr.OBJECTIVE + "{sla=\"first_response\"}", 0.99),
        sample(pr.BUDGET_REMAINING, 0.5),
    ])  # fmt: skip


def test_quantiles_and_mean_from_the_histogram(tmp_path: Path) -> None:
    """10 first responses a minute, 8 within 300 s and 2 within 1200 s, 200 s mean:
    p50 = 187.5 s, p80 = 300 s (a bucket edge: the target), p95 = 975 s, mean 200 s."""
    name = "slamon_first_response_seconds"
    inputs = [
        {"series": series(f"{name}_bucket", {"priority": "P1", "le": "300"}), "values": "0+8x60"},
        {"series": series(f"{name}_bucket", {"priority": "P1", "le": "1200"}), "values": "0+10x60"},
        {"series": series(f"{name}_bucket", {"priority": "P1", "le": "+Inf"}), "values": "0+10x60"},
        {"series": series(f"{name}_sum", {"priority": "P1"}), "values": "0+2000x60"},
        {"series": series(f"{name}_count", {"priority": "P1"}), "values": "0+10x60"},
    ]
    p1 = {"priority": "P1"}
    run(tmp_path, inputs, [
        sample(pr.quantile_series("first_response", "p50", "1h"), 187.5, p1),
        sample(pr.quantile_series("first_response", "p80", "1h"), 300, p1),
        sample(pr.quantile_series("first_response", "p95", "1h"), 975, p1),
        sample(pr.mean_series("first_response", "1h"), 200, p1),
    ])  # fmt: skip
