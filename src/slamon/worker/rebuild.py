"""The tickets of a recovered table rebuilt in the engine (SlaService.on_recovered)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Protocol

import orjson
import structlog

from slamon.adapters.metrics import SlaMetrics
from slamon.core.decisions import Alert
from slamon.core.engine import Ticket
from slamon.core.live import LiveEngine, Snapshot
from slamon.worker import heap

log = structlog.get_logger("slamon.worker")
RESTORE_SLICE = 2000  # tickets rebuilt between two yields to the event loop
READ_SLICE = 20_000  # snapshots read from the table between two yields


async def read_table(
    table: Mapping[bytes, bytes], interrupted: Callable[[], bool]
) -> dict[bytes, bytes] | None:
    """The table's snapshots, read in slices (a million take seconds: health pages keep
    answering meanwhile); None when ``interrupted()`` (a rebalance: the databases read may
    be gone)."""
    items: dict[bytes, bytes] = {}
    try:
        for count, (key, value) in enumerate(table.items(), 1):
            items[key] = value
            if count % READ_SLICE == 0:
                await asyncio.sleep(0)
                if interrupted():
                    return None
    except RuntimeError:  # the store's partitions changed under the walk
        if interrupted():
            return None
        raise
    return None if interrupted() else items


class Rebuilding(Protocol):
    """What the rebuild needs of the service (worker/service.py's SlaService)."""

    engine: LiveEngine
    metrics: SlaMetrics
    revocations: int  # moves when a rebalance revokes partitions
    rebuilt: int  # tickets rebuilt, ever: the watchdog's progress

    async def emit(self, alert: Alert, now: int, *, by_clock: bool) -> None: ...


async def restore_snapshots(
    service: Rebuilding, items: dict[bytes, bytes], active: set[int], said: dict[str, Ticket],
    *, now: int, revocations: int,
) -> tuple[int, int] | None:  # fmt: skip
    """Restore the snapshots of ``active`` partitions not in the engine: (restored,
    failed), or None when a revocation came meanwhile."""
    restored = failed = 0
    for count, (key, value) in enumerate(list(items.items()), 1):
        if count % RESTORE_SLICE == 0:
            heap.settle()
            await asyncio.sleep(0)
            if service.revocations != revocations:
                log.info("rebuild interrupted by a rebalance", tickets_restored=restored)
                return None
        ticket_id = key.decode()
        if ticket_id in service.engine.tickets:
            continue
        try:
            record = orjson.loads(value)
            if Snapshot.shard_of(record) not in active:
                continue
            snapshot = Snapshot.from_list(record)
            alerts = service.engine.restore(ticket_id, snapshot, now, said.get(ticket_id))
            service.metrics.hold(service.engine.tickets[ticket_id])  # counted before
        except Exception:  # one unreadable snapshot must not keep the worker unready
            log.exception("snapshot not restored", ticket_id=ticket_id)
            failed += 1
            continue
        for alert in alerts:
            await service.emit(alert, now, by_clock=True)
        restored += 1
        service.rebuilt += 1
    return restored, failed
