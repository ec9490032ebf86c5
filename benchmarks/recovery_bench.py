"""Recovery: how long a worker holding N open tickets takes to be ready after a restart.

    .venv/bin/python benchmarks/recovery_bench.py [--tickets 1000000] [--partitions 12]
    .venv/bin/python benchmarks/recovery_bench.py --tickets 100000     # quick

A worker (rocksdb store, topics and consumer group of its own, loopback broker) is
filled with --tickets open tickets (one ticket.created each, targets days long, so no
deadline passes during the run), published as fast as the producer goes; the worker
takes them at its own pace. Once its events counter shows all of them handled, it is
stopped (SIGTERM), and two recoveries are timed from process start to /readyz 200:
  restart : a new process on the same data dir (rocksdb on disk: Faust reads only the
            changelog's tail past the offsets stored with the data)
  replace : a new process on a new, empty data dir (the whole changelog is replayed)
For each: seconds until the web server answers and until /readyz is 200, the phases from
the worker's log (changelog read, tickets rebuilt), tickets restored, RSS at ready and
a few seconds later, the alerts fired at recovery (none expected), and the longest time
the web server did not answer once up (a busy event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from benchlib import BROKER, WorkerProc, cleanup_topics, event, policy_file

from slamon.adapters.kafka import publish_lines

TARGETS = {
    "P1": "first_response: 1d, onsite_arrival: 2d, resolution: 3d",
    "P2": "first_response: 2d, onsite_arrival: 3d, resolution: 4d",
    "P3": "first_response: 3d, onsite_arrival: 4d, resolution: 5d",
    "P4": "first_response: 4d, onsite_arrival: 5d, resolution: 8d",
}
REGIONS = ("north", "south", "east", "west", "centre")
SETTLE_S = 6.0  # after ready: the open-ticket gauges are recounted every 5 s
# log markers of the recovery phases (Faust's recovery service, then slamon's rebuild)
PHASES = (
    ("changelog read from", "Restoring state from changelog topics"),
    ("changelog read done", "Done reading from changelog topics"),
    ("faust recovery complete", "Recovery complete"),
    ("tickets rebuilt", "recovered"),
)


def created_events(app_id: str, tickets: int) -> Iterator[bytes]:
    now = time.time_ns()
    rng = random.Random(5)
    for i in range(tickets):
        ticket = f"TCK-{app_id}-{i:08d}"
        data = {
            "priority": rng.choice(("P1", "P2", "P3", "P4")),
            "service": "onsite" if rng.random() < 0.4 else "remote",
            "region": rng.choice(REGIONS),
        }
        yield event(f"{ticket}-c", "ticket.created", ticket, now, data)


def fill(worker: WorkerProc, tickets: int) -> None:
    """Publish ``tickets`` open tickets and wait until the worker handled every one."""
    start = time.monotonic()
    lines = created_events(worker.app_id, tickets)
    sent = asyncio.run(publish_lines(BROKER, f"{worker.app_id}.events", lines))
    published = time.monotonic() - start
    print(f"published {sent} events in {published:.0f} s ({sent / published:,.0f}/s)")
    worker.wait_handled(tickets, timeout_s=tickets / 1000 + 300, poll_s=2.0)
    took = time.monotonic() - start
    time.sleep(SETTLE_S)
    m = worker.metrics()
    print(
        f"filled: {tickets} tickets handled {took:.0f} s after the first publish "
        f"({tickets / took:,.0f} events/s); tickets in memory "
        f"{m.total('slamon_tickets_in_memory'):.0f}, open "
        f"{m.total('slamon_running_clocks', sla='resolution'):.0f}, alerts "
        f"{m.total('slamon_alerts_total'):.0f}, RSS {worker.rss_mib():.0f} MiB"
    )


def recover(worker: WorkerProc, title: str, timeout_s: float) -> dict[str, float]:
    """Start ``worker``, time it to ready, measure it, stop it; the figures."""
    try:
        worker.start()
        healthy, ready = worker.wait_ready(timeout_s)
        rss_ready = worker.rss_mib()
        time.sleep(SETTLE_S)
        m = worker.metrics()
        figures = {
            "web_up_s": healthy,
            "silent_s": worker.longest_silence_s,
            "ready_s": ready,
            "rss_ready_mib": rss_ready,
            "rss_settled_mib": worker.rss_mib(),
            "tickets": m.total("slamon_tickets_in_memory"),
            "alerts": m.total("slamon_alerts_total"),
        }
    finally:
        stop_s = worker.stop()
    phases = {name: worker.log_records(marker) for name, marker in PHASES}
    restored = phases["tickets rebuilt"]
    figures["restored"] = float(restored[0].get("tickets_restored", -1)) if restored else -1.0
    print(
        f"{title:<8} web up {healthy:4.1f} s  /readyz 200 {ready:6.1f} s  RSS at ready "
        f"{rss_ready:5.0f} MiB ({figures['rss_settled_mib']:.0f} MiB {SETTLE_S:.0f} s later)  "
        f"tickets {figures['tickets']:.0f} (restored {figures['restored']:.0f})  "
        f"alerts {figures['alerts']:.0f}  stop {stop_s:.1f} s"
    )
    print(
        "         phases (s from process start): "
        + ", ".join(f"{name} {found[0]['since_s']:.1f}" for name, found in phases.items() if found)
        + f"; longest wait for an HTTP answer once up {worker.longest_silence_s:.1f} s"
    )
    return figures


def worker_for(app_id: str, workdir: Path, data: str, log: str, partitions: int) -> WorkerProc:
    return WorkerProc(
        app_id, workdir / data, workdir / f"{log}.log", "--store", "rocksdb://",
        "--partitions", str(partitions), "--policy", str(workdir / "policy.yaml"),
        "--log-level", "info",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=12)
    parser.add_argument("--ready-timeout", type=float, default=900.0, help="seconds, each")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="slamon-recovery-"))
    app_id = f"rec{uuid.uuid4().hex[:8]}"
    policy_file(workdir / "policy.yaml", TARGETS)
    print(
        f"recovery: {args.tickets} open tickets, {args.partitions} partitions, rocksdb; "
        f"broker {BROKER}; logs in {workdir}"
    )
    first = worker_for(app_id, workdir, "data-a", "fill", args.partitions)
    try:
        first.start()
        first.wait_ready(120)
        fill(first, args.tickets)
        print(f"stopped the filled worker (SIGTERM) in {first.stop():.1f} s")
        recover(worker_for(app_id, workdir, "data-a", "restart", args.partitions),
                "restart", args.ready_timeout)  # fmt: skip
        recover(worker_for(app_id, workdir, "data-b", "replace", args.partitions),
                "replace", args.ready_timeout)  # fmt: skip
    finally:
        first.stop()
        cleanup_topics(app_id)
        if not args.keep:
            for data in ("data-a", "data-b"):
                shutil.rmtree(workdir / data, ignore_errors=True)


if __name__ == "__main__":
    main()
