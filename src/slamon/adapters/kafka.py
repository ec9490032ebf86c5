"""Plain aiokafka helpers: create topics, publish JSONL, read a topic to its end.

The worker itself runs on Faust; these serve the CLI (``publish``, ``simulate``,
``tail``), the tests and the benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from slamon.adapters.private_api import refresh_metadata


def bootstrap(broker: str) -> str:
    """``kafka://host:port`` (Faust style) or ``host:port`` to ``host:port``."""
    return broker.split(";", maxsplit=1)[0].removeprefix("kafka://")


@dataclass(frozen=True)
class TopicSpec:
    """A topic as an app needs it: name, partition count, topic-level config."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


class TopicError(Exception):
    """The broker refused to create a topic (the message has its reason)."""


class TopicMismatch(TopicError):
    """A topic exists with another partition count than the app needs."""


TOPIC_ALREADY_EXISTS = 36  # Kafka error code: another process was first, which is fine
PROVISION_TIMEOUT_S = 30.0


async def ensure_topics(
    broker: str, names: Iterable[str], partitions: int, replication: int = 1
) -> None:
    """Create the topics that do not exist yet (existing ones are left as they are)."""
    await provision_topics(broker, [TopicSpec(n, partitions) for n in names], replication,
                           verify=False)  # fmt: skip


async def provision_topics(
    broker: str,
    specs: Iterable[TopicSpec],
    replication: int = 1,
    *,
    verify: bool = True,
    timeout_s: float = PROVISION_TIMEOUT_S,
) -> None:
    """Create missing topics, then wait until fresh metadata shows each one complete.

    With ``verify``, every topic must have exactly its spec's partition count, each with
    a leader, before this returns: a consumer that joins its group afterwards sees them
    all (a topic created by Faust during start-up can be missing from the assignor's
    metadata, which crash-loops the agent). A different count raises
    :class:`TopicMismatch`; a topic still incomplete after ``timeout_s``, TimeoutError.
    """
    wanted = {spec.name: spec for spec in specs}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(broker))
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [NewTopic(s.name, s.partitions, replication, topic_configs=s.config)
               for s in wanted.values() if s.name not in existing]  # fmt: skip
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was first
                response = await admin.create_topics(new)
                for name, code, message in response.topic_errors:
                    if code not in (0, TOPIC_ALREADY_EXISTS):
                        raise TopicError(f"cannot create topic {name}: {message} (error {code})")
    finally:
        await admin.close()
    if verify:
        await _wait_complete(broker, wanted, timeout_s)


async def _wait_complete(broker: str, wanted: dict[str, TopicSpec], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        missing = await _incomplete(broker, wanted)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not ready after {timeout_s:.0f}s: {', '.join(missing)}")
        await asyncio.sleep(0.2)


async def _incomplete(broker: str, wanted: dict[str, TopicSpec]) -> list[str]:
    """Names of wanted topics not yet complete, from a new client's metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(broker))
    await admin.start()
    try:
        described = await admin.describe_topics(sorted(wanted))
    finally:
        await admin.close()
    missing = []
    for topic in described:
        name, partitions = topic["topic"], topic.get("partitions") or []
        spec = wanted[name]
        if topic["error_code"] == 0 and partitions and len(partitions) != spec.partitions:
            raise TopicMismatch(
                f"topic {name} has {len(partitions)} partitions but this app needs "
                f"{spec.partitions}: co-partitioned topics must match (delete it, or run "
                f"with --partitions {len(partitions)} and a new --app-id)"
            )
        if topic["error_code"] != 0 or not partitions or any(p["leader"] < 0 for p in partitions):
            missing.append(name)
    return missing


async def partition_count(broker: str, topic: str) -> int | None:
    """How many partitions ``topic`` has; None if it does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap(broker))
    await admin.start()
    try:
        if topic not in set(await admin.list_topics()):
            return None
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return len(described[0]["partitions"])


def key_of(line: bytes) -> bytes | None:
    """The record key for a JSONL line: its ``subject`` (ticket id), if it has one."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    subject = obj.get("subject") if isinstance(obj, dict) else None
    return subject.encode() if isinstance(subject, str) else None


def producer(broker: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap(broker), linger_ms=5, max_batch_size=256 * 1024, acks="all"
    )


async def publish_lines(broker: str, topic: str, lines: Iterable[bytes], rate: float = 0.0) -> int:
    """Publish every non-blank line as-is, keyed by ticket id; ``rate`` events/s (0: max)."""
    sent = 0
    start = time.monotonic()
    async with producer(broker) as prod:
        pending = []
        for raw in lines:
            line = raw.strip()
            if not line:
                continue
            pending.append(await prod.send(topic, value=line, key=key_of(line)))
            sent += 1
            if rate > 0:
                ahead = sent / rate - (time.monotonic() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    return sent


@dataclass(frozen=True)
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


async def read_topic(broker: str, topic: str, idle_s: float = 1.0) -> list[Message]:
    """Every record of ``topic`` from the beginning to its current end."""
    return [m async for m in follow(broker, topic, stop_at_end=True, idle_s=idle_s)]


async def follow(
    broker: str,
    topic: str,
    *,
    stop_at_end: bool = False,
    idle_s: float = 1.0,
    from_beginning: bool = True,
) -> AsyncIterator[Message]:
    """Records of ``topic`` (no consumer group); optionally stop at the end offsets."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap(broker),
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await refresh_metadata(consumer)
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while True:
            if stop_at_end:
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= ends[tp] for pos, tp in zip(positions, tps, strict=True)):
                    return
            batch = await consumer.getmany(*tps, timeout_ms=int(idle_s * 1000))
            for tp, records in batch.items():
                for r in records:
                    yield Message(
                        tp.topic, tp.partition, r.offset, r.key, r.value, tuple(r.headers or ())
                    )
    finally:
        await consumer.stop()
