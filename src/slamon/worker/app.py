"""Builds the Faust app: topics, the ticket table, the agent, the clock task, web pages.

Nothing here decides anything about SLAs: records go to :class:`SlaService`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.types import TP
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from slamon.adapters.metrics import EngineCollector, SlaMetrics
from slamon.core.live import LiveEngine
from slamon.core.policy import SlaPolicy
from slamon.core.timefmt import NS_PER_S
from slamon.worker.service import SlaService
from slamon.worker.settings import WorkerSettings

TABLE_NAME = "tickets"


@dataclass
class WorkerApp:
    app: faust.App
    service: SlaService
    registry: CollectorRegistry


class _FaustSink:
    """A Faust topic as the service's :class:`~slamon.worker.service.Sink`."""

    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic

    async def send(
        self,
        *,
        key: bytes | None,
        value: bytes | None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        return await self.topic.send(key=key, value=value, partition=partition, headers=headers)


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
    )
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    topics = settings.topics
    ticks_name = topics.ticks(settings.app_id)
    source = app.topic(topics.events, ticks_name, partitions=settings.partitions, **raw)
    ticks = app.topic(ticks_name, partitions=settings.partitions, internal=True, **raw)
    # Values are orjson-encoded snapshots. Faust derives table serializers from key/value
    # *types* (json for bytes), so the changelog topic is declared here, raw.
    changelog = app.topic(
        f"{settings.app_id}-{TABLE_NAME}-changelog", partitions=settings.partitions,
        compacting=True, deleting=False, internal=True, **raw,
    )  # fmt: skip
    table = cast(
        "faust.Table[bytes, bytes]",
        app.Table(TABLE_NAME, partitions=settings.partitions, changelog_topic=changelog),
    )
    table.key_serializer = table.value_serializer = "raw"  # used by every changelog send

    engine = LiveEngine(policy, retention_ns=int(settings.retention_s * NS_PER_S))
    metrics = SlaMetrics(registry_, policy)
    service = SlaService(
        engine,
        metrics,
        table=table,
        alerts=_FaustSink(app.topic(topics.alerts, **raw)),
        outcomes=_FaustSink(app.topic(topics.outcomes, **raw)),
        dead_letter=_FaustSink(app.topic(topics.dead_letter, **raw)),
        ticks=_FaustSink(ticks),
        ticks_topic=ticks_name,
    )

    def highwater(partition: int) -> int | None:
        try:
            return int(app.consumer.highwater(TP(topics.events, partition)))
        except Exception:
            return None

    registry_.register(EngineCollector(engine, lambda: service.lag(highwater)))

    # concurrency=1: the agent writes the table (faust issue #606)
    @app.agent(source, concurrency=1)
    async def process(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            await service.handle(event.message)

    @app.task  # type: ignore[untyped-decorator]
    async def clock() -> None:
        await service.run_clock()

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
