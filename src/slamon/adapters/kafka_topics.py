"""Topics an app needs: created when missing, then verified from fresh metadata."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from slamon.adapters.kafka import PLAINTEXT, admin_client
from slamon.adapters.kafka_security import KafkaSecurity


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
    broker: str,
    names: Iterable[str],
    partitions: int,
    replication: int = 1,
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Create the topics that do not exist yet (existing ones are left as they are)."""
    await provision_topics(broker, [TopicSpec(n, partitions) for n in names], replication,
                           verify=False, security=security)  # fmt: skip


async def provision_topics(
    broker: str,
    specs: Iterable[TopicSpec],
    replication: int = 1,
    *,
    verify: bool = True,
    timeout_s: float = PROVISION_TIMEOUT_S,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Create missing topics, then wait until fresh metadata shows each one complete.

    With ``verify``, every topic must have exactly its spec's partition count, each with
    a leader, before this returns: a consumer that joins its group afterwards sees them
    all (a topic created by Faust during start-up can be missing from the assignor's
    metadata, which crash-loops the agent). A different count raises
    :class:`TopicMismatch`; a topic still incomplete after ``timeout_s``, TimeoutError.
    """
    wanted = {spec.name: spec for spec in specs}
    async with admin_client(broker, security) as admin:
        existing = set(await admin.list_topics())
        new = [NewTopic(s.name, s.partitions, replication, topic_configs=s.config)
               for s in wanted.values() if s.name not in existing]  # fmt: skip
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was first
                response = await admin.create_topics(new)
                for name, code, message in response.topic_errors:
                    if code not in (0, TOPIC_ALREADY_EXISTS):
                        raise TopicError(f"cannot create topic {name}: {message} (error {code})")
    if verify:
        await _wait_complete(broker, wanted, timeout_s, security)


async def _wait_complete(
    broker: str, wanted: dict[str, TopicSpec], timeout_s: float, security: KafkaSecurity
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        missing = await _incomplete(broker, wanted, security)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not ready after {timeout_s:.0f}s: {', '.join(missing)}")
        await asyncio.sleep(0.2)


async def _incomplete(
    broker: str, wanted: dict[str, TopicSpec], security: KafkaSecurity
) -> list[str]:
    """Names of wanted topics not yet complete, from a new client's metadata."""
    async with admin_client(broker, security) as admin:
        described = await admin.describe_topics(sorted(wanted))
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


async def partition_count(
    broker: str, topic: str, *, security: KafkaSecurity = PLAINTEXT
) -> int | None:
    """How many partitions ``topic`` has; None if it does not exist."""
    async with admin_client(broker, security) as admin:
        if topic not in set(await admin.list_topics()):
            return None
        described = await admin.describe_topics([topic])
    return len(described[0]["partitions"])


async def delete_topics(broker: str, prefix: str, security: KafkaSecurity = PLAINTEXT) -> list[str]:
    """Delete the topics named ``prefix.*`` or ``prefix-*`` (an app id's own and Faust's
    internal ones); their names. For tests and benchmarks, which create many."""
    async with admin_client(broker, security) as admin:
        ours = [t for t in await admin.list_topics() if t.startswith((f"{prefix}.", f"{prefix}-"))]
        if ours:
            await admin.delete_topics(ours)
    return ours
