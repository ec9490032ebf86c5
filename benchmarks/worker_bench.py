"""The worker on the local broker, against a bare Faust agent and a raw aiokafka loop.

    .venv/bin/python benchmarks/worker_bench.py [--events 100000] [--open-tickets 100000]

In one run, on topics of its own (loopback broker only, bounded in count and time):
  raw      : aiokafka getmany + orjson.loads of every record (the ceiling of a Python consumer)
  bare     : a Faust agent that decodes (orjson + CloudEvents validation) and counts
  worker   : `slamon worker` (memory store) on the same records, timed by its own metrics
  delay    : breach-detection delay percentiles (deadline -> alert) for tickets with
             second-long targets and no further event
  memory   : RSS of a worker (rocksdb store) idle, then holding --open-tickets open tickets
  streamed : a worker (rocksdb store) started on the whole log as a backlog: launch to last record
  catchup  : the same with --catch-up (the backlog read in batches before Faust starts)
Throughput is the time from the first to the last record processed (start-up excluded).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer
from benchlib import cleanup_topics
from prometheus_client.parser import text_string_to_metric_families

from slamon.adapters.kafka import publish_lines, read_topic
from slamon.adapters.kafka_topics import ensure_topics
from slamon.core.decisions import AlertType
from slamon.core.timefmt import NS_PER_S, format_rfc3339, parse_rfc3339
from slamon.policies import load_policy_or_default
from slamon.replay import replay
from slamon.simulate import generate_log

BROKER = os.environ.get("SLAMON_TEST_BROKER", "127.0.0.1:9092")
PARTITIONS = 4
HERE = Path(__file__).parent
SHORT_POLICY = """\
apiVersion: slamon/v1
kind: SlaPolicy
metadata: {name: bench}
spec:
  warn_at: 0.5
  priorities:
    P1: {first_response: 5s, onsite_arrival: 10s, resolution: 15s}
    P2: {first_response: 10s, onsite_arrival: 15s, resolution: 20s}
    P3: {first_response: 15s, onsite_arrival: 20s, resolution: 25s}
    P4: {first_response: 20s, onsite_arrival: 25s, resolution: 30s}
