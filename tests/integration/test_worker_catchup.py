"""``slamon worker --catch-up``: a backlog read in batches before the worker joins its
group, then streaming as usual, on the real broker; the outputs agree with replay."""

from __future__ import annotations

import asyncio
import re
import signal
import urllib.error
import urllib.request
from typing import cast

import orjson
import pytest
from rocksdict import AccessType, Options, Rdict

from slamon.adapters.kafka import read_topic
from slamon.policies import load_policy_or_default
from slamon.replay import ReplayResult, replay
from slamon.simulate import generate_log
from tests.integration.harness import (
    Deployment,
    Worker,
    assert_matches_replay,
    committed_records,
    wait_until,
)


def _messy_log(tickets: int, seed: int) -> list[bytes]:
    policy = load_policy_or_default(None)
    return [r.encode() if isinstance(r, str) else orjson.dumps(r)
            for r in generate_log(policy, tickets, seed=seed, messy=True)]  # fmt: skip


def _handled(worker: Worker) -> float:
    return sum(worker.metric("slamon_events_total", result=r)
               for r in ("processed", "invalid", "duplicate", "late", "error"))  # fmt: skip


def _caught_up(worker: Worker) -> dict[str, object]:
    for line in worker.log().splitlines():
        if '"caught up"' in line:
            return dict(orjson.loads(line))
    raise AssertionError(f"no 'caught up' line in {worker.log_path}")


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_catch_up_starts_from_the_table_streams_after_and_matches_replay(
    deployment: Deployment, store: str
) -> None:
    """A worker streams the first part of a messy log and stops; the second part waits as
    a backlog; a worker with --catch-up reads it in batches on top of the changelog's
    tickets, then streams the third part: outcomes, standing breaches and dead letters
    of the whole are replay's. With rocksdb the catch-up writes the local store too, so
    that Faust's recovery after it reads nothing: the store holds the changelog's table,
    up to the changelog's last offset."""
    deployment.extra_args += ["--store", store]
    lines = _messy_log(tickets=400, seed=11)
    first, second, third = lines[: len(lines) // 3], lines[len(lines) // 3 : -300], lines[-300:]
    expected = replay(lines, load_policy_or_default(None))

    streaming = deployment.worker(0).start()
    deployment.publish(first)
    wait_until(lambda: _handled(streaming) == len(first), 90, "the first part consumed")
    streaming.kill(signal.SIGTERM)

    deployment.publish(second)
    catching_up = deployment.worker(1)
    catching_up.args += ["--catch-up", "100"]
    catching_up.start(ready_timeout_s=120)
    wait_until(lambda: _handled(catching_up) == len(second), 60, "the backlog handled")
    summary = _caught_up(catching_up)
    assert summary["records"] == len(second)
    assert isinstance(summary["restored"], int)
    assert summary["restored"] > 0, "the first worker's tickets come from the changelog"

    highwater = _recovery_offsets(catching_up, "Highwater - Active", deployment.app_id)
    starts = _recovery_offsets(catching_up, "Reading Starts At - Active", deployment.app_id)
    assert set(starts) == set(highwater) == set(range(deployment.partitions))
    if store.startswith("rocksdb"):  # the catch-up wrote the store: nothing left to read
        assert starts == highwater
    else:  # in memory: Faust reads the whole changelog again
        assert all(starts[p] < highwater[p] for p in starts)
    deployment.publish(third)
    wait_until(lambda: _handled(catching_up) == len(second) + len(third), 60, "streamed after")
    assert_matches_replay(deployment, expected)
    if store.startswith("rocksdb"):
        catching_up.kill(signal.SIGTERM)
        assert _local_table(deployment, 1) == _changelog_table(deployment)


def _recovery_offsets(worker: Worker, title: str, app_id: str) -> dict[int, int]:
    """Faust's recovery table ``title`` from the worker's log: the ticket changelog's
    offset per partition (its first recovery after the catch-up)."""
    for line in worker.log().split('"caught up"', 1)[1].splitlines():
        if title not in line:
            continue
        offsets: dict[int, int] = {}
        in_tickets = False
        for row in str(orjson.loads(line)["event"]).splitlines():
            cells = [c.strip() for c in row.strip("|").split("|")]
            if len(cells) != 3 or not cells[1].isdigit():
                continue
            if cells[0] != "〃":
                in_tickets = cells[0] == f"{app_id}-tickets-changelog"
            if in_tickets:
                offsets[int(cells[1])] = int(cells[2])
        return offsets
    raise AssertionError(f"no {title!r} table after the catch-up in {worker.log_path}")


def _local_table(deployment: Deployment, index: int) -> tuple[dict[bytes, bytes], dict[int, int]]:
    """A stopped worker's rocksdb ticket table: its snapshots, and per partition the
    changelog offset it holds everything up to."""
    table: dict[bytes, bytes] = {}
    offsets: dict[int, int] = {}
    paths = sorted((deployment.tmp / f"data-{index}").glob("**/tickets-*.db"))
    assert len(paths) == deployment.partitions, paths
    for path in paths:
        db = Rdict(str(path), Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            for key, value in db.items():
                if key == b"__faust\0offset__":
                    offsets[int(path.name.removesuffix(".db").rsplit("-", 1)[1])] = int(value)
                else:
                    table[cast(bytes, key)] = cast(bytes, value)  # raw mode: bytes
        finally:
            db.close()
    return table, offsets


def _changelog_table(deployment: Deployment) -> tuple[dict[bytes, bytes], dict[int, int]]:
    table: dict[bytes, bytes] = {}
    offsets: dict[int, int] = {}
    changelog = f"{deployment.app_id}-tickets-changelog"
    for message in asyncio.run(read_topic(deployment.bootstrap, changelog, idle_s=0.5)):
        offsets[message.partition] = message.offset
        if message.key is not None and message.value is None:
            table.pop(message.key, None)
        elif message.key is not None and message.value is not None:
            table[message.key] = message.value
    return table, offsets


def test_catch_up_is_skipped_while_another_worker_is_in_the_group(deployment: Deployment) -> None:
    """A group member exists: the catch-up does nothing (its commits would be refused,
    its snapshots could overwrite newer ones) and the worker joins the group."""
    lines = _messy_log(tickets=60, seed=3)
    running = deployment.worker(0).start()
    deployment.publish(lines)
    wait_until(lambda: _handled(running) == len(lines), 60, "the log consumed")
    joining = deployment.worker(1)
    joining.args += ["--catch-up", "1"]
    joining.start(ready_timeout_s=120)
    wait_until(lambda: "catch-up skipped" in joining.log(), 30, "the skip logged")
    assert re.search(r'"reason":"the consumer group has members"', joining.log())
    assert '"caught up"' not in joining.log()


def test_a_catch_up_killed_midway_loses_nothing(deployment: Deployment) -> None:
    """SIGKILL while catching up: the batches written are committed, the rest is read
    again by the next catch-up; outcomes, standing breaches and dead letters of the whole
    log are still replay's."""
    lines, expected, first = _catching_up(deployment, seed=17, batch=1000)
    wait_until(lambda: '"catching up"' in first.log(), 60, "the catch-up to begin")
    wait_until(lambda: _committed(deployment) > 0, 60, "a first batch committed")
    # its pages answer meanwhile: alive, not ready, the progress on /metrics
    assert first.get("/healthz") == '{"status": "ok"}'
    status, body = _status(first, "/readyz")
    assert status == 503
    assert body["catching_up"] is True
    assert body["backlog"] == len(lines)
    assert first.metric("slamon_events_total", result="processed") > 0
    assert first.metric("slamon_ready") == 0
    first.kill(signal.SIGKILL)
    committed = _committed(deployment)
    assert 0 < committed < len(lines), "killed midway: some batches committed, not all"

    second = deployment.worker(1)
    second.args += ["--catch-up", "100"]
    second.start(ready_timeout_s=120)
    handled = len(lines) - committed
    wait_until(lambda: _handled(second) >= handled, 90, "the rest handled")
    assert _handled(second) == handled
    assert_matches_replay(deployment, expected, exactly_once=False)  # killed: at least once


def _committed(deployment: Deployment) -> int:
    """Records committed by the deployment's consumer group on the input topic."""
    topic = deployment.topic("events")
    return asyncio.run(
        committed_records(deployment.bootstrap, deployment.app_id, topic, deployment.partitions)
    )


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_a_worker_joining_mid_catch_up_gets_the_rest_and_nothing_is_lost(
    deployment: Deployment, store: str
) -> None:
    """A second worker joins the group while the first catches up: the catch-up stops
    before writing its next batch, the group streams the rest, and the outcomes,
    standing breaches and dead letters of the whole log are still replay's. (With
    rocksdb the stopped catch-up clears the store it wrote: Faust recovers it anew.)"""
    deployment.extra_args += ["--store", store]
    lines, expected, first = _catching_up(deployment, seed=29, batch=100)
    wait_until(lambda: _committed(deployment) > 0, 60, "a first batch committed")
    deployment.worker(1).start(ready_timeout_s=120)
    wait_until(lambda: "catch-up stopped" in first.log(), 60, "the catch-up to give way")
    assert '"caught up"' in first.log()  # its summary, with why it stopped
    wait_until(lambda: _committed(deployment) == len(lines), 120, "the group to commit all")
    # at least once: the catch-up's last batch may be written and its commit refused (the
    # group reads it again), and records in flight at a rebalance are read again too
    assert_matches_replay(deployment, expected, exactly_once=False)


def _status(worker: Worker, path: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.port}{path}", timeout=5) as r:
            return r.status, dict(orjson.loads(r.read()))
    except urllib.error.HTTPError as exc:
        return exc.code, dict(orjson.loads(exc.read()))


def _catching_up(
    deployment: Deployment, *, seed: int, batch: int
) -> tuple[list[bytes], ReplayResult, Worker]:
    """A 6,000-ticket messy log published, its replay, and a worker launched on it with
    ``--catch-up`` in batches of ``batch`` records (not waited for)."""
    lines = _messy_log(tickets=6000, seed=seed)
    expected = replay(lines, load_policy_or_default(None))
    deployment.publish(lines)
    worker = deployment.worker(0)
    worker.args += ["--catch-up", "100", "--catch-up-batch", str(batch)]
    return lines, expected, worker.start_process()
