"""Soak: one worker holding ~100k open tickets under steady live traffic for minutes.

    .venv/bin/python benchmarks/soak_bench.py [--minutes 10] [--rate 400] [--quick]

A worker (rocksdb store, topics and consumer group of its own, loopback broker) is
loaded with --open-tickets tickets whose targets are days long (they stay open), then
fed --rate events/s of whole ticket lifecycles (created, responded, technician arrived
for on-site tickets, resolved) for --minutes. A quarter of the new tickets are P1 with
second-long targets, so that at-risk alerts and breaches keep coming. Final tickets
leave the worker after --retention (1m), so the state is steady: RSS that keeps
growing after the warm-up is memory the worker keeps without need. Every
--sample-every seconds: worker RSS, consumer lag (the worker's slamon_consumer_lag,
and records published but not yet handled), open tickets, alerts; at the end, the
breach-detection delay from the alerts themselves (detected_at - at, and the broker's
timestamp - at) and from the delay histogram.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import math
import random
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from benchlib import (
    BROKER,
    Metrics,
    WorkerProc,
    bucket_quantile,
    cleanup_topics,
    event,
    percentile,
    policy_file,
    read_with_timestamps,
    slope_per_hour,
)

from slamon.adapters.kafka import producing, publish_lines
from slamon.core.timefmt import NS_PER_S, parse_rfc3339

TARGETS = {
    "P1": "first_response: 5s, onsite_arrival: 20s, resolution: 40s",  # breaches all along
    "P2": "first_response: 1d, onsite_arrival: 2d, resolution: 3d",
    "P3": "first_response: 2d, onsite_arrival: 3d, resolution: 5d",
    "P4": "first_response: 3d, onsite_arrival: 5d, resolution: 8d",
}
SHORT_SHARE = 0.25  # of new tickets: P1, second-long targets
ONSITE_SHORT, ONSITE_LONG = 0.5, 1 / 3
# events per new ticket: created, responded, resolved, plus arrived when on site
EVENTS_PER_TICKET = 3 + SHORT_SHARE * ONSITE_SHORT + (1 - SHORT_SHARE) * ONSITE_LONG
DELAY = "slamon_alert_detection_delay_seconds"


# -- traffic -----------------------------------------------------------------------------
class Traffic:
    """Ticket lifecycles started at a steady pace; each event is sent when it is due."""

    def __init__(self, app_id: str, rate: float, seed: int = 7) -> None:
        self.app_id = app_id
        self.interval_ns = int(NS_PER_S * EVENTS_PER_TICKET / rate)
        self.rng = random.Random(seed)
        self.heap: list[tuple[int, int, bytes, bytes]] = []
        self.order = itertools.count()  # ties of due times: in the order planned
        self.next_ns = time.time_ns()
        self.tickets = 0

    def _after(self, start: int, low: float, high: float) -> int:
        return start + int(self.rng.uniform(low, high) * NS_PER_S)

    def _start_ticket(self, at: int) -> None:
        self.tickets += 1
        ticket = f"{self.app_id}-L{self.tickets:07d}"
        short = self.rng.random() < SHORT_SHARE
        onsite = self.rng.random() < (ONSITE_SHORT if short else ONSITE_LONG)
        priority = "P1" if short else self.rng.choice(("P2", "P3", "P4"))
        data = {"priority": priority, "service": "onsite" if onsite else "remote"}
        # short: response 1-10 s (target 5 s), arrival 5-30 s (20 s), resolution 20-60 s (40 s)
        spans = ((1, 10), (5, 30), (20, 60)) if short else ((5, 30), (10, 40), (40, 90))
        responded = self._after(at, *spans[0])
        arrived = self._after(at, *spans[1])
        resolved = max(self._after(at, *spans[2]), arrived + NS_PER_S if onsite else 0)
        plan = [(at, "ticket.created", data), (responded, "ticket.responded", None)]
        if onsite:
            plan.append((arrived, "technician.arrived", None))
        plan.append((resolved, "ticket.resolved", None))
        for due, kind, body in plan:
            line = event(f"{ticket}-{kind}", kind, ticket, due, body)
            heapq.heappush(self.heap, (due, next(self.order), ticket.encode(), line))

    def due(self, now: int) -> list[tuple[bytes, bytes]]:
        """Start the tickets whose turn came, then every (key, line) due by ``now``."""
        while self.next_ns <= now:
            self._start_ticket(self.next_ns)
            self.next_ns += self.interval_ns
        out = []
        while self.heap and self.heap[0][0] <= now:
            _, _, key, line = heapq.heappop(self.heap)
            out.append((key, line))
        return out


@dataclass
class Counters:
    acked: int = 0
    failed: int = 0

    def done(self, future: asyncio.Future[object]) -> None:
        if future.cancelled() or future.exception() is not None:
            self.failed += 1
        else:
            self.acked += 1


async def send_steadily(topic: str, traffic: Traffic, until: float, counters: Counters) -> None:
    """Publish ``traffic`` as it falls due until ``until`` (monotonic), keyed by ticket."""
    async with producing(BROKER) as prod:
        pending: list[asyncio.Future[object]] = []
        while time.monotonic() < until:
            for key, line in traffic.due(time.time_ns()):
                future = await prod.send(topic, value=line, key=key)
                future.add_done_callback(counters.done)
                pending.append(future)
            pending = [f for f in pending if not f.done()]
            await asyncio.sleep(0.02)
        await asyncio.gather(*pending, return_exceptions=True)


# -- sampling ----------------------------------------------------------------------------
@dataclass
class Row:
    t: float  # seconds since the soak started
    rss_mib: float
    lag: float  # sum of slamon_consumer_lag over partitions
    lag_partition_max: float
    backlog: float  # records acknowledged by the broker, not yet handled by the worker
    handled: float
    open_tickets: float  # running resolution clocks
    in_memory: float
    alerts: float
    load1: float  # the machine's 1-minute load average (other jobs share the 2 cores)
    store: dict[str, float]  # MiB rocksdb holds, by kind (slamon_store_memory_bytes)
    delay_buckets: dict[float, float] = field(repr=False)

    def line(self, rate: float) -> str:
        numbers = (self.lag, self.backlog, self.open_tickets, self.in_memory, self.alerts, rate,
                   sum(self.store.values()))  # fmt: skip
        return f"{self.t:6.0f} {self.rss_mib:8.1f} " + " ".join(f"{n:7.0f}" for n in numbers)


HEADER = f"{'t s':>6} {'RSS MiB':>8} " + " ".join(
    f"{h:>7}" for h in ("lag", "backlog", "open", "in mem", "alerts", "ev/s", "db MiB")
)


def store_mib(m: Metrics) -> dict[str, float]:
    kinds = ("memtables", "table_readers", "block_cache")
    return {kind: m.total("slamon_store_memory_bytes", kind=kind) / 2**20 for kind in kinds}


def sample(worker: WorkerProc, t: float, published: int) -> Row:
    m: Metrics = worker.metrics()
    return Row(
        t=t,
        rss_mib=worker.rss_mib(),
        lag=m.total("slamon_consumer_lag"),
        lag_partition_max=m.largest("slamon_consumer_lag"),
        backlog=max(0.0, published - m.handled()),
        handled=m.handled(),
        open_tickets=m.total("slamon_running_clocks", sla="resolution"),
        in_memory=m.total("slamon_tickets_in_memory"),
        alerts=m.total("slamon_alerts_total"),
        load1=float(Path("/proc/loadavg").read_text().split()[0]),
        store=store_mib(m),
        delay_buckets=m.buckets(DELAY, type="sla.breached"),
    )


@dataclass
class SoakRun:
    rows: list[Row]
    drained: Row  # after the traffic stopped and the worker caught up
    seconds: float
    counters: Counters
    started_wall_ns: int


async def soak(worker: WorkerProc, args: argparse.Namespace, preloaded: int) -> SoakRun:
    """Steady traffic for ``args.minutes``, sampled every ``args.sample_every`` seconds."""
    traffic = Traffic(worker.app_id, args.rate)
    counters = Counters()
    start, wall = time.monotonic(), time.time_ns()
    until = start + args.minutes * 60
    sender = asyncio.create_task(send_steadily(f"{worker.app_id}.events", traffic, until, counters))
    rows = [await asyncio.to_thread(sample, worker, 0.0, preloaded)]
    print(HEADER)
    try:
        while not sender.done():
            next_at = start + len(rows) * args.sample_every
            await asyncio.wait([sender], timeout=max(0.0, next_at - time.monotonic()))
            t = time.monotonic() - start
            row = await asyncio.to_thread(sample, worker, t, preloaded + counters.acked)
            rate = (row.handled - rows[-1].handled) / max(1e-9, row.t - rows[-1].t)
            rows.append(row)
            print(row.line(rate))
        await sender  # raises what the sender raised
    finally:
        if not sender.done():
            sender.cancel()
    seconds = time.monotonic() - start
    drained = await asyncio.to_thread(drain, worker, preloaded + counters.acked)
    return SoakRun(rows, drained, seconds, counters, wall)


def drain(worker: WorkerProc, published: int) -> Row:
    """Wait (bounded) until the worker handled every published record; then a sample."""
    deadline = time.monotonic() + 120
    while worker.metrics().handled() < published and time.monotonic() < deadline:
        time.sleep(1)
    time.sleep(2)  # alerts of the last records reach the broker
    return sample(worker, math.nan, published)


# -- load, delays, report ----------------------------------------------------------------
def preload(worker: WorkerProc, tickets: int) -> float:
    """Publish ``tickets`` long-target open tickets at full speed; seconds until handled."""
    now = time.time_ns()
    rng = random.Random(3)
    lines = (
        event(f"{worker.app_id}-O{i:07d}-c", "ticket.created", f"{worker.app_id}-O{i:07d}", now,
              {"priority": rng.choice(("P2", "P3", "P4")),
               "service": "onsite" if i % 3 == 0 else "remote", "region": "north"})
        for i in range(tickets)
    )  # fmt: skip
    start = time.monotonic()
    asyncio.run(publish_lines(BROKER, f"{worker.app_id}.events", lines))
    worker.wait_handled(tickets, timeout_s=tickets / 500 + 120)
    return time.monotonic() - start


def alert_delays(app_id: str, since_ns: int) -> dict[str, list[float]]:
    """Seconds from each alert's instant to its detection (and to the broker), by kind."""
    out: dict[str, list[float]] = {}
    for value, broker_ms in asyncio.run(read_with_timestamps(f"{app_id}.alerts")):
        alert = orjson.loads(value)
        data = alert["data"]
        detected = parse_rfc3339(data["detected_at"])
        if detected < since_ns:
            continue
        at = parse_rfc3339(data["at"])
        out.setdefault(alert["type"], []).append((detected - at) / NS_PER_S)
        out.setdefault(f"{alert['type']} at broker", []).append(
            (broker_ms * 1_000_000 - at) / NS_PER_S
        )
    return out


