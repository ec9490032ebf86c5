"""When a recovery that makes no progress ends the worker.

After an unclean broker restart Faust's changelog reader can wait forever for
records that never come ("No event received for active tp ... since recovery
start"): the worker stays unready and decides nothing for the partitions it
owns. A restart reads the changelog afresh, so the watchdog ends the process
(EX_SOFTWARE, like a crash loop) once the worker has been unready, with the
broker answering, and without any progress for ``limit_s``. Progress is any
change of the recovery's position (changelog offsets read, tickets rebuilt);
a long recovery that moves is never cut short, and a silent broker is waited
for (a restart cannot reach it either).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import structlog

log = structlog.get_logger("slamon.worker")

CHECK_EVERY_S = 1.0


@dataclass
class RecoveryWatchdog:
    """Fed a sample every check; says when waiting longer is pointless."""

    limit_s: float
    clock: Callable[[], float] = time.monotonic
    _position: Hashable = None
    _still_since: float | None = None

    def stalled_s(self) -> float:
        """How long the worker has been unready without progress (0: ready or moving)."""
        return 0.0 if self._still_since is None else self.clock() - self._still_since

    def check(self, *, ready: bool, position: Hashable, broker_answers: bool) -> bool:
        """One sample; True when the worker should exit so that a restart recovers it."""
        now = self.clock()
        if ready or not broker_answers or position != self._position:
            self._position = position
            self._still_since = None if ready or not broker_answers else now
            return False
        if self._still_since is None:
            self._still_since = now
        stalled = now - self._still_since
        if stalled < self.limit_s:
            return False
        log.error("recovery made no progress; exiting so that a restart recovers afresh",
                  stalled_s=round(stalled, 1), limit_s=self.limit_s)  # fmt: skip
        return True
