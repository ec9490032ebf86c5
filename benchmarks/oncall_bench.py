"""On-call delivery: a burst of breaches into a real Alertmanager, and whether events stall.

    .venv/bin/python benchmarks/oncall_bench.py [--breaches 5000] [--runs 3]

Each run: a fresh Alertmanager (Debian's prometheus-alertmanager, free port, empty storage)
and a worker (memory store, own app id and topics, ``--alertmanager`` pointing at it).
breaches/2 P1 remote tickets created a minute ago are published at once: each breaches
first response and resolution the moment it is read (``breaches`` breaches within about
a second). Right after, a probe ticket is created now (at risk 2 s later). Measured: the
publish time, the time from the first publish until Alertmanager holds every breach
(the worker's count of alerts Alertmanager accepted, then checked once on
``/api/v2/alerts``), until the worker has handled every event, the probe's at-risk delay
in Alertmanager (instant to seen: event processing and the clock did not stall), and the
worker's dropped and failed deliveries. Everything started is stopped in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
from benchlib import BROKER, WorkerProc, cleanup_topics, event, free_port, percentile, policy_file

from slamon.adapters.kafka import publish_lines

SHORT = "first_response: 4s, onsite_arrival: 6s, resolution: 8s"  # at risk at half
TARGETS = dict.fromkeys(("P1", "P2", "P3", "P4"), SHORT)
AM_CONFIG = "route: {receiver: none, group_by: [alertname]}\nreceivers: [{name: none}]\n"


class Alertmanager:
    def __init__(self, home: Path) -> None:
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if binary is None:
            raise SystemExit("prometheus-alertmanager is not installed")
        home.mkdir(parents=True)
        (home / "am.yml").write_text(AM_CONFIG)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = (home / "am.log").open("wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={home / 'am.yml'}", f"--storage.path={home / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
             "--log.level=warn"], stdout=log, stderr=log,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("alertmanager not ready")

    def alerts(self, **labels: str) -> list[dict[str, Any]]:
        query = urlencode([("filter", f'{k}="{v}"') for k, v in labels.items()])
        url = f"{self.url}/api/v2/alerts?{query}"
        with urllib.request.urlopen(url, timeout=10) as response:
            result: list[dict[str, Any]] = orjson.loads(response.read())
        return result

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run(workdir: Path, breaches: int, *, deliver: bool = True) -> dict[str, float]:
    """One burst; ``deliver=False``: the same worker without --alertmanager (the baseline)."""
    app_id = f"bench-oncall-{uuid.uuid4().hex[:8]}"
    manager = Alertmanager(workdir / "am")
    policy = policy_file(workdir / "policy.yaml", TARGETS)
    sink = ["--alertmanager", manager.url] if deliver else []
    worker = WorkerProc(app_id, workdir / "data", workdir / "worker.log", "--store", "memory://",
                        "--partitions", "4", "--policy", str(policy), *sink)  # fmt: skip
    try:
        worker.start().wait_ready(60)
        old = time.time_ns() - 60 * 1_000_000_000
        tickets = breaches // 2
        lines = [event(f"c-{i}", "ticket.created", f"B-{i}", old, {"priority": "P1"})
                 for i in range(tickets)]  # fmt: skip
        start = time.monotonic()
        asyncio.run(publish_lines(BROKER, f"{app_id}.events", lines))
        published = time.monotonic() - start
        probe_at = time.time_ns()
        probe = event("probe", "ticket.created", "probe", probe_at, {"priority": "P1"})
        asyncio.run(publish_lines(BROKER, f"{app_id}.events", [probe]))
        probe_seen = drained = handled = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and None in (probe_seen, drained, handled):
            # cheap looks only: one scrape, and a filtered query (a full /api/v2/alerts
            # of 5,000 alerts every 50 ms would take the CPU the worker is measured on)
            scrape = worker.metrics()
            now = time.monotonic() - start
            if handled is None and scrape.handled() >= tickets + 1:
                handled = now
            sent = scrape.total("slamon_oncall_notifications_total", result="sent")
            if drained is None and (not deliver or sent >= breaches):
                drained = now
            if probe_seen is None and (
                not deliver or manager.alerts(ticket_id="probe", alertname="SlaAtRisk")
            ):
                probe_seen = time.time_ns()
            time.sleep(0.05)
        if probe_seen is None or drained is None or handled is None:
            raise RuntimeError(f"not delivered in time; logs in {workdir}")
        held = len(manager.alerts(alertname="SlaBreached")) if deliver else breaches
        if held < breaches:
            raise RuntimeError(f"Alertmanager holds {held} breaches, not {breaches}")
        metrics = worker.metrics()
        return {
            "published_s": published,
            "handled_s": handled,
            "drained_s": drained,
            "probe_delay_s": (probe_seen - (probe_at + 2_000_000_000)) / 1e9,
            "dropped": metrics.total("slamon_oncall_dropped_total"),
            "failed": metrics.total("slamon_oncall_notifications_total", result="failed"),
            "sent": metrics.total("slamon_oncall_notifications_total", result="sent"),
        }
    finally:
        worker.stop()
        manager.stop()
        cleanup_topics(app_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--breaches", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    results, baseline = [], []
    for index in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="slamon-oncall-bench-") as tmp:
            result = run(Path(tmp), args.breaches)
        with tempfile.TemporaryDirectory(prefix="slamon-oncall-bench-") as tmp:
            bare = run(Path(tmp), args.breaches, deliver=False)
        results.append(result)
        baseline.append(bare)
        print(f"run {index + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in result.items())
              + f"; without delivery: handled_s {bare['handled_s']:.2f}")  # fmt: skip
    for key in ("published_s", "handled_s", "drained_s", "probe_delay_s"):
        values = sorted(r[key] for r in results)
        print(f"{key}: median {percentile(values, 0.5):.2f}, max {values[-1]:.2f}")
    values = sorted(r["handled_s"] for r in baseline)
    print(f"handled_s without delivery: median {percentile(values, 0.5):.2f}, "
          f"max {values[-1]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