"""


def log_lines(events: int, kind: str) -> list[bytes]:
    """A realistic log: 'backfill' is weeks old (every running clock is overdue when
    the worker sees it: the alert storm of a catch-up), 'live' starts now."""
    policy = load_policy_or_default(None)
    # backfill: old enough that a 1M-event log (~6 weeks) ends before now (no future events)
    start = "2026-10-01T00:00:00Z" if kind == "backfill" else format_rfc3339(time.time_ns())
    out = []
    for record in generate_log(policy, tickets=events // 4 + 1, seed=3, start=start):
        out.append(record.encode() if isinstance(record, str) else orjson.dumps(record))
        if len(out) >= events:
            break
    return out


async def raw_consume(topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=BROKER,
        auto_offset_reset="earliest",
        group_id=f"raw-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    seen, first = 0, None
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batch.values():
                if first is None and records:
                    first = time.perf_counter()
                for record in records:
                    orjson.loads(record.value)
                    seen += 1
    finally:
        await consumer.stop()
    assert first is not None
    return time.perf_counter() - first


def run_bare(topic: str, count: int, workdir: Path) -> float:
    out = workdir / "bare.json"
    STARTED.append(f"bare-{uuid.uuid4().hex[:8]}")
    env = {
        **os.environ,
        "BARE_APP_ID": STARTED[-1],
        "BARE_TOPIC": topic,
        "BARE_COUNT": str(count),
        "BARE_OUT": str(out),
        "BARE_BROKER": f"kafka://{BROKER}",
        "BARE_DIR": str(workdir / "bare"),
    }
    subprocess.run(
        [sys.executable, str(HERE / "bare_agent.py")],
        env=env,
        timeout=900,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    result = orjson.loads(out.read_bytes())
    return float(result["seconds"])


STARTED: list[str] = []  # app ids whose topics main() deletes at the end


class WorkerProc:
    def __init__(
        self, app_id: str, events_topic: str, workdir: Path, store: str, policy: Path | None = None,
        *, extra: tuple[str, ...] = (), wait_ready: bool = True,
    ) -> None:  # fmt: skip
        self.launched = time.perf_counter()
        STARTED.append(app_id)
        self.port = 6300 + int(uuid.uuid4().int % 500)
        args = [
            sys.executable,
            "-m",
            "slamon.cli",
            "worker",
            "--broker",
            f"kafka://{BROKER}",
            "--app-id",
            app_id,
            "--events-topic",
            events_topic,
            "--store",
            store,
            "--alerts-topic",
            f"{app_id}.alerts",
            "--outcomes-topic",
            f"{app_id}.outcomes",
            "--dead-letter-topic",
            f"{app_id}.dlq",
            "--partitions",
            str(PARTITIONS),
            "--web-port",
            str(self.port),
            "--data-dir",
            str(workdir / app_id),
            "--log-level",
            "warning",
        ]
        if policy is not None:
            args += ["--policy", str(policy)]
        args += extra
        with (workdir / f"{app_id}.log").open("wb") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=log)
        if not wait_ready:
            return
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.metrics(quiet=True).get("slamon_ready", 0) == 1:
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker {app_id} not ready")

    def metrics(self, *, quiet: bool = False) -> dict[str, float]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            if quiet:
                return {}
            raise
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = sample.name + (
                    f"[{sample.labels['result']}]" if "result" in sample.labels else ""
                )
                out[key] = out.get(key, 0.0) + sample.value
        return out

    def handled(self) -> float:
        m = self.metrics()
        return sum(
            m.get(f"slamon_events_total[{r}]", 0.0)
            for r in ("processed", "invalid", "duplicate", "late")
        )

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def time_from_launch(worker: WorkerProc, count: int, timeout_s: float = 1800) -> float:
    """Seconds from the worker's launch until it has handled ``count`` records and is
    ready (streaming: a catch-up serves /metrics before its last batch is committed)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.proc.returncode}")
        m = worker.metrics(quiet=True)
        done = sum(m.get(f"slamon_events_total[{r}]", 0.0)
                   for r in ("processed", "invalid", "duplicate", "late"))  # fmt: skip
        if done >= count and m.get("slamon_ready", 0) == 1:
            return time.perf_counter() - worker.launched
        time.sleep(0.5)
    raise RuntimeError("worker did not finish in time")


def against_replay(app_id: str, lines: list[bytes]) -> str:
    """The worker's outputs against replay of the same log, as the equivalence test checks
    them: the last outcome record of every pair replay sees settled (status and elapsed to
    the millisecond), and standing breaches (every replay breach stands; any other one is a
    clock replay sees still running)."""
    expected = replay(lines, load_policy_or_default(None))
    last = {}
    for message in asyncio.run(read_topic(BROKER, f"{app_id}.outcomes", idle_s=2.0)):
        record = orjson.loads(message.value or b"")
        last[(record["ticket_id"], record["sla"])] = record
    wrong = 0
    final = ("cancelled", "not_applicable")
    settled = [o for o in expected.outcomes if o.stopped or o.status in final]
    for o in settled:
        got = last.get((o.ticket_id, o.sla))
        if (
            got is None
            or got["status"] != o.status
            or round(float(got["elapsed_seconds"]), 3) != round(o.elapsed_ns / 1e9, 3)
        ):
            wrong += 1
    standing = {}
    for message in asyncio.run(read_topic(BROKER, f"{app_id}.alerts", idle_s=2.0)):
        alert = orjson.loads(message.value or b"")
        if alert["type"] in (AlertType.BREACHED, AlertType.RETRACTED):
            standing[(alert["subject"], alert["data"]["sla"])] = alert["type"]
    breaches = {pair for pair, kind in standing.items() if kind == AlertType.BREACHED}
    replayed = {(o.ticket_id, o.sla) for o in expected.outcomes if o.status == "breached"}
    running = {(o.ticket_id, o.sla) for o in expected.outcomes
               if o.status in ("open", "breached") and not o.stopped}  # fmt: skip
    missing, extra = len(replayed - breaches), len(breaches - replayed - running)
    return (
        f"{len(settled)} settled pairs, {wrong} differ from replay; {len(replayed)} replay "
        f"breaches, {missing} not standing, {extra} standing that replay does not have"
    )


