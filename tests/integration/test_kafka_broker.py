"""Smoke test of the broker that `make kafka-up` starts, through the project's client."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from slamon.adapters.kafka_topics import delete_topics

PARTITIONS = 3
RECORDS = 100
KEYS = 10
CONSUME_TIMEOUT_S = 30.0


@pytest.mark.asyncio
async def test_keyed_records_round_trip_through_a_three_partition_topic(
    kafka_bootstrap: str,
) -> None:
    """Create a topic, produce keyed records, read them all back with a new group.

    This is the path slamon relies on: ticket events are keyed by ticket id, and the
    per-ticket SLA clocks are only exact if every event of one ticket lands in (and is
    read in order from) one partition.
    """
    topic = f"slamon-smoke-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
        assert [(name, code) for name, code, _msg in response.topic_errors] == [(topic, 0)]

        sent = {f"{i:03d}": f"ticket-{i % KEYS}" for i in range(RECORDS)}  # value -> key
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            deliveries = [
                await producer.send(topic, key=key.encode(), value=value.encode())
                for value, key in sent.items()
            ]
            await asyncio.gather(*deliveries)  # raises if any record was not acknowledged
        finally:
            await producer.stop()

        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=f"{topic}-group",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        received: dict[str, tuple[str, int]] = {}  # value -> (key, partition)
        order_of_key: dict[str, list[str]] = defaultdict(list)  # key -> values as consumed
        try:
            async with asyncio.timeout(CONSUME_TIMEOUT_S):
                while len(received) < RECORDS:
                    batches = await consumer.getmany(timeout_ms=1000)
                    for tp, records in batches.items():
                        for record in records:
                            assert record.key is not None
                            assert record.value is not None
                            key, value = record.key.decode(), record.value.decode()
                            received[value] = (key, tp.partition)
                            order_of_key[key].append(value)
            assert consumer.partitions_for_topic(topic) == set(range(PARTITIONS))
        finally:
            await consumer.stop()
    finally:
        await admin.delete_topics([topic])
        await admin.close()

    assert {value: key for value, (key, _p) in received.items()} == sent
    partitions_of_key: dict[str, set[int]] = defaultdict(set)
    for key, partition in received.values():
        partitions_of_key[key].add(partition)
    assert all(len(parts) == 1 for parts in partitions_of_key.values()), partitions_of_key
    # Each key's records come back in the order they were produced (values count up).
    assert all(values == sorted(values) for values in order_of_key.values()), order_of_key
    assert sum(len(values) for values in order_of_key.values()) == RECORDS  # no redelivery
    # The keys did spread: the topic really has several partitions in use.
    assert len(set().union(*partitions_of_key.values())) > 1


@pytest.mark.asyncio
async def test_a_deployments_topics_are_deleted_and_no_one_elses(kafka_bootstrap: str) -> None:
    """``delete_topics(prefix)`` (the deployment fixture's clean-up) removes ``prefix.*`` and
    ``prefix-*`` and leaves a topic whose name merely starts with the same letters."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    ours = [f"{prefix}.events", f"{prefix}-tickets-changelog"]
    other = f"{prefix}x.events"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1) for name in [*ours, other]])
        async with asyncio.timeout(CONSUME_TIMEOUT_S):  # created is not yet listed
            while {*ours, other} - set(await admin.list_topics()):
                await asyncio.sleep(0.2)
        assert sorted(await delete_topics(kafka_bootstrap, prefix)) == sorted(ours)
        async with asyncio.timeout(CONSUME_TIMEOUT_S):
            while set(ours) & set(left := await admin.list_topics()):
                await asyncio.sleep(0.2)
        assert other in left
    finally:
        await admin.delete_topics([other])
        await admin.close()
