"""Builds the Faust app: topics, the ticket table, the agent, the clock task, web pages.

Nothing here decides anything about SLAs: records go to :class:`SlaService`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, cast

import faust
from aiokafka import AIOKafkaProducer
from faust.streams import _current_event, current_event
from faust.types import TP
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from slamon.adapters.metrics import EngineCollector, SlaMetrics
from slamon.adapters.outbox import Outbox
from slamon.core.live import LiveEngine
from slamon.core.policy import SlaPolicy
from slamon.core.timefmt import NS_PER_S
from slamon.worker.board import BoardCollector, LiveBoard
from slamon.worker.service import SlaService
from slamon.worker.settings import WorkerSettings

TABLE_NAME = "tickets"
# Small memtables and caches per partition DB: the engine already holds every open
# ticket in memory; rocksdb is for durability and recovery, not for reads.
ROCKSDB_OPTIONS = {
    "write_buffer_size": 4 << 20,
    "max_write_buffer_number": 2,
    "target_file_size_base": 16 << 20,
    "block_cache_size": 8 << 20,
    "block_cache_compressed_size": 0,
}
GAUGE_REFRESH_S = 5.0  # open / at-risk gauges are at most this old
CHUNK = 2000  # records handled between two flushes of the outbox
CHUNK_WAIT_S = 0.01  # ... or this long after the first one


@dataclass
class WorkerApp:
    app: faust.App
    service: SlaService
    registry: CollectorRegistry


class _OutboxSink:
    """A topic as the service's :class:`~slamon.worker.service.Sink`: batched."""

    def __init__(self, outbox: Outbox, topic: str) -> None:
        self.outbox = outbox
        self.topic = topic

    async def send(
        self, *, key: bytes | None, value: bytes | None, partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> None:  # fmt: skip
        self.outbox.add(self.topic, key, value, partition, headers)


class _TicketTable(MutableMapping[bytes, bytes]):
    """The Faust table's store, with changelog records batched through the outbox.

    Same records as ``table[key] = value`` (key, value, the input partition of the
    record being handled), at a fraction of the cost. Used from the agent only.
    """

    def __init__(self, table: faust.Table[bytes, bytes], outbox: Outbox) -> None:
        self.table = table
        self.outbox = outbox
        self.changelog = table.changelog_topic.get_topic_name()

    def _partition(self) -> int:
        event = current_event()
        if event is None:
            raise RuntimeError("the ticket table is written from the agent only")
        return int(event.message.partition)

    def __setitem__(self, key: bytes, value: bytes) -> None:
        partition = self._partition()
        self.table.data[key] = value
        self.outbox.add(self.changelog, key, value, partition)

    def __delitem__(self, key: bytes) -> None:
        partition = self._partition()
        del self.table.data[key]
        self.outbox.add(self.changelog, key, None, partition)  # tombstone

    def __getitem__(self, key: bytes) -> bytes:
        return cast(bytes, self.table.data[key])

    def __iter__(self) -> Iterator[bytes]:
        return iter(list(self.table.data.keys()))

    def __len__(self) -> int:
        return len(self.table.data)


def create_app(
    settings: WorkerSettings, policy: SlaPolicy, registry: CollectorRegistry | None = None
) -> WorkerApp:
    registry_: CollectorRegistry = registry or CollectorRegistry(auto_describe=True)
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        store=settings.store,
        datadir=str(settings.data_dir),
        web_host=settings.web_host,
        web_port=settings.web_port,
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        autodiscover=False,
        web_enabled=True,
        producer_linger=0.0,  # outputs are batched by the outbox already: no waiting
        broker_commit_every=10_000,
    )
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    topics = settings.topics
    ticks_name = topics.ticks(settings.app_id)
    source = app.topic(topics.events, ticks_name, partitions=settings.partitions, **raw)
    app.topic(ticks_name, partitions=settings.partitions, internal=True, **raw)  # declared
    # Values are orjson-encoded snapshots. Faust derives table serializers from key/value
    # *types* (json for bytes), so the changelog topic is declared here, raw.
    changelog = app.topic(
        f"{settings.app_id}-{TABLE_NAME}-changelog", partitions=settings.partitions,
        compacting=True, deleting=False, internal=True, **raw,
    )  # fmt: skip
    table = cast(
        "faust.Table[bytes, bytes]",
        app.Table(
            TABLE_NAME,
            partitions=settings.partitions,
            changelog_topic=changelog,
            options=ROCKSDB_OPTIONS,
        ),
    )
    table.key_serializer = table.value_serializer = "raw"  # used by every changelog send

    board = LiveBoard(app, settings.partitions)

    def producer() -> AIOKafkaProducer:
        # the aiokafka producer under Faust's: the one Faust flushes before committing
        return cast(AIOKafkaProducer, app.producer._ensure_producer())  # type: ignore[attr-defined]

    outbox = Outbox(producer)
    changelog_name = changelog.get_topic_name()

    def persisted(partition: int, offset: int) -> None:
        # what Faust's own changelog callback does: recovery of a rocksdb store resumes here
        table.data.set_persisted_offset(TP(changelog_name, partition), offset)

    outbox.on_delivered(changelog_name, persisted)
    engine = LiveEngine(policy, retention_ns=int(settings.retention_s * NS_PER_S))
    metrics = SlaMetrics(registry_, policy)
    service = SlaService(
        engine,
        metrics,
        table=_TicketTable(table, outbox),
        alerts=_OutboxSink(outbox, topics.alerts),
        outcomes=_OutboxSink(outbox, topics.outcomes),
        dead_letter=_OutboxSink(outbox, topics.dead_letter),
        ticks=_OutboxSink(outbox, ticks_name),
        flush=outbox.flush,
        ticks_topic=ticks_name,
        board=board,
    )

    def highwater(partition: int) -> int | None:
        try:
            return int(app.consumer.highwater(TP(topics.events, partition)))
        except Exception:
            return None

    gauges = EngineCollector(engine, lambda: service.lag(highwater))
    registry_.register(gauges)
    registry_.register(BoardCollector(board))

    # concurrency=1: the agent writes the table (faust issue #606)
    @app.agent(source, concurrency=1)
    async def process(stream: faust.StreamT[bytes]) -> None:
        # chunks: outputs go out in one batch per chunk, before Faust acks the chunk
        async for events in stream.take_events(CHUNK, within=CHUNK_WAIT_S):  # type: ignore[attr-defined]
            for event in events:
                _current_event.set(weakref.ref(event))  # the table store reads it
                await service.handle(event.message)
            await service.flush()

    @app.task  # type: ignore[untyped-decorator]
    async def clock() -> None:
        await service.run_clock()

    @app.task  # type: ignore[untyped-decorator]
    async def count_tickets() -> None:
        while True:
            await gauges.refresh()
            await asyncio.sleep(GAUGE_REFRESH_S)

    @table.on_recover
    async def recovered() -> None:
        active = {
            tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topics.events
        }
        await service.on_recovered(active)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def revoked(_app: faust.App, revoked: set[TP], **_: Any) -> None:
        service.on_revoked({tp.partition for tp in revoked if tp.topic == topics.events})

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            # aiohttp wants the charset apart from the content type
            content_type = CONTENT_TYPE_LATEST.split(";  charset")[0].replace("; charset=utf-8", "")
            return self.bytes(generate_latest(registry_), content_type=content_type)

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok"})

    @app.page("/readyz")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            status = 200 if service.ready else 503
            return self.json({"ready": service.ready}, status=status)

    return WorkerApp(app=app, service=service, registry=registry_)
