"""The recovery watchdog: a recovery that never moves ends the worker; one that moves never."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import structlog.testing
from prometheus_client import CollectorRegistry

from slamon.adapters.outbox import OutboxStats
from slamon.worker.health import Health, HealthCollector
from slamon.worker.watchdog import RecoveryWatchdog
from tests.worker.test_health import Seconds

LIMIT_S = 60.0


def _samples(watchdog: RecoveryWatchdog, clock: Seconds, positions: Sequence[Hashable],
             *, ready: bool = False, answers: bool = True) -> list[bool]:  # fmt: skip
    """One check a second, with the given recovery positions."""
    results = []
    for position in positions:
        results.append(watchdog.check(ready=ready, position=position, broker_answers=answers))
        clock.now += 1.0
    return results


def test_a_recovery_stuck_at_one_position_gives_up_at_the_limit_and_says_why() -> None:
    """Unready, broker answering, offsets still: False up to the limit, True at it, logged."""
    clock = Seconds()
    watchdog = RecoveryWatchdog(LIMIT_S, clock)
    with structlog.testing.capture_logs() as logs:
        results = _samples(watchdog, clock, [("tp0", -1)] * 62)
    assert results.index(True) == 60  # the first sample starts the count, 60 s later: out
    assert not any(results[:60])
    error = next(e for e in logs if e["log_level"] == "error")
    assert error["event"].startswith("recovery made no progress")
    assert error["limit_s"] == LIMIT_S


def test_a_long_recovery_that_keeps_moving_is_never_cut_short() -> None:
    """Ten minutes of recovery, one offset more each second: never gives up."""
    clock = Seconds()
    watchdog = RecoveryWatchdog(LIMIT_S, clock)
    assert not any(_samples(watchdog, clock, [("tp0", n) for n in range(600)]))
    assert watchdog.stalled_s() == 1.0  # counted from the last move, one second ago


def test_progress_restarts_the_count() -> None:
    """59 s still, one move, 59 s still: no exit; the stall is counted from the move."""
    clock = Seconds()
    watchdog = RecoveryWatchdog(LIMIT_S, clock)
    positions = [1] * 59 + [2] * 59
    assert not any(_samples(watchdog, clock, positions))
    assert watchdog.stalled_s() == 59.0


def test_a_ready_worker_or_a_silent_broker_never_counts() -> None:
    """Ready: nothing to recover. Broker silent: a restart could not reach it either."""
    clock = Seconds()
    watchdog = RecoveryWatchdog(LIMIT_S, clock)
    assert not any(_samples(watchdog, clock, [1] * 120, ready=True))
    assert watchdog.stalled_s() == 0.0
    assert not any(_samples(watchdog, clock, [1] * 120, answers=False))
    assert watchdog.stalled_s() == 0.0
    # the broker answers again and the recovery still does not move: counted from then
    results = _samples(watchdog, clock, [1] * 61)
    assert results.index(True) == 60


def test_health_shows_the_stall_in_readyz_and_as_a_metric() -> None:
    """`recovery_stalled_seconds` in /readyz and `slamon_recovery_stalled_seconds` grow."""
    clock = Seconds()
    health = Health(OutboxStats(), recovered=lambda: False, recovery_stall_limit_s=LIMIT_S,
                    clock=clock)  # fmt: skip
    registry = CollectorRegistry()
    registry.register(HealthCollector(health))
    assert health.recovery_stuck(("tp0", 5)) is False
    clock.now += 30
    assert health.recovery_stuck(("tp0", 5)) is False
    assert health.status()[1]["recovery_stalled_seconds"] == 30.0
    assert registry.get_sample_value("slamon_recovery_stalled_seconds") == 30.0
    clock.now += 30
    assert health.recovery_stuck(("tp0", 5)) is True