def report(run: SoakRun, delays: dict[str, list[float]], warmup_s: float) -> None:
    rows, first, last = run.rows, run.rows[0], run.rows[-1]
    steady = [(r.t, r.rss_mib) for r in rows if r.t >= warmup_s]
    slope = slope_per_hour(steady)
    at_warmup = next((r.rss_mib for r in rows if r.t >= warmup_s), math.nan)
    print(f"\nsoak {run.seconds:.0f} s, {len(rows)} samples, warm-up {warmup_s:.0f} s")
    print(f"RSS: start {first.rss_mib:.0f} MiB, after warm-up {at_warmup:.0f} MiB, "
          f"end {last.rss_mib:.0f} MiB; slope after warm-up {slope:+.1f} MiB/h "
          f"({len(steady)} samples, least squares)")  # fmt: skip
    store = [(r.t, sum(r.store.values())) for r in rows if r.t >= warmup_s]
    print(f"rocksdb's memory (slamon_store_memory_bytes, all tables): "
          f"{next(iter(store), (0, math.nan))[1]:.1f} MiB after warm-up, "
          f"{sum(last.store.values()):.1f} MiB at the end "
          f"({', '.join(f'{k} {v:.1f}' for k, v in last.store.items())}); "
          f"slope {slope_per_hour(store):+.1f} MiB/h")  # fmt: skip
    loads = [r.load1 for r in rows]
    print(f"machine load (1-min average) during the soak: mean {sum(loads) / len(loads):.2f}, "
          f"max {max(loads):.2f} (2 cores)")  # fmt: skip
    print(f"lag: max {max(r.lag for r in rows):.0f} records (slamon_consumer_lag, sum over "
          f"partitions; max one partition {max(r.lag_partition_max for r in rows):.0f}), "
          f"max backlog published-not-handled {max(r.backlog for r in rows):.0f}; "
          f"after the traffic stopped: {run.drained.backlog:.0f}")  # fmt: skip
    warm = next((r for r in rows if r.t >= warmup_s), first)
    steady_rate = (last.handled - warm.handled) / max(1e-9, last.t - warm.t)
    print(
        f"events: {run.counters.acked} published ({run.counters.acked / run.seconds:.0f}/s "
        f"over the soak, lifecycles ramp up in the first 90 s); handled after warm-up "
        f"{steady_rate:.0f}/s"
    )
    print(f"open tickets: {first.open_tickets:.0f} -> {last.open_tickets:.0f}; "
          f"in memory {first.in_memory:.0f} -> {last.in_memory:.0f}")  # fmt: skip
    print(
        f"alerts: {run.drained.alerts - first.alerts:.0f} (metric); on the topic: "
        + ", ".join(f"{k} {len(v)}" for k, v in sorted(delays.items()) if "broker" not in k)
    )
    for kind, values in sorted(delays.items()):
        if values and "retracted" not in kind:  # a retraction is found by an event
            print(f"  delay {kind:<26} p50 {percentile(values, 0.5) * 1000:6.0f} ms  "
                  f"p99 {percentile(values, 0.99) * 1000:6.0f} ms  "
                  f"max {max(values) * 1000:6.0f} ms")  # fmt: skip
    bound = bucket_quantile(first.delay_buckets, run.drained.delay_buckets, 0.99)
    print(f"  histogram {DELAY}{{type=sla.breached}} over the soak: p99 <= {bound} s")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=400.0, help="events/s of the traffic")
    parser.add_argument("--open-tickets", type=int, default=100_000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--retention", default="1m", help="worker --retention (final tickets)")
    parser.add_argument("--store", default="rocksdb://", help="worker --store")
    parser.add_argument("--log-level", default="info", help="worker --log-level")
    parser.add_argument("--sample-every", type=float, default=10.0, help="seconds")
    parser.add_argument("--warmup", type=float, default=None, help="seconds (default 3 min)")
    parser.add_argument("--quick", action="store_true", help="1 minute, warm-up 20 s")
    parser.add_argument("--keep", action="store_true", help="keep the worker's data dir")
    args = parser.parse_args()
    if args.quick:
        args.minutes = 1.0
    if args.warmup is None:
        args.warmup = 20.0 if args.quick else min(180.0, args.minutes * 60 / 3)
    return args


def main() -> None:
    args = parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="slamon-soak-"))
    app_id = f"soak{uuid.uuid4().hex[:8]}"
    policy = policy_file(workdir / "policy.yaml", TARGETS)
    worker = WorkerProc(
        app_id, workdir / "data", workdir / "worker.log", "--store", args.store,
        "--partitions", str(args.partitions), "--policy", str(policy),
        "--retention", args.retention, "--log-level", args.log_level,
    )  # fmt: skip
    print(f"soak: {args.open_tickets} open tickets, then {args.rate:.0f} events/s for "
          f"{args.minutes:g} min; {args.partitions} partitions, {args.store}, log level "
          f"{args.log_level}; broker {BROKER}; "
          f"worker log {worker.log_path}")  # fmt: skip
    try:
        worker.start()
        worker.wait_ready(120)
        took = preload(worker, args.open_tickets)
        time.sleep(6)  # the open-ticket gauges are recounted every 5 s
        rate = args.open_tickets / took
        print(f"loaded {args.open_tickets} open tickets in {took:.1f} s ({rate:.0f} events/s), "
              f"RSS {worker.rss_mib():.0f} MiB")  # fmt: skip
        run = asyncio.run(soak(worker, args, args.open_tickets))
        worker.check_alive()
        delays = alert_delays(app_id, run.started_wall_ns)
        report(run, delays, args.warmup)
        rows = [{k: v for k, v in vars(r).items() if k != "delay_buckets"} for r in run.rows]
        (workdir / "samples.json").write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
        print(f"samples: {workdir / 'samples.json'}")
    finally:
        worker.stop()
        cleanup_topics(app_id)
        if not args.keep:
            shutil.rmtree(workdir / "data", ignore_errors=True)


if __name__ == "__main__":
    main()
