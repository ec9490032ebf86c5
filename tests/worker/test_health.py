"""Readiness and giving up: recovery, agent crash loops, outputs stalled on the broker."""

from __future__ import annotations

import structlog.testing
from prometheus_client import CollectorRegistry

from slamon.adapters.outbox import OutboxStats
from slamon.worker.health import CRASH_LIMIT, STALL_NOT_READY_S, Health, HealthCollector
from slamon.worker.settings import WorkerSettings


class Seconds:
    """A monotonic clock in float seconds, set by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _health(recovered: bool = True) -> tuple[Health, Seconds]:
    clock = Seconds()
    limit = WorkerSettings().recovery_stall_limit_s
    health = Health(OutboxStats(), recovered=lambda: recovered, recovery_stall_limit_s=limit,
                    clock=clock)  # fmt: skip
    health.started = True
    return health, clock


def test_a_recovered_worker_with_flowing_outputs_is_ready() -> None:
    """Ready, with the facts: recovered, no recent crash, outputs not stalled."""
    health, _ = _health()
    assert health.status() == (True, {"ready": True, "started": True, "recovered": True,
                                      "agent_crashes_last_minute": 0,
                                      "outputs_stalled_seconds": 0.0,
                                      "broker_silent_seconds": 0.0,
                                      "recovery_stalled_seconds": 0.0})  # fmt: skip


def test_not_ready_until_the_table_is_recovered() -> None:
    """Before recovery the worker cannot decide for its partitions."""
    health, _ = _health(recovered=False)
    assert health.status()[0] is False


def test_a_crash_makes_it_unready_for_a_minute_and_a_crash_loop_means_give_up() -> None:
    """One crash: unready for 60 s; CRASH_LIMIT crashes within a minute: the worker should exit."""
    health, clock = _health()
    assert health.agent_crashed(RuntimeError("boom")) is False
    assert health.status()[1]["agent_crashes_last_minute"] == 1
    assert health.status()[0] is False
    clock.now += 61
    assert health.status()[0] is True
    results = [health.agent_crashed(RuntimeError("boom")) for _ in range(CRASH_LIMIT)]
    assert results == [False] * (CRASH_LIMIT - 1) + [True]
    assert health.crashes == CRASH_LIMIT + 1


def test_crashes_spread_over_minutes_are_not_a_loop() -> None:
    """A crash every 40 s never reaches the limit within one minute."""
    health, clock = _health()
    for _ in range(5):
        assert health.agent_crashed(RuntimeError("boom")) is False
        clock.now += 40


def test_outputs_stalled_on_the_broker_make_it_unready_after_a_while() -> None:
    """A short produce retry is normal; outputs waiting 10 s or more are not."""
    health, clock = _health()
    health.outputs.stalled_since = clock.now
    clock.now += STALL_NOT_READY_S - 1
    assert health.status()[0] is True
    clock.now += 2
    ready, detail = health.status()
    assert (ready, detail["outputs_stalled_seconds"]) == (False, STALL_NOT_READY_S + 1)


def test_health_metrics_count_crashes_retries_drops_and_the_stall() -> None:
    """Every number behind readiness is also a metric."""
    health, clock = _health()
    health.agent_crashed(RuntimeError("boom"))
    health.outputs.failed_flushes = 4
    health.outputs.dropped["dlq"] = 2
    health.outputs.stalled_since = clock.now - 3
    registry = CollectorRegistry()
    registry.register(HealthCollector(health))
    value = registry.get_sample_value
    assert value("slamon_agent_crashes_total") == 1
    assert value("slamon_produce_retries_total") == 4
    assert value("slamon_output_records_dropped_total", {"topic": "dlq"}) == 2
    assert value("slamon_outputs_stalled_seconds") == 3


def test_a_broker_that_stops_answering_makes_it_unready_after_a_while() -> None:
    """The metadata probe fails: logged once at error, unready after 10 s, then back."""
    health, clock = _health()
    with structlog.testing.capture_logs() as logs:
        health.broker_answered(False)
        clock.now += STALL_NOT_READY_S - 1
        health.broker_answered(False)
        assert health.status()[0] is True
        clock.now += 2
        ready, detail = health.status()
        assert (ready, detail["broker_silent_seconds"]) == (False, STALL_NOT_READY_S + 1)
        registry = CollectorRegistry()
        registry.register(HealthCollector(health))
        assert registry.get_sample_value("slamon_broker_silent_seconds") == STALL_NOT_READY_S + 1
        health.broker_answered(True)
    assert health.status()[0] is True
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("broker does not answer", "error"), ("broker answers again", "info")]  # fmt: skip


def test_not_ready_until_faust_has_finished_starting() -> None:
    """Recovery done but Faust still seeking offsets (a broker hung at start): not ready."""
    health, _ = _health()
    health.started = False
    ready, detail = health.status()
    assert (ready, detail["started"], detail["recovered"]) == (False, False, True)


def test_a_flush_that_waits_long_counts_as_stalled_even_before_it_fails() -> None:
    """aiokafka waits for a silent broker without failing: a long flush is a stall too."""
    health, clock = _health()
    health.outputs.flushing_since = clock.now
    clock.now += STALL_NOT_READY_S + 5
    ready, detail = health.status()
    assert (ready, detail["outputs_stalled_seconds"]) == (False, STALL_NOT_READY_S + 5)
    health.outputs.flushing_since = None
    assert health.status()[0] is True
