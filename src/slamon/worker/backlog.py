"""A backlog's records in batches (worker/catchup.py), through the service's outputs.

Each ticket's events of a batch are evaluated once (``LiveEngine.ingest_many``) and its
snapshot stored once; everything else is what :meth:`SlaService.handle` does per record.
"""

from __future__ import annotations

from collections.abc import Sequence

from slamon.adapters.cloudevents import decode_record
from slamon.core.events import Event, InvalidEvent
from slamon.worker.assets import ASSET_TYPES
from slamon.worker.ports import Record, headers_of
from slamon.worker.quality import count_quality
from slamon.worker.service import SlaService


async def handle_batch(service: SlaService, records: Sequence[Record]) -> None:
    """Process a backlog's input records (worker/catchup.py): each ticket's events
    of the batch evaluated once, its snapshot stored once.

    Outside Faust: no gap check (the caller reads offsets in order), no live-board
    samples (Faust's windows are not running) and no on-call updates (the recovery
    that follows sends what fires then). Invalid records are dead-lettered as in
    :meth:`SlaService.handle`; a failure on one ticket dead-letters that ticket's records only.
    """
    now = service.clock()
    batches: dict[str, list[tuple[Record, Event]]] = {}
    for record in records:
        try:
            event = decode_record(record.key, record.value, headers_of(record), record.offset)
        except InvalidEvent as exc:
            await service.dead_letter_record(record, exc.reason)
            continue
        except Exception as exc:  # a bug on one record must not stop the batch
            await service.record_failed(record, exc)
            continue
        batches.setdefault(event.ticket_id, []).append((record, event))
    for ticket_id, batch in batches.items():
        try:
            await _ingest_batch(service, ticket_id, batch, now)
        except Exception as exc:
            for record, _ in batch:
                await service.record_failed(record, exc)
    await service.emit_outcomes(now)  # the catch-up runs with no board


async def _ingest_batch(
    service: SlaService, ticket_id: str, batch: list[tuple[Record, Event]], now: int
) -> None:
    partition = batch[-1][0].partition  # a ticket's key keeps it on one partition
    alerts, applied, rejected = service.engine.ingest_many([e for _, e in batch], now, partition)
    for rejection in rejected:
        service.metrics.event(rejection.reason)
    for alert in alerts:
        await service.emit(alert, now, by_clock=False, quiet=True)
    ticket = service.engine.tickets.get(ticket_id)
    for event in applied:
        count_quality(service.metrics, ticket, event)  # the ticket as the batch left it
        service.metrics.event("processed")
    if ticket is not None and applied:
        service.metrics.track(ticket)
        service.store(ticket_id.encode(), partition, ticket)
        if service.assets is not None:
            for event in reversed(applied):  # one change: the ticket as it is now
                if event.type in ASSET_TYPES:
                    service.assets.changed(ticket, event)
                    break
        seen = min(applied[-1].time, now)
        if seen > service._last_event_ns:
            service._last_event_ns = seen
            service.metrics.last_event(seen)
