"""The composition root: the one place that builds slamon's object graph.

Production calls :func:`run_worker`; tests call :func:`build_service` with fakes
(``slamon.testing``: a manual clock, list sinks, a dict as the table) and get the
same service the Faust app drives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from slamon.adapters.delivery import AlertSink
from slamon.adapters.kafka_topics import TopicError, TopicSpec, partition_count, provision_topics
from slamon.adapters.metrics import EngineCollector, SlaMetrics
from slamon.adapters.outbox import Outbox, OutboxTopic
from slamon.adapters.store_metrics import StoreMemoryCollector
from slamon.core.live import LiveEngine
from slamon.core.oncall import Pager
from slamon.core.policy import SlaPolicy
from slamon.core.timefmt import NS_PER_S
from slamon.logs import configure_logging
from slamon.worker.assets import AssetFeed, AssetService, assets_topic
from slamon.worker.catchup import CatchUp
from slamon.worker.oncall import Oncall
from slamon.worker.ports import Board, Sink
from slamon.worker.service import SlaService
from slamon.worker.settings import WorkerSettings

if TYPE_CHECKING:
    from slamon.worker.app import Declared

Clock = Callable[[], int]  # wall clock, integer ns since the epoch
SHUTDOWN_GRACE_S = 12.0  # SIGTERM to exit, at most (orchestrators wait 30 s by default)


class StartupError(Exception):
    """The worker cannot start as configured (the message says why and what to do)."""


@dataclass(frozen=True)
class Outputs:
    """Where the worker's records go: outbox topics in production, list sinks in tests."""

    alerts: Sink
    outcomes: Sink
    dead_letter: Sink
    ticks: Sink
    flush: Callable[[], Awaitable[None]] | None = None  # hands buffered records on
    assets: Sink | None = None  # the repartition by asset (None: no repeat-failure counts)


@dataclass(frozen=True)
class Service:
    """The worker's object graph, ready to be driven by Faust or by a test."""

    service: SlaService
    engine: LiveEngine
    gauges: EngineCollector
    registry: CollectorRegistry
    oncall: Oncall | None = None  # per-ticket alert delivery, when sinks are configured
    assets: AssetService | None = None  # the asset agent's side, with ``asset_table``
    catch_up: CatchUp | None = None  # the backlog before Faust starts (worker/catchup.py)


def build_service(
    policy: SlaPolicy,
    settings: WorkerSettings,
    *,
    outputs: Outputs,
    table: MutableMapping[bytes, bytes],
    clock: Clock = time.time_ns,
    registry: CollectorRegistry | None = None,
    board: Board | None = None,
    highwater: Callable[[int], int | None] | None = None,
    alert_sinks: Sequence[AlertSink] = (),
    asset_table: MutableMapping[bytes, bytes] | None = None,
) -> Service:
    """The engine, its metrics and the service around them, wired to ``outputs``.

    With ``outputs.assets`` and ``asset_table``, the service sends each change of a ticket
    with an asset to the assets topic, and the asset agent's side (``Service.assets``) counts
    repeat failures from it (worker/assets.py).

    ``alert_sinks`` (Alertmanagers, webhooks; fakes in tests) get the per-ticket on-call
    alerts through a :class:`Pager` re-sending every ``settings.oncall.resend_s``.
    """
    registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
    engine = LiveEngine(policy, retention_ns=int(settings.retention_s * NS_PER_S))
    oncall = None
    if alert_sinks:
        pager = Pager(int(settings.oncall.resend_s * NS_PER_S))
        oncall = Oncall(policy, pager, alert_sinks, clock, queue_size=settings.oncall.queue_size)
        registry.register(oncall.collector)
    service = SlaService(
        engine,
        SlaMetrics(registry, policy, settings.max_regions),
        table=table,
        alerts=outputs.alerts,
        outcomes=outputs.outcomes,
        dead_letter=outputs.dead_letter,
        ticks=outputs.ticks,
        ticks_topic=settings.topics.ticks(settings.app_id),
        board=board,
        flush=outputs.flush,
        clock=clock,
        oncall=oncall,
    )
    assets = None
    if outputs.assets is not None and asset_table is not None:
        service.assets = AssetFeed(outputs.assets, settings.partitions)
        assets = AssetService(service.metrics, asset_table, clock=clock, flush=outputs.flush,
                              sweeps=outputs.assets,
                              window_ns=policy.quality.repeat_window_ns,
                              retention_ns=int(settings.retention_s * NS_PER_S))  # fmt: skip
    known = highwater or (lambda _partition: None)
    gauges = EngineCollector(engine, lambda: service.lag(known))
    registry.register(gauges)
    return Service(service, engine, gauges, registry, oncall, assets)


