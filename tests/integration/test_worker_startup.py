"""Start-up on brand-new brokers: every topic exists and is verified before the group join."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.integration.harness import Deployment, answered_tickets, fresh_broker, wait_until

FRESH_RUNS = 3
TICKETS = 12


def _first_start(bootstrap: str, tmp: Path, run: int) -> None:
    deployment = Deployment(bootstrap, tmp)
    tmp.mkdir()
    worker = deployment.worker().start()
    try:
        deployment.publish(answered_tickets(f"fresh{run}", TICKETS))

        def responded() -> bool:
            return worker.metric("slamon_outcomes_total", sla="first_response") == TICKETS

        wait_until(responded, 30, f"{TICKETS} first-response outcomes (run {run})")
        # The 1h hopping window, not the 1m tumbling one: a minute boundary between two
        # partitions' flushes splits the samples over two 1m windows (the test flaked so).
        wait_until(lambda: worker.metric("slamon_board_clocks", window="1h") == TICKETS,
                   20, f"the board sample of every response (run {run})")  # fmt: skip
        assert worker.metric("slamon_events_total", result="processed") == 2 * TICKETS
    finally:
        worker.kill()
    log = worker.log()
    assert "PartitionsMismatch" not in log
    assert "Crashed" not in log


def test_the_worker_processes_a_log_on_each_of_several_brand_new_brokers(tmp_path: Path) -> None:
    """Fresh broker, fresh data dir, first start: no crash loop, every ticket decided, each time.

    The live board writes at the first measured response: that write used to crash-loop the
    agent when Faust created the board's changelog during start-up.
    """
    for run in range(FRESH_RUNS):
        with fresh_broker(tmp_path / f"kafka-{run}") as bootstrap:
            _first_start(bootstrap, tmp_path / f"run-{run}", run)


def test_an_internal_topic_with_another_partition_count_is_a_clear_startup_error(
    deployment: Deployment, kafka_bootstrap: str
) -> None:
    """A changelog with 2 partitions for a 4-partition app: exit 1 naming both counts."""
    changelog = f"{deployment.app_id}-tickets-changelog"

    async def create() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(changelog, 2, 1)])
        finally:
            await admin.close()

    asyncio.run(create())
    worker = deployment.worker()
    assert worker.run_to_exit(timeout_s=60) != 0
    log = worker.log()
    assert f"topic {changelog} has 2 partitions but this app needs 4" in log
    assert "Traceback" not in log


def test_a_replication_factor_the_cluster_cannot_meet_is_a_clear_startup_error(
    deployment: Deployment,
) -> None:
    """3 replicas asked of a one-node broker: exit non-zero with the broker's reason."""
    worker = deployment.worker()
    worker.args += ["--replication-factor", "3"]
    assert worker.run_to_exit(timeout_s=60) != 0
    log = worker.log()
    assert "worker cannot start: cannot create topic" in log
    assert "replication factor of 3 cannot be reached" in log
    assert "Traceback" not in log