def time_worker(worker: WorkerProc, count: int, timeout_s: float = 900) -> float:
    first = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = worker.handled()
        if first is None and done > 0:
            first = time.perf_counter()  # polled every 0.5 s: small against the run
        if done >= count:
            assert first is not None
            return time.perf_counter() - first
        time.sleep(0.5)  # a scrape walks every ticket: poll like a slow Prometheus
    raise RuntimeError("worker did not finish in time")


def detection_delays(workdir: Path, tickets: int) -> list[float]:
    policy = workdir / "short.yaml"
    policy.write_text(SHORT_POLICY)
    app_id = f"bd{uuid.uuid4().hex[:8]}"
    topic = f"{app_id}.events"
    asyncio.run(ensure_topics(BROKER, [topic], PARTITIONS))
    worker = WorkerProc(app_id, topic, workdir, "memory://", policy)
    try:
        start = time.time_ns() + 2 * NS_PER_S
        lines = []
        for i in range(tickets):
            created = start + (i % 50) * NS_PER_S // 5  # spread over 10 s
            lines.append(
                orjson.dumps(
                    {
                        "specversion": "1.0",
                        "id": f"{app_id}-{i}",
                        "source": "/bench",
                        "type": "ticket.created",
                        "subject": f"{app_id}-T{i}",
                        "time": format_rfc3339(created),
                        "data": {
                            "priority": f"P{i % 4 + 1}",
                            "service": "onsite" if i % 2 else "remote",
                        },
                    }
                )
            )
        asyncio.run(publish_lines(BROKER, topic, lines))
        expected = tickets * 2 + tickets // 2  # FR + resolution, onsite for half
        deadline = time.monotonic() + 120
        delays: list[float] = []
        while time.monotonic() < deadline:
            time.sleep(2)
            alerts = asyncio.run(read_topic(BROKER, f"{app_id}.alerts", idle_s=0.5))
            delays = []
            for message in alerts:
                alert = orjson.loads(message.value or b"")
                if alert["type"] == "sla.breached":
                    data = alert["data"]
                    delay = parse_rfc3339(data["detected_at"]) - parse_rfc3339(data["at"])
                    delays.append(delay / NS_PER_S)
            if len(delays) >= expected:
                break
        return delays
    finally:
        worker.stop()