def http_alert_sinks(settings: WorkerSettings, clock: Clock) -> list[AlertSink]:
    """One sink per configured Alertmanager and webhook URL."""
    from slamon.adapters.alertmanager import AlertmanagerSink  # noqa: PLC0415
    from slamon.adapters.webhook import WebhookSink  # noqa: PLC0415

    oncall = settings.oncall
    sinks: list[AlertSink] = [AlertmanagerSink(url, oncall.board_url)
                              for url in oncall.alertmanager_urls]  # fmt: skip
    sinks += [WebhookSink(url, oncall.board_url, oncall.webhook_secret, clock)
              for url in oncall.webhook_urls]  # fmt: skip
    return sinks


def build_worker(
    settings: WorkerSettings,
    policy: SlaPolicy,
    *,
    clock: Clock = time.time_ns,
    registry: CollectorRegistry | None = None,
) -> tuple[Declared, Service]:
    """The Faust app with the service wired in: outbox topics, the ticket table, the board."""
    from faust.types import TP  # noqa: PLC0415  (faust is slow to import: not for --help)

    from slamon.adapters import private_api  # noqa: PLC0415
    from slamon.worker import app as faust_app  # noqa: PLC0415
    from slamon.worker.board import BoardCollector  # noqa: PLC0415
    from slamon.worker.health import Health, HealthCollector  # noqa: PLC0415

    declared = faust_app.declare(settings, clock)
    app, topics = declared.app, settings.topics
    catch_up_producer: list[Any] = []  # the catch-up's own while Faust's is not up

    def producer() -> Any:
        return catch_up_producer[0] if catch_up_producer else private_api.aiokafka_producer(app)

    def use_producer(chosen: Any) -> None:
        catch_up_producer[:] = [chosen] if chosen is not None else []

    outbox = Outbox(producer)

    def persisted(table: Any, changelog: str) -> Callable[[int, int], None]:
        return functools.partial(private_api.set_persisted_offset, table, changelog)

    outbox.write_last(declared.changelog)  # a snapshot only after what it says was sent
    outbox.write_last(declared.asset_changelog)
    outbox.on_delivered(declared.changelog, persisted(declared.table, declared.changelog))
    outbox.on_delivered(declared.asset_changelog,
                        persisted(declared.asset_table, declared.asset_changelog))  # fmt: skip

    async def stopping(_app: Any, **_: Any) -> None:  # the consumer is down, the producer up
        outbox.close()

    app.on_before_shutdown.connect(stopping)  # type: ignore[arg-type]  # mode wants signal=

    def topic(name: str) -> OutboxTopic:
        return OutboxTopic(outbox, name)

    def highwater(partition: int) -> int | None:
        try:
            return int(app.consumer.highwater(TP(topics.events, partition)))
        except Exception:  # not assigned, or the consumer is not up yet
            return None

    outputs = Outputs(
        alerts=topic(topics.alerts),
        outcomes=topic(topics.outcomes),
        dead_letter=topic(topics.dead_letter),
        ticks=topic(topics.ticks(settings.app_id)),
        flush=outbox.flush,
        assets=topic(assets_topic(settings.app_id)),
    )
    table = faust_app.ticket_table(declared.table, declared.changelog, outbox)
    asset_table = faust_app.ticket_table(declared.asset_table, declared.asset_changelog, outbox)
    built = build_service(
        policy, settings, outputs=outputs, table=table, clock=clock, registry=registry,
        board=declared.board, highwater=highwater,
        alert_sinks=http_alert_sinks(settings, clock), asset_table=asset_table,
    )  # fmt: skip
    built.registry.register(BoardCollector(declared.board))
    built.registry.register(StoreMemoryCollector(faust_app.stores(declared)))
    health = Health(outbox.stats, recovered=lambda: built.service.ready,
                    recovery_stall_limit_s=settings.recovery_stall_limit_s)  # fmt: skip
    built.registry.register(HealthCollector(health))
    faust_app.serve(declared, built.service, gauges=built.gauges, registry=built.registry,
                    events_topic=topics.events, health=health)  # fmt: skip
    if built.assets is not None:
        faust_app.serve_assets(declared, built.assets, health)
    rocksdb = settings.store.startswith("rocksdb")
    files = private_api.RocksdbPartitions(declared.table) if rocksdb else None
    catch_up = CatchUp(built.service, settings, outbox=outbox, changelog=declared.changelog,
                       use_producer=use_producer, registry=built.registry, files=files)  # fmt: skip
    return declared, dataclasses.replace(built, catch_up=catch_up)


