"""The worker's imperative shell around :class:`~slamon.core.live.LiveEngine`.

It translates Kafka records into engine calls and engine decisions into Kafka
records, metrics and logs; every SLA decision is the engine's. State lives in
two places that must agree: the engine (in memory, authoritative while the
worker owns a partition) and the Faust table (changelog-backed, authoritative
after a restart or a rebalance). Changes the engine makes outside a record (a
deadline passing) are persisted through a "tick" record on an internal topic
co-partitioned with the input, because Faust only writes tables from a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, MutableMapping

import structlog

from slamon.adapters.cloudevents import decode_record, encode_alert, encode_outcome
from slamon.adapters.kept_json import dumps_kept
from slamon.adapters.metrics import SlaMetrics, Where
from slamon.core.decisions import Alert, AlertType
from slamon.core.engine import Ticket
from slamon.core.events import InvalidEvent
from slamon.core.live import LiveEngine, Rejected
from slamon.core.text import clip
from slamon.core.timefmt import NS_PER_S, format_rfc3339
from slamon.worker import heap
from slamon.worker.assets import AssetFeed
from slamon.worker.deadletter import dead_letter
from slamon.worker.inputs import InputPositions
from slamon.worker.oncall import Oncall
from slamon.worker.ports import Board, Record, Sink, headers_of
from slamon.worker.quality import count_quality
from slamon.worker.rebuild import read_table, restore_snapshots
from slamon.worker.unsettled import UnsettledWrites

log = structlog.get_logger("slamon.worker")

TICK_PERSIST = b"persist"
TICK_EXPIRE = b"expire"
TICK_BOARD = b"board"  # write the live board's buffered samples of this partition
EXPIRY_EVERY_NS = 10 * NS_PER_S
MAX_SLEEP_S = 0.2  # also bounds how late a deadline set by another task is noticed
MAX_REASON_CHARS = 300


class SlaService:
    """Feeds records to the engine, runs its clock, and keeps the table in step."""

    assets: AssetFeed | None = None  # set by the composition root when it repartitions

    def __init__(
        self,
        engine: LiveEngine,
        metrics: SlaMetrics,
        *,
        table: MutableMapping[bytes, bytes],
        alerts: Sink,
        outcomes: Sink,
        dead_letter: Sink,
        ticks: Sink,
        ticks_topic: str,
        board: Board | None = None,
        flush: Callable[[], Awaitable[None]] | None = None,
        clock: Callable[[], int],
        oncall: Oncall | None = None,
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.table = table
        self.alerts = alerts
        self.outcomes = outcomes
        self.dead_letter = dead_letter
        self.ticks = ticks
        self.ticks_topic = ticks_topic
        self.board = board
        self._flush = flush
        self.clock = clock
        self.oncall = oncall  # per-ticket alerts to Alertmanager and webhooks, if any
        self.ready = False
        self.revocations = 0  # a rebuild in progress stops when this moves
        self._fresh: set[int] = set()  # rebuilt, no write since: a recovery rebuilds them again
        self.rebuilt = 0  # tickets rebuilt by recoveries, ever: the watchdog's progress
        self.unsettled = UnsettledWrites()
        self.inputs = InputPositions(metrics.input_gap)  # its consumer set by worker/app.py
        self._next_expiry = 0
        self._last_event_ns = 0
        self._wake = asyncio.Event()
        self._wake_at = 0  # when the clock task wakes up anyway

    # -- records -----------------------------------------------------------------------
    async def handle(self, record: Record) -> None:
        """Process one record of the input or the tick topic (inside the agent).

        Whatever goes wrong with one record stays that record's problem: it is
        dead-lettered with the error and counted, and the next record is handled.
        """
        try:
            if record.topic == self.ticks_topic:
                await self._handle_tick(record)
            else:
                await self._handle_event(record)
        except Exception as exc:  # a bug on one record must not stop the stream
            await self.record_failed(record, exc)

    async def _handle_event(self, record: Record) -> None:
        if not await self.inputs.admit(record.partition, record.offset):
            return  # records before it were skipped; it comes again once they are read
        try:
            event = decode_record(record.key, record.value, headers_of(record), record.offset)
        except InvalidEvent as exc:
            await self.dead_letter_record(record, exc.reason)
            return
        now = self.clock()
        alerts = self.engine.ingest(event, now, shard=record.partition)
        if isinstance(alerts, Rejected):
            self.metrics.event(alerts.reason)
            return
        # the earliest the worker could have found these: the record's own timestamp
        known_at = int(record.timestamp * NS_PER_S) if record.timestamp else None
        for alert in alerts:
            await self.emit(alert, now, by_clock=False, known_at=known_at)
        await self.emit_outcomes(now)
        ticket = self.engine.tickets.get(event.ticket_id)
        count_quality(self.metrics, ticket, event)
        if ticket is not None:
            self.metrics.track(ticket)  # its quality states (a late event may refold it)
            self.store(event.ticket_id.encode(), record.partition, ticket)
            if self.assets is not None:  # the repartition by asset (worker/assets.py)
                self.assets.changed(ticket, event)
            if self.oncall is not None:
                self.oncall.changed(ticket, now)
        if self.board is not None:
            self.board.flush(record.partition, now)
        self.metrics.event("processed")
        seen = min(event.time, now)  # a future-dated event must not pin the gauge
        if seen > self._last_event_ns:
            self._last_event_ns = seen
            self.metrics.last_event(seen)
        due = self.engine.next_due()
        if due is not None and due < self._wake_at:
            self._wake.set()  # a new deadline before the end of the clock's nap

    async def record_failed(self, record: Record, exc: Exception) -> None:
        log.exception("record failed", topic=record.topic, partition=record.partition,
                      offset=record.offset)  # fmt: skip
        await self.dead_letter_record(record, f"internal error: {type(exc).__name__}: {exc}",
                                result="error")  # fmt: skip

    async def _handle_tick(self, record: Record) -> None:
        key = record.key or b""
        if record.value == TICK_EXPIRE:
            self.store(key, record.partition, None)
            return
        if record.value == TICK_BOARD:
            if self.board is not None:
                self.board.flush(record.partition, self.clock())
            return
        ticket = self.engine.tickets.get(key.decode())
        if ticket is not None:
            self.store(key, record.partition, ticket)

    def store(self, key: bytes, partition: int, ticket: Ticket | None) -> None:
        """Write (None: delete) a ticket's snapshot; unsettled until a flush delivers it."""
        self._fresh.discard(partition)  # the engine is ahead of the recovered table now
        if ticket is None:
            self.table.pop(key, None)
            self.unsettled.record(key, partition, None)
        else:
            value = dumps_kept(self.engine.export(ticket).to_list())
            self.table[key] = value
            self.unsettled.record(key, partition, value)

    async def dead_letter_record(
        self, record: Record, reason: str, result: str = "invalid"
    ) -> None:
        self.metrics.event(result)
        self.metrics.dead_letter(reason, result)
        reason = clip(reason, MAX_REASON_CHARS)
        log.warning(
            "invalid record", reason=reason, partition=record.partition, offset=record.offset
        )
        key, value, headers = dead_letter(record, reason)
        await self.dead_letter.send(key=key, value=value, headers=headers)

    # -- decisions out -----------------------------------------------------------------
    def _where(self, ticket_id: str) -> Where:
        """The ticket's (service, region) label values."""
        ticket = self.engine.tickets.get(ticket_id)
        if ticket is None:
            return "remote", "none"
        return self.metrics.where(ticket.fold.service, ticket.fold.region)

    async def emit(
        self, alert: Alert, now: int, *, by_clock: bool, known_at: int | None = None,
        quiet: bool = False,
    ) -> None:  # fmt: skip
        where = self._where(alert.ticket_id)
        self.metrics.alert(alert, now, by_clock=by_clock, where=where, known_at=known_at)
        # breaches and retractions are what on-call acts on; at-risk alerts only at debug,
        # and a backlog's too (its alerts are on the topic; the catch-up logs a summary)
        emit_log = log.debug if quiet or alert.type == AlertType.AT_RISK else log.info
        emit_log(
            "alert",
            type=alert.type,
            ticket_id=alert.ticket_id,
            sla=alert.sla,
            priority=alert.priority,
            at=format_rfc3339(alert.at),
            alert_id=alert.id,
        )
        await self.alerts.send(key=alert.ticket_id.encode(), value=encode_alert(alert, now))

    async def emit_outcomes(self, now: int) -> None:
        for outcome, first in self.engine.drain_outcomes():
            self.metrics.outcome(outcome, first=first, where=self._where(outcome.ticket_id))
            ticket = self.engine.tickets.get(outcome.ticket_id)
            if first and self.board is not None and ticket is not None:
                self.board.add(outcome, ticket.shard)
            await self.outcomes.send(
                key=outcome.ticket_id.encode(), value=encode_outcome(outcome, now)
            )

    async def _persist_touched(self) -> None:
        for ticket_id in self.engine.drain_touched():
            ticket = self.engine.tickets.get(ticket_id)
            if ticket is not None:
                await self.ticks.send(
                    key=ticket_id.encode(), value=TICK_PERSIST, partition=ticket.shard
                )

    async def flush(self) -> None:
        """Hand buffered output records to the producer (sinks may batch)."""
        if self.assets is not None:
            await self.assets.send_pending()
        if self._flush is not None:
            await self.unsettled.flush_settling(self._flush, lambda: self.revocations)

    # -- the clock -----------------------------------------------------------------------
    async def tick(self) -> float:
        """Fire what fell due; returns how long to sleep before the next call."""
        now = self.clock()
        fired = self.engine.advance(now)
        for alert in fired:
            await self.emit(alert, now, by_clock=True)
        if fired:
            for ticket_id in dict.fromkeys(alert.ticket_id for alert in fired):
                ticket = self.engine.tickets.get(ticket_id)
                if ticket is not None:
                    self.metrics.track(ticket)  # a breach of a stopped clock found late
                    if self.oncall is not None:
                        self.oncall.changed(ticket, now)
        await self.emit_outcomes(now)
        await self._persist_touched()
        if self.ready:  # records the consumer dropped at a partition's end: read again
            await self.inputs.resume_stuck(now)
        if now >= self._next_expiry:
            self._next_expiry = now + EXPIRY_EVERY_NS
            for ticket in self.engine.expire(now):
                self.metrics.forget(ticket.id)  # still counted in its last states
                await self.ticks.send(
                    key=ticket.id.encode(), value=TICK_EXPIRE, partition=ticket.shard
                )
        if self.board is not None:  # samples of a partition that went quiet
            for partition in self.board.stale(now):
                await self.ticks.send(key=None, value=TICK_BOARD, partition=partition)
        await self.flush()
        due = self.engine.next_due()
        if due is None:
            return MAX_SLEEP_S
        return min(MAX_SLEEP_S, max(0.0, (due - self.clock() + 1) / NS_PER_S))

    async def run_clock(self) -> None:
        """Absence detection: wake at the next deadline, whether or not events arrive."""
        while True:
            try:
                delay = await self.tick()
            except Exception:  # never let one bad ticket end absence detection
                log.exception("clock tick failed")
                delay = MAX_SLEEP_S
            self._wake.clear()
            self._wake_at = self.clock() + int(delay * NS_PER_S)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)

    # -- rebalancing -----------------------------------------------------------------------
    def on_revoked(self, partitions: set[int]) -> None:
        """Stop deciding for partitions another worker now owns."""
        self.revocations += 1
        dropped = self.engine.drop(partitions)
        self.metrics.retain(self.engine.tickets)  # the new owner takes them as counted
        self.inputs.forget(partitions)
        if self.board is not None:
            self.board.drop(partitions)
        if self.oncall is not None:
            self.oncall.forget(partitions)
        self.ready = False
        self.metrics.ready(False)
        log.info("partitions revoked", partitions=sorted(partitions), tickets_dropped=dropped)

    async def on_recovered(self, active: set[int]) -> None:
        """Rebuild tickets of the active partitions from the recovered table.

        Deadlines that passed while nobody owned a ticket fire here, at once. A million
        tickets take tens of seconds: the rebuild yields to the event loop every slice
        (health pages keep answering), and gives up when a revocation comes meanwhile
        (the recovery that follows it rebuilds what is still owned). Partitions rebuilt
        before with no write since are rebuilt again: Faust may report a recovery that a
        rebalance cut short as complete, and the next one brings the rest of the table.
        """
        now = self.clock()
        rebuilt = self._fresh & active  # what they hold may come from a partial recovery
        said = {t.id: t for t in self.engine.tickets.values() if t.shard in rebuilt}
        self.engine.drop({t.shard for t in self.engine.tickets.values()} - (active - rebuilt))
        self.metrics.retain(self.engine.tickets)
        self._fresh = set(active)
        revocations = self.revocations
        items = await read_table(self.table, lambda: self.revocations != revocations)
        if items is None:
            log.info("rebuild interrupted by a rebalance", tickets_restored=0)
            return
        undone = self.unsettled.overlay(items, active)
        self.unsettled.keep_only(active)
        with heap.building():  # a million tickets: frozen slice by slice as they are built
            done = await restore_snapshots(self, items, active, said, now=now,
                                           revocations=revocations)  # fmt: skip
        if done is None:
            return
        restored, failed = done
        await self._rewrite(undone)
        await self.emit_outcomes(now)
        await self.flush()
        if self.oncall is not None:  # what fires now, sent at once; nothing resolved fires
            tickets = self.engine.tickets
            await self.oncall.rebuild(tickets.values(), now, lambda t: tickets.get(t.id) is t)
            if self.revocations != revocations:
                return
        self.inputs.assigned(active)
        self.ready = True
        self.metrics.ready(True)
        self.metrics.recovered()
        self._wake.set()
        log.info(
            "recovered",
            partitions=sorted(active),
            tickets_restored=restored,
            snapshots_failed=failed,
            tickets=len(self.engine.tickets),
        )

    def recovery_superseded(self) -> None:
        """Faust reported complete a recovery that a later rebalance had superseded, with
        part of the changelog possibly read: nothing is rebuilt from it, and the worker
        stays unready until the recovery Faust runs next (docs/operations.md)."""
        self.metrics.recovery_superseded()
        self.ready = False
        self.metrics.ready(False)
        log.info("recovery superseded by a rebalance; the next one rebuilds")

    def recovery_progress(self) -> tuple[int, int]:
        """Moves whenever a rebalance or a rebuild does (see worker/watchdog.py)."""
        return self.revocations, self.rebuilt

    async def _rewrite(self, undone: list[bytes]) -> None:
        """Have the agent store again the writes the recovery undid (local store and
        changelog), through the ticks topic: tables are written from a stream only."""
        if not undone:
            return
        log.warning("recovery replayed older snapshots over unsettled writes; kept the latest",
                    tickets=len(undone))  # fmt: skip
        for key in undone:
            ticket = self.engine.tickets.get(key.decode())
            if ticket is not None:
                await self.ticks.send(key=key, value=TICK_PERSIST, partition=ticket.shard)
            else:  # deleted (expired) after the snapshot the recovery brought back
                partition = self.unsettled.partition_of(key)
                if partition is not None:
                    await self.ticks.send(key=key, value=TICK_EXPIRE, partition=partition)

    def lag(self, highwater: Callable[[int], int | None]) -> dict[int, int]:
        lags = {}
        for partition, position in self.inputs.expected.items():
            high = highwater(partition)
            if high is not None:
                lags[partition] = max(0, high - position)
        return lags