def memory_per_ticket(workdir: Path, open_tickets: int) -> tuple[int, int, float, float, float]:
    """RSS idle and loaded (KiB), bytes per open ticket, rocksdb's own memory and what heap
    trims handed back (MiB)."""
    app_id = f"bm{uuid.uuid4().hex[:8]}"
    topic = f"{app_id}.events"
    asyncio.run(ensure_topics(BROKER, [topic], PARTITIONS))
    worker = WorkerProc(app_id, topic, workdir, "rocksdb://")
    try:
        time.sleep(2)
        idle = worker.rss_kb()
        now = time.time_ns()
        lines = [
            orjson.dumps(
                {
                    "specversion": "1.0",
                    "id": f"{app_id}-e{i}",
                    "source": "/platform/acme",
                    "type": "ticket.created",
                    "subject": f"TCK-{app_id}-{i:08d}",
                    "time": format_rfc3339(now),
                    "data": {
                        "priority": f"P{i % 4 + 1}",
                        "service": "onsite" if i % 3 == 0 else "remote",
                        "region": "north",
                    },
                }
            )
            for i in range(open_tickets)
        ]
        asyncio.run(publish_lines(BROKER, topic, lines))
        time_worker(worker, open_tickets)
        time.sleep(3)
        loaded = worker.rss_kb()
        metrics = worker.metrics()
        store = metrics.get("slamon_store_memory_bytes", 0.0) / 2**20
        trimmed = metrics.get("slamon_heap_released_bytes_total", 0.0) / 2**20
        return idle, loaded, (loaded - idle) * 1024 / open_tickets, store, trimmed
    finally:
        worker.stop()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(-(-p * len(ordered) // 1)) - 1))]


def main() -> None:
    try:
        run()
    finally:  # a 1M-record run leaves GBs of topics: the broker would load them at every start
        for app_id in [*STARTED, *BENCH_TOPICS]:
            cleanup_topics(app_id)


BENCH_TOPICS: list[str] = []  # prefixes of the events topics run() created


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--open-tickets", type=int, default=100_000)
    parser.add_argument("--delay-tickets", type=int, default=2_000)
    parser.add_argument(
        "--parts", default="raw,bare,worker,delay,memory", help="Comma-separated subset to run."
    )
    parser.add_argument("--log", choices=["live", "backfill"], default="live")
    parser.add_argument(
        "--catch-up-batch",
        type=int,
        default=None,
        help="The catch-up worker's --catch-up-batch (default: the worker's own).",
    )
    parser.add_argument(
        "--no-check", dest="check", action="store_false",
        help="Do not compare the catch-up worker's outputs with replay (it reads both topics).",
    )  # fmt: skip
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    workdir = Path(tempfile.mkdtemp(prefix="slamon-bench-"))
    lines = log_lines(args.events, args.log)
    BENCH_TOPICS.append(f"bench-{uuid.uuid4().hex[:8]}")
    topic = f"{BENCH_TOPICS[-1]}.events"
    asyncio.run(ensure_topics(BROKER, [topic], PARTITIONS))
    asyncio.run(publish_lines(BROKER, topic, lines))
    count = len(lines)
    print(
        f"records: {count} ({args.log} log) on {topic} ({PARTITIONS} partitions), broker {BROKER}"
    )

    raw = bare = took = 0.0
    if "raw" in parts:
        raw = asyncio.run(raw_consume(topic, count))
        print(f"raw aiokafka+orjson  {raw:7.2f} s  {count / raw:10,.0f} events/s")
    if "bare" in parts:
        bare = run_bare(topic, count, workdir)
        print(f"bare faust agent     {bare:7.2f} s  {count / bare:10,.0f} events/s")
    if "worker" in parts:
        worker = WorkerProc(f"bw{uuid.uuid4().hex[:8]}", topic, workdir, "memory://")
        try:
            took = time_worker(worker, count)
        finally:
            worker.stop()
        print(f"slamon worker        {took:7.2f} s  {count / took:10,.0f} events/s")
    if raw and bare and took:
        print(f"worker / bare agent  {bare / took:.2f}x   worker / raw  {raw / took:.2f}x")
    if "catchup" in parts or "streamed" in parts:
        print(f"backlog of {count} records, from the worker's launch to the last one handled:")
        times = {}
        catch_up: tuple[str, ...] = ("--catch-up", "10000", "--log-level", "info")  # its summary
        if args.catch_up_batch:
            catch_up += ("--catch-up-batch", str(args.catch_up_batch))
        for part, extra in (("streamed", ()), ("catchup", catch_up)):
            if part not in parts:
                continue
            app_id = f"bc{uuid.uuid4().hex[:8]}"
            worker = WorkerProc(app_id, topic, workdir, "rocksdb://", extra=extra,
                                wait_ready=False)  # fmt: skip
            try:
                times[part] = time_from_launch(worker, count)
            finally:
                worker.stop()
            label = "catch-up worker" if part == "catchup" else "streaming worker"
            print(f"{label:20} {times[part]:7.2f} s  {count / times[part]:10,.0f} events/s")
            if part == "catchup":
                summary = [line for line in (workdir / f"{app_id}.log").read_text().splitlines()
                           if '"caught up"' in line]  # fmt: skip
                print(f"  its summary: {summary[0] if summary else 'none logged'}")
                if args.check:
                    print(f"  against replay: {against_replay(app_id, lines)}")
        if len(times) == 2:
            print(f"catch-up / streaming {times['streamed'] / times['catchup']:.2f}x")
    if "delay" in parts:
        delays = detection_delays(workdir, args.delay_tickets)
        if delays:
            p50, p99 = percentile(delays, 0.5), percentile(delays, 0.99)
            print(
                f"detection delay ({len(delays)} breaches): p50 {p50:.3f} s  "
                f"p99 {p99:.3f} s  max {max(delays):.3f} s"
            )
    if "memory" in parts:
        idle, loaded, per, store, trimmed = memory_per_ticket(workdir, args.open_tickets)
        print(
            f"memory: idle {idle / 1024:.0f} MiB, {args.open_tickets} open tickets "
            f"{loaded / 1024:.0f} MiB -> {per:.0f} bytes per open ticket (rocksdb store); "
            f"rocksdb's memtables, readers and caches {store:.1f} MiB of it; "
            f"heap trims handed {trimmed:.1f} MiB back"
        )


if __name__ == "__main__":
    main()
