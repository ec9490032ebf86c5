"""What /readyz says, and when the worker gives up: recovery, agent crashes, stalled outputs.

Readiness tells the truth: a worker that has not recovered its table, whose agent
keeps crashing, or that has not been able to write its outputs for a while is
not ready, and the reason is in the answer. A crash loop ends the process, so
that an orchestrator restarts it from the changelog instead of letting it limp.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from slamon.adapters.outbox import OutboxStats
from slamon.worker.watchdog import RecoveryWatchdog

log = structlog.get_logger("slamon.worker")

CRASH_WINDOW_S = 60.0
CRASH_LIMIT = 3  # crashes within the window: the agent is crash-looping
STALL_NOT_READY_S = 10.0  # outputs not acknowledged, or broker silent, this long: not ready
PROBE_EVERY_S = 5.0
PROBE_TIMEOUT_S = 5.0


@dataclass
class Health:
    """The worker's own state, fed by the agent, the service and the outbox."""

    outputs: OutboxStats
    recovered: Callable[[], bool]
    recovery_stall_limit_s: float  # unready without progress this long: exit (watchdog.py)
    clock: Callable[[], float] = time.monotonic
    crashes: int = 0
    started: bool = False  # Faust's start-up is complete (it may hang on a silent broker)
    broker_silent_since: float | None = None  # the broker stopped answering then
    _recent: deque[float] = field(default_factory=deque)
    watchdog: RecoveryWatchdog = field(init=False)

    def __post_init__(self) -> None:
        self.watchdog = RecoveryWatchdog(self.recovery_stall_limit_s, self.clock)

    def broker_answered(self, answered: bool) -> None:
        """A probe's result: the broker answered a metadata request in time, or not."""
        if answered and self.broker_silent_since is not None:
            log.info("broker answers again", silent_s=round(self.silent_s(), 1))
            self.broker_silent_since = None
        elif not answered and self.broker_silent_since is None:
            log.error("broker does not answer")
            self.broker_silent_since = self.clock()

    def silent_s(self) -> float:
        since = self.broker_silent_since
        return 0.0 if since is None else self.clock() - since

    def agent_crashed(self, error: BaseException) -> bool:
        """Count a crash; True once the agent is crash-looping (the worker should exit)."""
        now = self.clock()
        self.crashes += 1
        self._recent.append(now)
        while self._recent and self._recent[0] < now - CRASH_WINDOW_S:
            self._recent.popleft()
        looping = len(self._recent) >= CRASH_LIMIT
        log.error("agent crashed", error=f"{type(error).__name__}: {error}",
                  crashes_last_minute=len(self._recent), giving_up=looping)  # fmt: skip
        return looping

    def recovery_stuck(self, position: Hashable) -> bool:
        """A watchdog sample (see worker/watchdog.py); True: exit for a restart."""
        answers = self.broker_silent_since is None
        return self.watchdog.check(ready=self.recovered(), position=position,
                                   broker_answers=answers)  # fmt: skip

    def stalled_s(self) -> float:
        since = self.outputs.waiting_since()
        return 0.0 if since is None else self.clock() - since

    def status(self) -> tuple[bool, dict[str, Any]]:
        """Whether the worker is ready, and the facts behind the answer."""
        now = self.clock()
        recent = sum(1 for t in self._recent if t >= now - CRASH_WINDOW_S)
        stalled, silent = self.stalled_s(), self.silent_s()
        detail = {
            "started": self.started,
            "recovered": self.recovered(),
            "agent_crashes_last_minute": recent,
            "outputs_stalled_seconds": round(stalled, 1),
            "broker_silent_seconds": round(silent, 1),
            "recovery_stalled_seconds": round(self.watchdog.stalled_s(), 1),
        }
        quiet = recent == 0 and max(stalled, silent) < STALL_NOT_READY_S
        ready = self.started and bool(detail["recovered"]) and quiet
        return bool(ready), {"ready": bool(ready), **detail}


class HealthCollector(Collector):
    """The worker's health as metrics: crashes, produce retries, dropped outputs, stalls."""

    def __init__(self, health: Health) -> None:
        self.health = health

    def collect(self) -> Iterator[Metric]:
        outputs = self.health.outputs
        yield CounterMetricFamily("slamon_agent_crashes", "Crashes of the stream agent.",
                                  value=self.health.crashes)  # fmt: skip
        yield CounterMetricFamily(
            "slamon_produce_retries", "Flushes the broker did not fully acknowledge (retried).",
            value=outputs.failed_flushes,
        )  # fmt: skip
        dropped = CounterMetricFamily(
            "slamon_output_records_dropped", "Output records that could never be sent.",
            labels=["topic"],
        )  # fmt: skip
        for topic, count in sorted(outputs.dropped.items()):
            dropped.add_metric([topic], count)
        yield dropped
        yield GaugeMetricFamily(
            "slamon_broker_silent_seconds",
            "How long the broker has not answered the worker's metadata probe (0: it answers).",
            value=self.health.silent_s(),
        )
        yield GaugeMetricFamily(
            "slamon_outputs_stalled_seconds",
            "How long outputs have waited for the broker (0 when flowing).",
            value=self.health.stalled_s(),
        )
        yield GaugeMetricFamily(
            "slamon_recovery_stalled_seconds",
            "How long the worker has been unready while its recovery made no progress "
            "(0: ready or recovering); it exits at the recovery stall limit.",
            value=self.health.watchdog.stalled_s(),
        )
