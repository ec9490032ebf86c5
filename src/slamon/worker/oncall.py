"""On-call delivery inside the worker: the pager fed from the engine, queues per sink.

Why inside the worker (docs/oncall.md): the set of active alerts *is* the engine's
per-ticket state, which the worker already rebuilds exactly after a restart or a
rebalance; each worker sends the alerts of the partitions it owns. Event processing
only computes a ticket's firing set when it may have changed and appends transitions to
bounded queues (never awaits); one task per URL delivers, another re-sends.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable, Sequence

import structlog

from slamon.adapters.delivery import (
    MAX_ATTEMPTS,
    QUEUE,
    RETRY_MAX_S,
    AlertSink,
    DeliveryCollector,
    Dispatcher,
    SinkStats,
)
from slamon.core.engine import Ticket
from slamon.core.oncall import SEVERITY_RULES, Pager, SeverityRule, Transition, firing
from slamon.core.policy import SlaPolicy
from slamon.core.timefmt import NS_PER_S

log = structlog.get_logger("slamon.oncall")

REBUILD_CHUNK = 5_000  # tickets walked between two yields to the event loop
MAX_RESEND_TICK_S = 1.0  # how often the resend schedule is looked at, at most


class Oncall:
    """The pager and its dispatchers, as the service drives them."""

    def __init__(
        self,
        policy: SlaPolicy,
        pager: Pager,
        sinks: Sequence[AlertSink],
        clock: Callable[[], int],
        *,
        queue_size: int = QUEUE,
        max_attempts: int = MAX_ATTEMPTS,
        rules: tuple[SeverityRule, ...] = SEVERITY_RULES,
    ) -> None:
        self.policy = policy
        self.pager = pager
        self.clock = clock
        self.rules = rules
        self.stats = SinkStats()
        resend_s = pager.resend_ns / NS_PER_S
        retry_max_s = min(RETRY_MAX_S, max(0.1, resend_s / 2))  # retries keep up with resends
        options = {"queue_size": queue_size, "max_attempts": max_attempts}
        self.dispatchers = [
            Dispatcher(sink, self.stats, retry_max_s=retry_max_s, **options) for sink in sinks
        ]
        self.collector = DeliveryCollector(self.stats, self.dispatchers, pager.active)

    # -- from the service (hot path: no awaiting) --------------------------------------
    def changed(self, ticket: Ticket, now: int) -> None:
        """The ticket's state may have changed: send what that changes for on-call."""
        if not (ticket.risk_sent | ticket.standing) and not self.pager.knows(ticket.id):
            return  # never alerted: nothing fires, nothing to resolve
        try:
            alerts = firing(self.policy, ticket, now, self.rules)
            self._queue(self.pager.update(ticket.id, alerts, now, ticket.shard))
        except Exception:  # a bug here must not dead-letter the event or stop the clock
            log.exception("on-call update failed")

    def forget(self, shards: set[int]) -> None:
        """Partitions another worker now owns: it sends their alerts from now on."""
        self.pager.forget(shards)

    async def rebuild(
        self, tickets: Iterable[Ticket], now: int, current: Callable[[Ticket], bool]
    ) -> None:
        """After a recovery: walk every ticket, firing what fires and was not yet sent.

        Yields to the event loop every chunk; a ticket no longer ``current`` (dropped
        by a rebalance meanwhile) is skipped.
        """
        for count, ticket in enumerate(list(tickets), 1):
            if count % REBUILD_CHUNK == 0:
                await asyncio.sleep(0)
            if current(ticket):
                self.changed(ticket, now)

    def resend(self, now: int) -> None:
        self._queue(self.pager.due(now))

    def _queue(self, transitions: list[Transition]) -> None:
        if transitions:
            for dispatcher in self.dispatchers:
                dispatcher.put(transitions)

    # -- the task ------------------------------------------------------------------------
    async def drain(self) -> None:
        """Deliver everything queued now (tests; the task does this continuously)."""
        for dispatcher in self.dispatchers:
            await dispatcher.drain()

    async def run(self) -> None:
        """Deliver and re-send until cancelled (the worker's stop); sessions closed then."""
        tasks = [asyncio.ensure_future(d.run()) for d in self.dispatchers]
        tick = min(MAX_RESEND_TICK_S, self.pager.resend_ns / NS_PER_S / 4)
        sinks = [d.sink.name for d in self.dispatchers]
        log.info("on-call delivery started", sinks=sinks, resend_s=self.pager.resend_ns / NS_PER_S)
        try:
            while True:
                try:
                    self.resend(self.clock())
                except Exception:  # never let one bad alert end the resends
                    log.exception("alert resend failed")
                await asyncio.sleep(tick)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for dispatcher in self.dispatchers:
                with contextlib.suppress(Exception):
                    await dispatcher.sink.close()
