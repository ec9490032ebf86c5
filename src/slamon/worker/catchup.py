"""Catch-up: a large input backlog read in batches before the worker joins its group.

Faust's per-record stream costs ~150 µs a record here, whatever the agent does; a
worker started on a backlog of a million records spends minutes in it. With
``--catch-up RECORDS``, a worker whose consumer group has no member and whose
backlog is at least RECORDS records reads it first with a plain consumer, in large
batches per partition, one evaluation per ticket per batch (``worker.backlog.handle_batch``,
``LiveEngine.ingest_many``). Each batch's outputs (alerts, outcomes, dead letters,
ticket snapshots into the table's changelog, asset changes) are written before its
offsets are committed for the group, so a crash in between reads the batch again
(at-least-once, duplicates only by alert id). Faust then starts as usual: it
recovers the table from the changelog, finds the engine already holding every
ticket, and streams from the committed offsets.

The group must stay empty meanwhile: Kafka only takes a commit from outside the
group while it has no member, and a second worker's snapshots must not be
overwritten by older ones. The group is checked before the catch-up and before each
batch is written; start further workers once the first is streaming.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from slamon.adapters.cloudevents import alert_said
from slamon.adapters.kafka import admin_client, bootstrap, follow, producing, start_client
from slamon.adapters.outbox import ChangelogTable, Outbox
from slamon.core.said import said_of
from slamon.worker import heap
from slamon.worker.backlog import handle_batch
from slamon.worker.catchup_pages import serving
from slamon.worker.service import SlaService
from slamon.worker.settings import WorkerSettings

if TYPE_CHECKING:  # faust is slow to import: not for --help
    from slamon.adapters.private_api import RocksdbPartitions

log = structlog.get_logger("slamon.worker")

FETCH_BYTES = 32 << 20
MAX_ROUNDS = 5  # records keep coming meanwhile: read again up to the new end, this often
# alerts from this long before the changelog's newest snapshot are read back (core/said.py):
# a batch's alerts go out before its snapshots, and a batch's writes take far less
RECALL_MARGIN_MS = 300_000


@dataclass(frozen=True)
class CatchUpResult:
    """What a catch-up did (``records == 0`` and ``skipped``: why it did nothing)."""

    records: int = 0
    tickets: int = 0  # held by the engine at the end
    restored: int = 0  # tickets read from the changelog first
    seconds: float = 0.0
    skipped: str | None = None

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


@dataclass
class ConsumerRecord:
    """An input record as :class:`~slamon.worker.ports.Record` (timestamp in seconds)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Any
    timestamp: float | None


class Mirrored(MutableMapping[bytes, bytes]):
    """The snapshots read from the changelog, each write also into the local store's
    database of the partition being read: Faust's recovery then has nothing to read."""

    def __init__(
        self, data: dict[bytes, bytes], files: RocksdbPartitions, partition: Callable[[], int]
    ) -> None:
        self.data, self.files, self.partition = data, files, partition

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value
        self.files.put(self.partition(), key, value)

    def __delitem__(self, key: bytes) -> None:
        del self.data[key]
        self.files.delete(self.partition(), key)

    def __getitem__(self, key: bytes) -> bytes:
        return self.data[key]

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self.data))

    def __len__(self) -> int:
        return len(self.data)


