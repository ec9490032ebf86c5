"""The worker adapts to an input topic that exists before it starts."""

from __future__ import annotations

import asyncio
import time

from slamon.adapters.kafka import partition_count
from slamon.core.timefmt import NS_PER_S
from tests.integration.conftest import Deployment, created_now, wait_until


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
