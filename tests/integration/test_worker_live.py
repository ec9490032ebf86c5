"""Absence detection on a real broker: deadlines fire with no event, across kills and rebalances."""

from __future__ import annotations

import signal
import time
from collections import Counter

import orjson

from slamon.core.decisions import AlertType
from slamon.core.timefmt import NS_PER_S, parse_rfc3339
from tests.integration.harness import (
    Deployment,
    alert_ids,
    created_now,
    expected_breach_ids,
    short_policy,
    wait_until,
)


def test_breach_alerts_fire_within_a_second_of_their_deadline(deployment: Deployment) -> None:
    """Tickets that never get another event breach on time: each alert within 1 s."""
    deployment.policy = short_policy(deployment.tmp)
    worker = deployment.worker().start()
    lines = created_now(24, "pro", time.time_ns() + NS_PER_S)
    expected = expected_breach_ids(lines)
    deployment.publish(lines)

    def all_fired() -> bool:
        return expected <= set(alert_ids(deployment.read("alerts")))

    wait_until(all_fired, 40, "every breach alert")
    delays = []
    for message in deployment.read("alerts"):
        alert = orjson.loads(message.value or b"")
        if alert["type"] == AlertType.BREACHED:
            data = alert["data"]
            delays.append(parse_rfc3339(data["detected_at"]) - parse_rfc3339(data["at"]))
    assert len(delays) == len(expected)
    assert max(delays) <= NS_PER_S, sorted(delays)[-5:]
    assert min(delays) >= 0
    histogram = "slamon_alert_detection_delay_seconds_bucket"
    clock = {"type": AlertType.BREACHED, "found_by": "clock"}
    within = worker.metric(histogram, le="1.0", **clock)
    assert within == len(expected) == worker.metric(histogram, le="+Inf", **clock)


def test_killed_worker_loses_no_alert_after_restart(deployment: Deployment) -> None:
    """SIGKILL with deadlines pending; the restarted worker emits every due alert."""
    deployment.policy = short_policy(deployment.tmp)
    first = deployment.worker(0).start()
    lines = created_now(40, "rst", time.time_ns() + NS_PER_S)
    expected = expected_breach_ids(lines)
    deployment.publish(lines)
    wait_until(lambda: first.metric("slamon_events_total", result="processed") == len(lines),
               20, "the first worker to take every ticket")  # fmt: skip
    time.sleep(1.0)  # let the table changelog flush; the first deadline is ~4 s away
    first.kill(signal.SIGKILL)
    before = set(alert_ids(deployment.read("alerts")))
    assert before < expected, "the kill must come before every deadline has passed"

    second = deployment.worker(1).start()

    def all_fired() -> bool:
        return expected <= set(alert_ids(deployment.read("alerts")))

    wait_until(all_fired, 60, "every breach alert after the restart")
    counts = Counter(alert_ids(deployment.read("alerts")))
    duplicates = sum(n - 1 for n in counts.values())
    assert set(counts) == expected
    assert duplicates <= len(expected)  # at most one repeat per alert: bounded
    assert second.metric("slamon_ready") == 1


def test_rebalance_between_two_workers_loses_no_alert(deployment: Deployment) -> None:
    """A second worker joins and the first leaves while deadlines pass: every alert fires."""
    deployment.policy = short_policy(deployment.tmp)
    first = deployment.worker(0).start()
    start = time.time_ns() + NS_PER_S
    lines = created_now(20, "rb1", start) + created_now(20, "rb2", start + 6 * NS_PER_S)
    expected = expected_breach_ids(lines)
    deployment.publish(lines)
    second = deployment.worker(1).start()  # joins: partitions move while deadlines pass
    time.sleep(6)
    first.kill(signal.SIGTERM)  # leaves: everything moves to the second worker

    def all_fired() -> bool:
        return expected <= set(alert_ids(deployment.read("alerts")))

    wait_until(all_fired, 60, "every breach alert across the rebalances")
    counts = Counter(alert_ids(deployment.read("alerts")))
    assert set(counts) == expected
    assert sum(n - 1 for n in counts.values()) <= len(expected)
    assert second.metric("slamon_ready") == 1
