"""The worker adapts to an input topic that exists before it starts."""

from __future__ import annotations

import asyncio
import time

from slamon.adapters.kafka import producer
from slamon.adapters.kafka_topics import partition_count
from slamon.core.timefmt import NS_PER_S, format_rfc3339
from tests.integration.harness import Deployment, created_now, wait_until


def test_worker_follows_the_partition_count_of_an_existing_input_topic(
    deployment: Deployment,
) -> None:
    """Input auto-created with 1 partition (not the 4 asked for): the worker follows it."""
    lines = created_now(10, "pre", time.time_ns() + 600 * NS_PER_S)
    deployment.publish(lines)  # the broker auto-creates the topic: one partition
    assert asyncio.run(partition_count(deployment.bootstrap, deployment.topic("events"))) == 1

    worker = deployment.worker().start()
    wait_until(lambda: worker.metric("slamon_events_total", result="processed") == len(lines),
               30, "every record processed")  # fmt: skip
    assert worker.metric("slamon_ready") == 1
    changelog = f"{deployment.app_id}-tickets-changelog"
    assert asyncio.run(partition_count(deployment.bootstrap, changelog)) == 1


def test_binary_mode_cloudevents_are_processed(deployment: Deployment) -> None:
    """ce_* headers with the data as value (the Kafka binary binding) count as events."""
    worker = deployment.worker().start()

    async def send() -> None:
        async with producer(deployment.bootstrap) as prod:
            for i in range(5):
                headers = [
                    ("ce_specversion", b"1.0"), ("ce_id", f"bin-{i}".encode()),
                    ("ce_source", b"/binary"), ("ce_type", b"ticket.created"),
                    ("ce_subject", f"B-{i}".encode()),
                    ("ce_time", format_rfc3339(time.time_ns()).encode()),
                    ("content-type", b"application/json"),
                ]  # fmt: skip
                await prod.send_and_wait(deployment.topic("events"), key=f"B-{i}".encode(),
                                         value=b'{"priority": "P2"}', headers=headers)  # fmt: skip

    asyncio.run(send())
    wait_until(lambda: worker.metric("slamon_events_total", result="processed") == 5,
               30, "the binary-mode records processed")  # fmt: skip
    assert worker.metric("slamon_events_total", result="invalid") == 0

    # the running-clock gauges are recounted every few seconds
    def running() -> float:
        return worker.metric("slamon_running_clocks", priority="P2", sla="first_response")

    wait_until(lambda: running() == 5, 15, "the running gauge")
