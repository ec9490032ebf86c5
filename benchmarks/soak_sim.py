"""The soak's traffic through the worker's service in virtual time: is slamon's own memory flat?

    .venv/bin/python benchmarks/soak_sim.py [--minutes 40] [--rate 400]

The service is built by the composition root with fakes (no Kafka, no Faust, no rocksdb):
100,000 long-target open tickets, then `soak_bench.py`'s lifecycles at --rate events/s on
a manual clock stepped by 100 ms, the clock task's tick after each step, tick and asset
records fed back to the service as the agents would get them. tracemalloc (one frame) is
read every 5 virtual minutes; at the end, what grew between the 15th minute (when the
bounded parts are full) and the end, by source line. What the real soak shows beyond
this is Faust's, aiokafka's, rocksdb's or the allocator's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchlib import event, policy_file
from soak_bench import TARGETS, Traffic

from slamon.bootstrap import Outputs, build_service
from slamon.core.timefmt import NS_PER_S
from slamon.logs import configure_logging
from slamon.policies import load_policy_or_default
from slamon.testing import ManualClock, Record
from slamon.worker.settings import WorkerSettings

STEP_NS = NS_PER_S // 10
PARTITIONS = 4


class Loopback:
    """A topic whose records the harness hands back to an agent."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes | None, bytes | None, int | None]] = []

    async def send(self, *, key: bytes | None, value: bytes | None,
                   partition: int | None = None, headers: Any = None) -> None:  # fmt: skip
        self.sent.append((key, value, partition))


class Discard:
    async def send(self, **_: Any) -> None:
        return None


async def _delivered() -> None:
    """The outbox's flush: every output delivered at once."""


async def simulate(minutes: int, rate: float, open_tickets: int) -> None:
    configure_logging("warning")
    policy_path = policy_file(Path(tempfile.mkdtemp()) / "policy.yaml", TARGETS)
    policy = load_policy_or_default(str(policy_path))
    start = time.time_ns()
    clock = ManualClock(start)
    settings = WorkerSettings(partitions=PARTITIONS, retention_s=60)
    ticks, assets_out = Loopback(), Loopback()
    outputs = Outputs(Discard(), Discard(), Discard(), ticks, flush=_delivered, assets=assets_out)
    built = build_service(policy, settings, outputs=outputs, table={}, clock=clock, asset_table={})
    service, assets = built.service, built.assets
    assert assets is not None
    events_topic, ticks_topic = settings.topics.events, settings.topics.ticks(settings.app_id)
    offsets: dict[int, int] = {}

    async def deliver(key: bytes, line: bytes) -> None:
        partition = hash(key) % PARTITIONS
        offsets[partition] = offsets.get(partition, 0) + 1
        await service.handle(Record(events_topic, partition, offsets[partition], key, line))

    async def flush() -> None:  # the chunk's end: outputs out, tick and asset records in
        await service.flush()
        while ticks.sent or assets_out.sent:
            sent, ticks.sent = ticks.sent, []
            for key, value, partition in sent:
                await service.handle(Record(ticks_topic, partition or 0, 0, key, value))
            sent, assets_out.sent = assets_out.sent, []
            for key, value, partition in sent:
                await assets.handle(Record("assets", partition or 0, 0, key, value))
            await service.flush()

    rng = random.Random(3)
    for i in range(open_tickets):
        ticket = f"soak-O{i:07d}"
        data = {"priority": rng.choice(("P2", "P3", "P4")),
                "service": "onsite" if i % 3 == 0 else "remote", "region": "north"}  # fmt: skip
        await deliver(ticket.encode(), event(f"{ticket}-c", "ticket.created", ticket, start, data))
        if i % 2000 == 0:
            await flush()
    await flush()
    traffic = Traffic("soak", rate)
    traffic.next_ns = start
    gc.collect()
    tracemalloc.start(1)
    snapshots: dict[int, tracemalloc.Snapshot] = {}
    handled, swept_at, began = 0, start, time.perf_counter()
    print(f"{open_tickets} open tickets, then {rate:.0f} events/s for {minutes} virtual minutes")
    print(" min  traced MiB  tickets  schedule   events")
    while clock.now < start + minutes * 60 * NS_PER_S:
        clock.now += STEP_NS
        for key, line in traffic.due(clock.now):
            await deliver(key, line)
            handled += 1
        await service.tick()
        if clock.now - swept_at >= 60 * NS_PER_S:
            swept_at = clock.now
            await assets.sweep()
        await flush()
        minute = (clock.now - start) // (60 * NS_PER_S)
        if minute and minute % 5 == 0 and minute not in snapshots:
            gc.collect()
            snapshots[minute] = tracemalloc.take_snapshot()
            traced = tracemalloc.get_traced_memory()[0] / 2**20
            print(f"{minute:4d}  {traced:10.1f}  {len(service.engine.tickets):7d}  "
                  f"{len(service.engine._schedule):8d}  {handled:7d}", flush=True)  # fmt: skip
    print(f"wall {time.perf_counter() - began:.0f} s")
    if 15 in snapshots and max(snapshots) > 15:
        last = max(snapshots)
        growth = snapshots[last].compare_to(snapshots[15], "lineno")
        print(f"grown from 15 to {last} min: {sum(s.size_diff for s in growth) / 2**20:+.2f} MiB")
        for stat in growth[:8]:
            print(
                f"  {stat.size_diff / 2**20:+7.2f} MiB {stat.count_diff:+8d}  {stat.traceback[0]}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=40, help="virtual minutes of traffic")
    parser.add_argument("--rate", type=float, default=400.0, help="events/s of the traffic")
    parser.add_argument("--open-tickets", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(simulate(args.minutes, args.rate, args.open_tickets))


if __name__ == "__main__":
    main()