class CatchUp:
    """Runs one catch-up for ``service`` (built by the composition root)."""

    def __init__(
        self,
        service: SlaService,
        settings: WorkerSettings,
        *,
        outbox: Outbox,
        changelog: str,
        use_producer: Callable[[Any], None],
        registry: CollectorRegistry,
        files: RocksdbPartitions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.service = service
        self.settings = settings
        self.outbox = outbox
        self.changelog = changelog
        self.use_producer = use_producer  # the outbox's producer until Faust's is up
        self.registry = registry  # served on the worker's port meanwhile
        self.files = files  # the table's local (rocksdb) store, written as the changelog is
        self.clock = clock
        self.progress = {"backlog": 0, "records": 0}
        self._admin: AIOKafkaAdminClient
        self._consumer: AIOKafkaConsumer
        self._tps: list[TopicPartition] = []
        self._reading = 0  # the partition whose batch is being handled
        self._newest_snapshot_ms: int | None = None  # the changelog's newest record time

    async def run(self) -> CatchUpResult:
        """Catch up if the backlog is large enough and the group empty; never raises for
        the backlog's content (records go through the service like the agent's)."""
        settings, security = self.settings, self.settings.security
        if settings.catch_up <= 0:
            return CatchUpResult(skipped="off")
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap(settings.broker), group_id=settings.app_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            max_partition_fetch_bytes=FETCH_BYTES, fetch_max_bytes=FETCH_BYTES,
            **security.client_kwargs(),
        )  # fmt: skip
        await start_client(consumer, security, consumer.stop)
        try:
            async with admin_client(settings.broker, security) as self._admin:
                result = await self._run(consumer)
        finally:
            await consumer.stop()
        return result

    async def _run(self, consumer: AIOKafkaConsumer) -> CatchUpResult:
        started = self.clock()
        busy = await self._group_busy()
        if busy is not None:
            return _skipped(busy)
        events = self.settings.topics.events
        tps = [TopicPartition(events, p) for p in range(self.settings.partitions)]
        consumer.assign(tps)
        self._consumer, self._tps = consumer, tps  # the one read this catch-up makes
        starts = await self._starts(consumer, tps)
        ends = await consumer.end_offsets(tps)
        backlog = sum(max(0, ends[tp] - starts[tp]) for tp in tps)
        if backlog < self.settings.catch_up:
            return _skipped(f"a backlog of {backlog} records, under --catch-up")
        log.info("catching up", backlog=backlog, partitions=len(tps))
        self.progress["backlog"] = backlog
        pages = serving(self.settings.web_host, self.settings.web_port, self.registry,
                        lambda: dict(self.progress))  # fmt: skip
        async with pages, producing(self.settings.broker,
                                    security=self.settings.security) as producer:  # fmt: skip
            self.use_producer(producer)
            try:
                snapshots = await self._changelog()
                # without a local store to write, Faust's recovery reads the changelog anew
                delivered = (contextlib.nullcontext() if self.files is not None
                             else self.outbox.without_delivered())  # fmt: skip
                with delivered, heap.building():  # each batch's tickets frozen once committed
                    result = await self._offline(starts, ends, snapshots)
            finally:
                self.use_producer(None)
        seconds = self.clock() - started
        done = CatchUpResult(result.records, result.tickets, result.restored, seconds,
                             result.skipped)  # fmt: skip
        log.info("caught up", records=done.records, tickets=done.tickets,
                 restored=done.restored, seconds=round(seconds, 1),
                 records_per_s=round(done.rate), stopped=done.skipped)  # fmt: skip
        return done

    async def _group_busy(self) -> str | None:
        """Why the catch-up must leave the backlog to the group (None: the group is empty)."""
        answers = await self._admin.describe_consumer_groups([self.settings.app_id])
        for answer in answers:
            for group in answer.groups:
                error_code, group_id, state, members = group[0], group[1], group[2], group[5]
                if group_id != self.settings.app_id:
                    continue
                if error_code:
                    return f"the consumer group's state is unknown (error code {error_code})"
                if members or state not in ("Empty", "Dead", ""):
                    return "the consumer group has members"
        return None

    async def _starts(
        self, consumer: AIOKafkaConsumer, tps: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        """Each partition's committed offset, else its beginning (auto reset: earliest)."""
        beginnings = await consumer.beginning_offsets(tps)
        starts = {}
        for tp in tps:
            committed = await consumer.committed(tp)
            starts[tp] = max(committed, beginnings[tp]) if committed is not None else beginnings[tp]
        return starts

    async def _changelog(self) -> dict[bytes, bytes]:
        """The ticket table as its changelog holds it (what Faust's recovery would read);
        written to the local store too, when there is one."""
        snapshots: dict[bytes, bytes] = {}
        where: dict[bytes, int] = {}  # a key's changelog partition
        last: dict[int, int] = {}  # the last offset read per partition
        async for message in follow(self.settings.broker, self.changelog, stop_at_end=True,
                                    idle_s=0.2, security=self.settings.security):  # fmt: skip
            last[message.partition] = message.offset
            if message.timestamp_ms is not None:
                newest = self._newest_snapshot_ms
                self._newest_snapshot_ms = max(newest or 0, message.timestamp_ms)
            if message.key is None:
                continue
            if message.value is None:
                snapshots.pop(message.key, None)
            else:
                snapshots[message.key] = message.value
                where[message.key] = message.partition
        if self.files is not None:
            self.files.clear(range(self.settings.partitions))
            for key, value in snapshots.items():
                self.files.put(where[key], key, value)
            for partition, offset in last.items():
                self.files.set_offset(self.changelog, partition, offset)
        return snapshots

    async def _offline(
        self,
        starts: dict[TopicPartition, int],
        ends: dict[TopicPartition, int],
        snapshots: dict[bytes, bytes],
    ) -> CatchUpResult:
        service, tps = self.service, self._tps
        store: MutableMapping[bytes, bytes] = snapshots
        if self.files is not None:
            store = Mirrored(snapshots, self.files, lambda: self._reading)
        table = ChangelogTable(self.outbox, self.changelog, lambda: store, lambda: self._reading)
        kept = service.table, service.oncall, service.board
        service.table, service.oncall, service.board = table, None, None
        try:
            await service.on_recovered({tp.partition for tp in tps})
            service.ready = False  # the rebuild says ready: not before Faust's own recovery
            service.metrics.ready(False)
            restored = len(service.engine.tickets)
            snapshots.clear()  # in the engine now; the changelog keeps them
            await self._recall()
            records, stopped = await self._rounds(starts, ends)
        finally:
            service.table, service.oncall, service.board = kept
            service.engine.forget_recalled()
        return CatchUpResult(records, len(service.engine.tickets), restored, skipped=stopped)

    async def _recall(self) -> None:
        """Fold the alerts sent since shortly before the newest snapshot into the tickets
        (core/said.py): a catch-up killed between a batch's alerts and its snapshots
        left alerts that the snapshots do not know of."""
        newest = self._newest_snapshot_ms
        since = 0 if newest is None else max(0, newest - RECALL_MARGIN_MS)
        alerts = []
        async for message in follow(self.settings.broker, self.settings.topics.alerts,
                                    stop_at_end=True, idle_s=0.2, since_ms=since,
                                    security=self.settings.security):  # fmt: skip
            fields = alert_said(message.value)
            if fields is not None:
                alerts.append(fields)
        said = said_of(alerts)
        self.service.engine.recall(said)
        log.info("alerts read back", alerts=len(alerts), tickets=len(said))

    async def _rounds(
        self, starts: dict[TopicPartition, int], ends: dict[TopicPartition, int]
    ) -> tuple[int, str | None]:
        consumer, tps = self._consumer, self._tps
        for tp in tps:
            consumer.seek(tp, starts[tp])
        records = 0
        for _round in range(MAX_ROUNDS):
            done, stopped = await self._read_to(ends)
            records += done
            if stopped is not None:
                return records, stopped
            ends = await consumer.end_offsets(tps)
            left = sum([max(0, ends[tp] - await consumer.position(tp)) for tp in tps])
            if left < self.settings.catch_up:
                break
        return records, None

    async def _read_to(self, ends: dict[TopicPartition, int]) -> tuple[int, str | None]:
        """Read every partition up to ``ends``; (records written, why it stopped early)."""
        consumer, written = self._consumer, 0
        open_tps = [tp for tp in self._tps if await consumer.position(tp) < ends[tp]]
        while open_tps:
            fetched = await consumer.getmany(*open_tps, timeout_ms=1000,
                                             max_records=self.settings.catch_up_batch)  # fmt: skip
            positions: dict[TopicPartition, int] = {}
            count = 0
            for tp, records in fetched.items():
                batch = [_record(r) for r in records]  # past ``ends`` too: a backlog as well
                if batch:
                    self._reading = tp.partition
                    await handle_batch(self.service, batch)
                    positions[tp] = batch[-1].offset + 1
                    count += len(batch)
            if positions:
                busy = await self._group_busy()
                if busy is not None:
                    self._abandon(written)
                    return written, f"{busy}: the rest is the group's"
                await self.service.flush()  # the outputs first, then the offsets
                try:
                    await consumer.commit(positions)
                except KafkaError as exc:  # written, not committed: the group reads it again
                    self._abandon(written)
                    return written, f"commit refused ({type(exc).__name__}): left to the group"
                written += count
                self.progress["records"] += count
                heap.settle()
            open_tps = [tp for tp in open_tps if await consumer.position(tp) < ends[tp]]
            await asyncio.sleep(0)
        return written, None

    def _abandon(self, written: int) -> None:
        """Another worker joined, or the commit was refused: this batch's offsets are not
        committed and its outputs not written (if not yet), so the group reads it again; the
        engine forgets every ticket (Faust's recovery rebuilds them from the changelog, which
        has every batch written so far)."""
        service, partitions = self.service, set(range(self.settings.partitions))
        discarded = self.outbox.discard()
        if self.files is not None:  # it holds the batch the changelog will not: all anew
            self.files.clear(range(self.settings.partitions))
        if service.assets is not None:
            service.assets.discard()
        service.unsettled.keep_only(())
        service.on_revoked(partitions)
        log.warning("catch-up stopped; the group reads the rest", records_written=written,
                    outputs_discarded=discarded)  # fmt: skip


def _skipped(reason: str) -> CatchUpResult:
    log.info("catch-up skipped", reason=reason)
    return CatchUpResult(skipped=reason)


def _record(record: Any) -> ConsumerRecord:
    timestamp = record.timestamp / 1000 if record.timestamp is not None else None
    return ConsumerRecord(record.topic, record.partition, record.offset, record.key,
                          record.value, record.headers, timestamp)  # fmt: skip


Runner = Callable[[], Awaitable[CatchUpResult]]
