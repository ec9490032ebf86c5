"""Integration tests: they run against a real Kafka broker and never skip.

Start one with ``make kafka-up`` (single-node Apache Kafka on 127.0.0.1:9092, see
docs/kafka.md) or point ``SLAMON_TEST_BROKER`` at another one (``host:port``).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from tests.integration.harness import Deployment

DEFAULT_BROKER = "127.0.0.1:9092"
CONNECT_TIMEOUT_S = 15.0

_HERE = Path(__file__).parent

# Tests stop children with SIGINT (Ctrl-C). A run started in the background with `&`
# inherits SIGINT ignored, and its children would too (an ignored signal stays ignored
# across exec): handle it again here, so children start with the default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # This hook sees every collected item of the session, not just this directory's.
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.integration)


async def _broker_ids(bootstrap: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        cluster = await admin.describe_cluster()
    finally:
        await admin.close()
    return [broker["node_id"] for broker in cluster["brokers"]]


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """``host:port`` of a Kafka broker that answers; fails the test if there is none.

    A missing broker is an error, not a reason to skip: a skipped integration suite looks
    green while proving nothing.
    """
    bootstrap = os.environ.get("SLAMON_TEST_BROKER", DEFAULT_BROKER)
    problem = None
    try:
        brokers = asyncio.run(asyncio.wait_for(_broker_ids(bootstrap), CONNECT_TIMEOUT_S))
    except Exception as exc:  # whatever went wrong, there is no usable broker
        problem = f"{type(exc).__name__}: {exc}"
    else:
        if not brokers:
            problem = "the cluster reports no live broker"
    if problem is not None:  # failed outside `except`: no chained traceback in the report
        pytest.fail(
            f"no usable Kafka broker on {bootstrap} ({problem}).\n"
            "Start the local one with `make kafka-up` (docs/kafka.md), "
            "or set SLAMON_TEST_BROKER=host:port.",
            pytrace=False,
        )
    return bootstrap


@pytest.fixture
def deployment(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Deployment]:
    """A fresh app id and topic set; every worker started from it is killed afterwards."""
    deploy = Deployment(kafka_bootstrap, tmp_path)
    yield deploy
    for worker in deploy.workers:
        worker.kill(signal.SIGTERM)
    deploy.delete_topics()
