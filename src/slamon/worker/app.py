"""Faust declarations: the app, its topics and tables, the agent, the tasks, the web pages.

Nothing here builds the service or decides anything about SLAs; the composition
root (:mod:`slamon.bootstrap`) wires :class:`SlaService` in between.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, cast

import faust
import structlog
from faust.types import TP
from faust.web import Request, Response, View
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from slamon.adapters.heap_trim import HeapTrimmer, glibc
from slamon.adapters.metrics import EngineCollector
from slamon.adapters.outbox import ChangelogTable, Outbox
from slamon.adapters.private_api import (
    FaustInputs,
    broker_answers,
    completed_recoveries_keep_changelog_records,
    current_partition,
    gap_fills_count_each_offset_once,
    open_rocksdbs,
    paused_partitions_are_never_fetched,
    recovery_position,
    recovery_superseded,
    revoked_partitions_commit_first,
    set_current_event,
    superseded_seeks_restart_the_recovery,
    without_builtin_pages,
)
from slamon.core.explain import explain
from slamon.worker.assets import SWEEP_EVERY_S, AssetService, assets_topic
from slamon.worker.board import LiveBoard
from slamon.worker.health import PROBE_EVERY_S, PROBE_TIMEOUT_S, Health
from slamon.worker.service import SlaService
from slamon.worker.settings import WorkerSettings
from slamon.worker.watchdog import CHECK_EVERY_S as WATCHDOG_EVERY_S

log = structlog.get_logger("slamon.worker")

TABLE_NAME = "tickets"
ASSET_TABLE_NAME = "assets"  # per asset id: its tickets (worker/assets.py)
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
CRASH_LOOP_EXIT_CODE = 70  # EX_SOFTWARE
# aiohttp takes the charset apart from the content type (it adds it back itself)


@dataclass(frozen=True)
class Declared:
    """What Faust needs declared before the service exists."""

    app: faust.App
    source: faust.TopicT  # the input topic and the ticks topic, read by one agent
    table: faust.Table[bytes, bytes]
    changelog: str
    board: LiveBoard
    assets: faust.TopicT  # the repartition by asset id, read by the asset agent
    asset_table: faust.Table[bytes, bytes]
    asset_changelog: str


def declare(settings: WorkerSettings, clock: Callable[[], int]) -> Declared:
    """The Faust app with the topics and tables the worker reads and writes."""
    app = faust.App(
        settings.app_id,
        broker=settings.broker,
        broker_credentials=settings.security.faust_credentials(),  # None: PLAINTEXT
        store=settings.store,
        datadir=str(settings.data_dir),
        web_host=settings.web_host,
        web_bind=settings.web_host,  # Faust binds this one (default 0.0.0.0), not web_host
        web_port=settings.web_port,
        # Faust's own pages would show ticket snapshots and internals to anyone
        web_tables_enabled=False,
        web_router_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_metrics_enabled=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        table_standby_replicas=settings.standbys,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        autodiscover=False,
        web_enabled=True,
        producer_linger=0.0,  # outputs are batched by the outbox already: no waiting
        broker_commit_every=10_000,
    )
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    topics, partitions = settings.topics, settings.partitions
    ticks_name = topics.ticks(settings.app_id)
    source = app.topic(topics.events, ticks_name, partitions=partitions, **raw)
    without_builtin_pages(app)
    superseded_seeks_restart_the_recovery()
    completed_recoveries_keep_changelog_records()
    paused_partitions_are_never_fetched()
    gap_fills_count_each_offset_once()
    revoked_partitions_commit_first()
    app.topic(ticks_name, partitions=partitions, internal=True, **raw)  # declared
    # Values are orjson-encoded snapshots. Faust derives table serializers from key/value
    # *types* (json for bytes), so the changelog topic is declared here, raw. acks=False
    # as Faust's own changelogs: no stream reads it, and an acking topic is one Faust's
    # stall check expects a stream to consume (a false error per partition every 7 s).
    changelog = app.topic(
        f"{settings.app_id}-{TABLE_NAME}-changelog", partitions=partitions,
        compacting=True, deleting=False, internal=True, acks=False, **raw,
    )  # fmt: skip
    table = cast(
        "faust.Table[bytes, bytes]",
        app.Table(
            TABLE_NAME, partitions=partitions, changelog_topic=changelog, options=ROCKSDB_OPTIONS
        ),
    )
    table.key_serializer = table.value_serializer = "raw"  # used by every changelog send
    # the board's tables too: Faust's rocksdb defaults (64 MiB write buffers, a 2 GiB block
    # cache per partition database) made most of a soak worker's RSS growth
    board = LiveBoard(app, partitions, clock, ROCKSDB_OPTIONS)
    assets, asset_table, asset_changelog = _declare_assets(app, settings)
    return Declared(app, source, table, changelog.get_topic_name(), board, assets, asset_table,
                    asset_changelog)  # fmt: skip


def _declare_assets(
    app: faust.App, settings: WorkerSettings
) -> tuple[faust.TopicT, faust.Table[bytes, bytes], str]:
    """The assets topic and the asset table: raw, as the ticket table (same partitions, so
    partition p of each goes with partition p of the input)."""
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    partitions = settings.partitions
    topic = app.topic(assets_topic(settings.app_id), partitions=partitions, internal=True, **raw)
    changelog = app.topic(
        f"{settings.app_id}-{ASSET_TABLE_NAME}-changelog", partitions=partitions,
        compacting=True, deleting=False, internal=True, acks=False, **raw,
    )  # fmt: skip
    declared = app.Table(ASSET_TABLE_NAME, partitions=partitions, changelog_topic=changelog,
                         options=ROCKSDB_OPTIONS)  # fmt: skip
    table = cast("faust.Table[bytes, bytes]", declared)
    table.key_serializer = table.value_serializer = "raw"
    return topic, table, changelog.get_topic_name()


def ticket_table(
    table: faust.Table[bytes, bytes], changelog: str, outbox: Outbox
) -> ChangelogTable:
    """The Faust table's store, its changelog records batched through the outbox; written
    from the agent only (the partition is the agent's current one)."""
    return ChangelogTable(outbox, changelog, lambda: cast(MutableMapping[bytes, bytes], table.data),
                          _agent_partition)  # fmt: skip


def _agent_partition() -> int:
    partition = current_partition()
    if partition is None:
        raise RuntimeError("the ticket table is written from the agent only")
    return partition


def stores(declared: Declared) -> dict[str, Callable[[], list[Any]]]:
    """Each table's open rocksdb databases, by table name (for their memory gauges)."""
    tables = {TABLE_NAME: declared.table, ASSET_TABLE_NAME: declared.asset_table}
    for name, window in declared.board.windows.items():
        tables[f"board-{name}"] = window.table
    return {name: functools.partial(open_rocksdbs, table) for name, table in tables.items()}


def serve(
    declared: Declared,
    service: SlaService,
    *,
    gauges: EngineCollector,
    registry: CollectorRegistry,
    events_topic: str,
    health: Health,
) -> None:
    """Attach the agent, the tasks, the recovery hooks and the web pages to the app."""
    app = declared.app

    # concurrency=1: the agent writes the table (faust issue #606)
    @app.agent(declared.source, concurrency=1)
    async def process(stream: faust.StreamT[bytes]) -> None:
        await _consume(stream, service.handle, service.flush, health)

    @app.task  # type: ignore[untyped-decorator]
    async def clock() -> None:
        health.started = True  # Faust runs app tasks once its start-up is complete
        await service.run_clock()

    async def probe_broker() -> None:
        while True:
            await asyncio.sleep(PROBE_EVERY_S)
            health.broker_answered(await broker_answers(app, PROBE_TIMEOUT_S))

    if service.oncall is not None:
        oncall = service.oncall

        @app.task  # type: ignore[untyped-decorator]
        async def deliver_alerts() -> None:  # Alertmanager, webhooks: off the agent's path
            await oncall.run()

    @app.task  # type: ignore[untyped-decorator]
    async def count_tickets() -> None:
        while True:
            await gauges.refresh()
            await asyncio.sleep(GAUGE_REFRESH_S)

    async def watch_recovery() -> None:
        while True:
            await asyncio.sleep(WATCHDOG_EVERY_S)
            if health.recovery_stuck((recovery_position(app), service.recovery_progress())):
                _exit_for_restart()

    watching: list[asyncio.Future[None]] = []

    def start_watching() -> None:
        """From the first assignment on: Faust starts app tasks only after a recovery."""
        if not watching:
            watching.extend((app.add_future(probe_broker()), app.add_future(watch_recovery())))

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def assigned(_app: faust.App, assigned: set[TP], **_: Any) -> None:
        start_watching()

    @declared.table.on_recover
    async def recovered() -> None:
        start_watching()
        if recovery_superseded(app):  # its table may be partial; Faust's next one is not
            service.recovery_superseded()
            return
        assigned = app.assignor.assigned_actives()
        await service.on_recovered({tp.partition for tp in assigned if tp.topic == events_topic})

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def revoked(_app: faust.App, revoked: set[TP], **_: Any) -> None:
        service.on_revoked({tp.partition for tp in revoked if tp.topic == events_topic})

    # skipped records: read again, the commit held before them meanwhile
    service.inputs.consumer = FaustInputs(app, events_topic, service.inputs.held)
    _serve_heap_trim(app, registry)
    _pages(app, health, registry, service)


def _serve_heap_trim(app: faust.App, registry: CollectorRegistry) -> None:
    """Free heap pages back to the system after bursts (glibc only; heap_trim.py)."""
    trimmer = HeapTrimmer(glibc())
    registry.register(trimmer)

    @app.task  # type: ignore[untyped-decorator]
    async def trim_heap() -> None:
        await trimmer.run()


def serve_assets(declared: Declared, assets: AssetService, health: Health) -> None:
    """The second agent: the assets topic into the asset table and the repeat counts."""

    @declared.app.agent(declared.assets, concurrency=1)  # it writes the asset table
    async def repeat_failures(stream: faust.StreamT[bytes]) -> None:
        await _consume(stream, assets.handle, assets.flush, health)

    app, topic = declared.app, declared.assets.get_topic_name()

    @app.task  # type: ignore[untyped-decorator]
    async def sweep_assets() -> None:  # entries past their retention, with no later record
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            try:
                if await assets.sweep():
                    await assets.flush()
            except Exception:  # the next round tries again
                log.exception("asset sweep failed")

    @declared.asset_table.on_recover
    async def assets_recovered() -> None:
        assigned = app.assignor.assigned_actives()
        await assets.on_recovered({tp.partition for tp in assigned if tp.topic == topic})

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def assets_revoked(_app: faust.App, revoked: set[TP], **_: Any) -> None:
        assets.on_revoked({tp.partition for tp in revoked if tp.topic == topic})

    assets.inputs.consumer = FaustInputs(app, topic, assets.inputs.held)


async def _consume(
    stream: faust.StreamT[bytes],
    handle: Callable[[Any], Awaitable[None]],
    flush: Callable[[], Awaitable[None]],
    health: Health,
) -> None:
    """An agent's loop: records in chunks, whose outputs go out in one batch before Faust
    acks the chunk. Faust restarts a crashed agent; a crash loop ends the worker."""
    try:
        async for events in stream.take_events(CHUNK, within=CHUNK_WAIT_S):  # type: ignore[attr-defined]
            for event in events:
                set_current_event(event)  # the table store reads it
                await handle(event.message)
            await flush()
    except Exception as exc:
        if health.agent_crashed(exc):
            _exit_for_restart()
        raise


def _exit_for_restart() -> None:
    """Leave now with EX_SOFTWARE: inputs not yet acked are read again after the restart."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(CRASH_LOOP_EXIT_CODE)


def _pages(
    app: faust.App, health: Health, registry: CollectorRegistry, service: SlaService
) -> None:
    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            # OpenMetrics when the scraper asks (exemplars), else the classic text format
            encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
            # aiohttp takes the charset apart: both formats are UTF-8
            content_type = content_type.replace("; charset=utf-8", "")
            return self.bytes(encoder(registry), content_type=content_type)

    @app.page("/healthz")
    class Health(View):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "ok"})

    @app.page("/readyz")
    class Ready(View):
        async def get(self, request: Request) -> Response:
            ready, detail = health.status()
            return self.json(detail, status=200 if ready else 503)

    # one ticket this worker holds, as `slamon explain` shows it; never another's data
    @app.page("/tickets/{ticket_id}/timeline")
    class Timeline(View):
        async def get(self, request: Request, ticket_id: str) -> Response:
            ticket = service.engine.tickets.get(ticket_id)
            if ticket is None:
                return self.json({"error": "no such ticket on this worker"}, status=404)
            timeline = explain(ticket.events, service.engine.policy, service.clock())
            return self.json(timeline.to_dict())
