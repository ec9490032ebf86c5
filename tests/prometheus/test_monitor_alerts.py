"""The alerts on the monitor itself, evaluated by `promtool test rules` on the committed
rules: each fires when it should and stays quiet below its threshold (or before its `for`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.prometheus.promtool import (
    MONITOR_RULES,
    assert_passes,
    expected_alert,
    rules_of,
    series,
    unit_tests,
)

RULES = {rule["alert"]: rule for rule in rules_of(MONITOR_RULES)}
TARGET = {"job": "slamon", "instance": "127.0.0.1:6066"}


def every(step: int, until: int, start: int = 0) -> str:
    """A counter one sample a minute for ``until`` minutes, up by one every ``step``."""
    return " ".join(str(start + minute // step) for minute in range(until + 1))


def on_target(name: str, values: str, **labels: str) -> dict[str, str]:
    return {"series": series(name, {**TARGET, **labels}), "values": values}


CLOCKS = on_target(
    "slamon_running_clocks", "5x60", priority="P1", sla="resolution", state="within_target"
)
NO_CLOCKS = on_target(
    "slamon_running_clocks", "0x60", priority="P1", sla="resolution", state="within_target"
)


def slow_delays(bucket: str) -> list[dict[str, str]]:
    """Detection delay histogram: 10 alerts a minute, all in the bucket ending ``bucket``."""
    found = []
    for le in ("0.1", "0.5", "1", "2.5", "+Inf"):
        filled = float(le) >= float(bucket)
        found.append(
            on_target(
                "slamon_alert_detection_delay_seconds_bucket",
                "0+10x40" if filled else "0x40",
                type="breach",
                le=le,
            )
        )
    return found


# alert, input series, eval time, expected alerts' own labels (None: quiet)
CASES: list[tuple[str, str, list[dict[str, str]], str, dict[str, str] | None]] = [
    ("down 3 minutes", "SlamonWorkerDown",
     [on_target("up", "1 1 1 0x10")], "6m", TARGET),
    ("down 1 minute: within for", "SlamonWorkerDown",
     [on_target("up", "1 1 1 0x10")], "4m", None),
    ("up", "SlamonWorkerDown", [on_target("up", "1x10")], "6m", None),
    ("no events, clocks running", "SlamonNoEvents",
     [on_target("slamon_events_total", "100x60", result="processed"), CLOCKS], "45m", {}),
    ("no event series at all, clocks running", "SlamonNoEvents", [CLOCKS], "45m", {}),
    ("events flowing", "SlamonNoEvents",
     [on_target("slamon_events_total", "0+10x60", result="processed"), CLOCKS], "45m", None),
    ("no events, no clock running", "SlamonNoEvents",
     [on_target("slamon_events_total", "100x60", result="processed"), NO_CLOCKS], "45m", None),
    ("lag growing", "SlamonConsumerLagGrowing",
     [on_target("slamon_consumer_lag", "0+100x60", partition="0")], "40m",
     {"instance": TARGET["instance"]}),
    ("lag high but flat", "SlamonConsumerLagGrowing",
     [on_target("slamon_consumer_lag", "5000x60", partition="0")], "40m", None),
    ("lag growing but small", "SlamonConsumerLagGrowing",
     [on_target("slamon_consumer_lag", "0+10x60", partition="0")], "40m", None),
    ("delays of 1-2.5 s", "SlamonDetectionDelayHigh", slow_delays("2.5"), "30m", {}),
    ("delays under 0.5 s", "SlamonDetectionDelayHigh", slow_delays("0.5"), "30m", None),
    ("5% dead-lettered", "SlamonDeadLetters",
     [on_target("slamon_events_total", "0+100x40", result="processed"),
      on_target("slamon_dead_letters_total", "0+5x40", reason="invalid")], "30m", {}),
    ("0.1% dead-lettered", "SlamonDeadLetters",
     [on_target("slamon_events_total", "0+1000x40", result="processed"),
      on_target("slamon_dead_letters_total", "0+1x40", reason="invalid")], "30m", None),
    ("2% dead-lettered but only 3 in 15 minutes", "SlamonDeadLetters",
     [on_target("slamon_events_total", "0+10x40", result="processed"),
      on_target("slamon_dead_letters_total", every(5, 40), reason="invalid")], "30m", None),
    ("3 crashes in 3 minutes", "SlamonAgentCrashLoop",
     [on_target("slamon_agent_crashes_total", "0 1 2 3 3 3")], "5m", TARGET),
    ("3 crashes across a restart", "SlamonAgentCrashLoop",
     [on_target("slamon_agent_crashes_total", "0 1 2 0 1 1")], "5m", TARGET),
    ("one crash", "SlamonAgentCrashLoop",
     [on_target("slamon_agent_crashes_total", "0 1 1 1 1 1 1 1 1 1 1")], "10m", None),
    ("not ready for 20 minutes", "SlamonRecoveryStuck",
     [on_target("slamon_ready", "0x30")], "20m", TARGET),
    ("ready after 5 minutes", "SlamonRecoveryStuck",
     [on_target("slamon_ready", "0x5 1x25")], "20m", None),
]  # fmt: skip


def test_every_monitor_alert_has_cases_both_ways() -> None:
    """Each alert of the monitor file is tested firing and quiet."""
    firing = {alert for _, alert, _, _, labels in CASES if labels is not None}
    quiet = {alert for _, alert, _, _, labels in CASES if labels is None}
    assert firing == quiet == set(RULES)


@pytest.mark.parametrize(
    ("alert", "inputs", "at", "labels"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_monitor_alert(
    tmp_path: Path,
    alert: str,
    inputs: list[dict[str, str]],
    at: str,
    labels: dict[str, str] | None,
) -> None:
    """The alert fires with the expected labels and annotations, or stays quiet."""
    expected: list[dict[str, Any]] = (
        [] if labels is None else [expected_alert(RULES[alert], labels)]
    )
    test = {
        "interval": "1m",
        "input_series": inputs,
        "alert_rule_test": [{"eval_time": at, "alertname": alert, "exp_alerts": expected}],
    }
    assert_passes(unit_tests(tmp_path, [MONITOR_RULES], [test]))