def worker_topics(declared: Declared, settings: WorkerSettings) -> list[TopicSpec]:
    """Every topic the worker reads or writes, as Faust declared it (changelog configs too).

    Created and verified before the consumer joins its group, so that no table's
    changelog is created by Faust during start-up (the assignor would miss it).
    """
    topics, partitions = settings.topics, settings.partitions
    names = [topics.events, topics.ticks(settings.app_id), assets_topic(settings.app_id),
             topics.alerts, topics.outcomes, topics.dead_letter]  # fmt: skip
    base = {}
    if settings.min_insync_replicas is not None:
        base["min.insync.replicas"] = str(settings.min_insync_replicas)
    specs = [TopicSpec(name, partitions, dict(base)) for name in names]
    for table in declared.app.tables.values():
        changelog = table.changelog_topic
        flags = [flag for flag, on in (("compact", changelog.compacting),
                                       ("delete", changelog.deleting)) if on]  # fmt: skip
        config = dict(base)
        if flags:
            config["cleanup.policy"] = ",".join(flags)
        if changelog.retention:
            config["retention.ms"] = str(int(changelog.retention * 1000))
        specs.append(TopicSpec(changelog.get_topic_name(), partitions, config))
    specs.append(TopicSpec(f"{settings.app_id}-__assignor-__leader", 1, dict(base)))  # Faust's
    return specs


def run_worker(settings: WorkerSettings, policy: SlaPolicy) -> None:
    """Wire and run the Kafka worker until SIGINT/SIGTERM."""
    from slamon.adapters.private_api import worker_with_bounded_stop  # noqa: PLC0415

    configure_logging(settings.log_level, json=settings.log_json)
    try:
        settings = asyncio.run(_match_input_partitions(settings))
        declared, built = build_worker(settings, policy)
        specs = worker_topics(declared, settings)
        asyncio.run(provision_topics(settings.broker, specs, settings.replication,
                                     security=settings.security))  # fmt: skip
        if built.catch_up is not None and settings.catch_up:
            _catch_up(built.catch_up)
    except (TopicError, TimeoutError) as exc:
        raise StartupError(str(exc)) from None
    except KafkaError as exc:
        raise StartupError(f"cannot reach Kafka at {settings.broker}: {exc}") from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    worker = worker_with_bounded_stop(
        declared.app, SHUTDOWN_GRACE_S, _overran_stop, loglevel=settings.log_level,
        override_logging=False, redirect_stdouts=False, quiet=True,
    )  # fmt: skip
    worker.execute_from_commandline()


def _catch_up(catch_up: CatchUp) -> None:
    """Run the catch-up; Ctrl-C stops the worker there (what was committed stays done)."""
    try:
        asyncio.run(catch_up.run())
    except KeyboardInterrupt:
        structlog.get_logger("slamon.worker").warning(
            "catch-up interrupted; the batches committed so far are done, the rest is read again"
        )
        raise SystemExit(130) from None


def _overran_stop() -> None:
    """Stop took longer than the grace (a broker that does not answer): leave now."""
    structlog.get_logger("slamon.worker").warning(
        "stop took longer than the grace; exiting", grace_s=SHUTDOWN_GRACE_S
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # a requested stop: nothing unacknowledged is lost, it is read again


async def _match_input_partitions(settings: WorkerSettings) -> WorkerSettings:
    """Follow the input topic's partition count if it already exists.

    The ticket table, its changelog and the ticks topic must have exactly as many
    partitions as the input (co-partitioning); an input topic created earlier, e.g. by a
    producer with broker auto-creation, decides.
    """
    actual = await partition_count(
        settings.broker, settings.topics.events, security=settings.security
    )
    if actual is None or actual == settings.partitions:
        return settings
    structlog.get_logger("slamon.worker").warning(
        "input topic partition count differs from --partitions; following the topic",
        topic=settings.topics.events, partitions=actual, configured=settings.partitions,
    )  # fmt: skip
    return dataclasses.replace(settings, partitions=actual)
