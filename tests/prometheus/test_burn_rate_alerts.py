"""The burn-rate alerts of the committed SLA rules, evaluated by `promtool test rules`.

Input: the SLI counters of docs/metrics.md for one (priority, SLA) pair, one sample a
minute. P1's objective is 0.99 (budget 1%), so the four window pairs fire above error
ratios of 14.4%, 6%, 3% and 1%; P3's is 0.95 (budget 5%): 72%, 30%, 15%, 5%.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from slamon.adapters import prom_rules
from slamon.adapters.policy_yaml import loads_policy
from slamon.policies import default_policy_text, load_policy_or_default
from tests.prometheus.promtool import (
    MONITOR_RULES,
    SLA_RULES,
    assert_passes,
    expected_alert,
    rules_of,
    series,
    unit_tests,
)

ALERT = prom_rules.BURN_ALERT


def burn_rules_in(path: Path) -> dict[str, dict[str, Any]]:
    """The burn-rate alert rules of a rule file, by long window."""
    return {rule["labels"]["long_window"]: rule for rule in rules_of(path)
            if rule.get("alert") == ALERT}  # fmt: skip


BURN_RULES = burn_rules_in(SLA_RULES)
PAIR = {"priority": "P1", "sla": "first_response"}
LABELS = {**PAIR, "service": "onsite", "region": "none"}
EVAL = "70m"  # every window has at least 70 minutes of data (or all there is)


def counters(
    met: str, breaches: str, retractions: str | None = None, labels: dict[str, str] = LABELS
) -> list[dict[str, str]]:
    """Input series for the three SLI counters, in promtool's expanding notation."""
    found = [
        {"series": series(prom_rules.MET, labels), "values": met},
        {"series": series(prom_rules.BREACHES, labels), "values": breaches},
    ]
    if retractions is not None:
        found.append({"series": series(prom_rules.RETRACTIONS, labels), "values": retractions})
    return found


def burning(
    long_windows: Iterable[str], pair: dict[str, str] = PAIR, path: Path = SLA_RULES
) -> list[dict[str, Any]]:
    """The alerts expected for these window pairs (by long window) of ``pair``."""
    rules = burn_rules_in(path)
    return [expected_alert(rules[window], pair) for window in long_windows]


def case(inputs: list[dict[str, str]], alerts: list[dict[str, Any]], at: str = EVAL) -> Any:
    return {
        "interval": "1m",
        "input_series": inputs,
        "alert_rule_test": [{"eval_time": at, "alertname": ALERT, "exp_alerts": alerts}],
    }


def test_the_committed_rules_have_the_four_window_pairs() -> None:
    """Page on 1h&5m and 6h&30m, ticket on 1d&2h and 3d&6h, as in the SRE workbook."""
    pairs = {
        w: (r["labels"]["short_window"], r["labels"]["severity"]) for w, r in BURN_RULES.items()
    }
    assert pairs == {"1h": ("5m", "page"), "6h": ("30m", "page"),
                     "1d": ("2h", "ticket"), "3d": ("6h", "ticket")}  # fmt: skip


@pytest.mark.parametrize(
    ("met_per_minute", "breaches_per_minute", "firing"),
    [
        (8, 2, ["1h", "6h", "1d", "3d"]),  # 20% > 14.4%: every pair
        (9, 1, ["6h", "1d", "3d"]),  # 10%: above 6x, below 14.4x
        (24, 1, ["1d", "3d"]),  # 4%: above 3x, below 6x
        (49, 1, ["3d"]),  # 2%: above 1x only
        (199, 1, []),  # 0.5%: within the budget
    ],
    ids=["20%", "10%", "4%", "2%", "0.5%"],
)
def test_each_window_pair_fires_above_its_burn_rate_only(
    tmp_path: Path, met_per_minute: int, breaches_per_minute: int, firing: list[str]
) -> None:
    """A steady error ratio fires exactly the window pairs whose factor x budget it
    exceeds: the burn rates cross 14.4x, 6x, 3x and 1x of P1's 1% budget in turn."""
    inputs = counters(f"0+{met_per_minute}x80", f"0+{breaches_per_minute}x80")
    assert_passes(unit_tests(tmp_path, [SLA_RULES], [case(inputs, burning(firing))]))


def test_the_objective_of_the_priority_sets_the_thresholds(tmp_path: Path) -> None:
    """20% breached pages for P1 (objective 0.99) but only makes a ticket for P3 (0.95:
    budget 5%, 20% is above 3x = 15% and below 6x = 30%); P3's clocks are in office hours,
    which changes nothing here: the counters count SLAs judged in their own calendar."""
    pair = {"priority": "P3", "sla": "resolution"}
    inputs = counters("0+8x80", "0+2x80", labels={**pair, "service": "remote", "region": "x"})
    assert_passes(unit_tests(tmp_path, [SLA_RULES], [case(inputs, burning(["1d", "3d"], pair))]))


def test_the_short_window_stops_the_page_once_breaches_stop(tmp_path: Path) -> None:
    """Breaches stopped 10 minutes ago: the 1h window still burns over 14.4x but the 5m one
    is clean, so the 1h&5m page is quiet while the 6h&30m page still fires."""
    inputs = counters("0+8x80", "0+2x60 120+0x20")
    assert_passes(unit_tests(tmp_path, [SLA_RULES], [case(inputs, burning(["6h", "1d", "3d"]))]))


def test_retracted_breaches_do_not_burn(tmp_path: Path) -> None:
    """Every breach retracted (late events, priority changes): nothing burns."""
    inputs = counters("0+8x80", "0+2x80", retractions="0+2x80")
    assert_passes(unit_tests(tmp_path, [SLA_RULES], [case(inputs, [])]))


def test_a_pair_with_no_breach_series_does_not_burn(tmp_path: Path) -> None:
    """Only the met counter exists (no breach yet): no alert, and no error either."""
    inputs = counters("0+8x80", "")[:1]
    assert_passes(unit_tests(tmp_path, [SLA_RULES], [case(inputs, [])]))


def sparse(minutes: Iterable[int], until: int = 80) -> str:
    """A counter that goes up by one at each of ``minutes``."""
    marks, value, values = set(minutes), 0, []
    for minute in range(until + 1):
        value += minute in marks
        values.append(str(value))
    return " ".join(values)


# 6 SLAs judged an hour, half of them breached, one breached 2 minutes before EVAL
FEW_MET = sparse([15, 35, 55])
FEW_BREACHED = sparse([25, 45, 68])


def test_a_handful_of_tickets_cannot_page(tmp_path: Path) -> None:
    """Half breached, but only 6 SLAs judged in the last hour (and 6 in 3 days): below the
    guard of 10 judged in the long window, no window pair fires."""
    inputs = counters(FEW_MET, FEW_BREACHED)
    assert_passes(unit_tests(tmp_path, [SLA_RULES], [case(inputs, [])]))


def test_the_guard_is_what_holds_them(tmp_path: Path) -> None:
    """The same handful with rules generated with --min-judged 2: every pair fires, so it
    is the guard, not the ratios, that kept them quiet."""
    files = prom_rules.rule_files(load_policy_or_default(None), min_judged=2)
    path = tmp_path / prom_rules.SLA_FILE
    path.write_text(files[prom_rules.SLA_FILE], encoding="utf-8")
    inputs = counters(FEW_MET, FEW_BREACHED)
    assert_passes(unit_tests(tmp_path, [path], [case(inputs, burning(BURN_RULES, path=path))]))


def test_a_custom_objective_changes_when_it_pages(tmp_path: Path) -> None:
    """A policy with P1 objective 0.999 (budget 0.1%) pages at 2% breached, which the
    default 0.99 only makes a 3d ticket of."""
    text = default_policy_text().replace(
        "P1: {calendar: 24x7,", "P1: {objective: 0.999, calendar: 24x7,"
    )
    files = prom_rules.rule_files(loads_policy(text))
    path = tmp_path / prom_rules.SLA_FILE
    path.write_text(files[prom_rules.SLA_FILE], encoding="utf-8")
    inputs = counters("0+49x80", "0+1x80")
    assert_passes(unit_tests(tmp_path, [path], [case(inputs, burning(BURN_RULES, path=path))]))


def test_burn_rules_and_monitor_rules_load_together(tmp_path: Path) -> None:
    """Both committed files in one rule set: no name clash, no alert from idle input."""
    assert_passes(
        unit_tests(tmp_path, [SLA_RULES, MONITOR_RULES], [case(counters("0x80", "0x80"), [])])
    )
