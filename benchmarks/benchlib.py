"""What the soak and recovery benchmarks share: a worker process, its metrics, statistics.

Loopback broker only; every worker started here is stopped by :meth:`WorkerProc.stop`
(SIGTERM, then SIGKILL after a bound), which the scripts call in ``finally`` blocks.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from slamon.adapters.kafka import refresh_metadata
from slamon.adapters.kafka_topics import delete_topics
from slamon.core.timefmt import format_rfc3339

BROKER = os.environ.get("SLAMON_TEST_BROKER", "127.0.0.1:9092")
HANDLED = ("processed", "invalid", "duplicate", "late", "error")
STOP_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


class Metrics(list[Sample]):
    """One scrape of /metrics."""

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels``."""
        return sum(
            s.value
            for s in self
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def largest(self, name: str) -> float:
        return max((s.value for s in self if s.name == name), default=0.0)

    def handled(self) -> float:
        return sum(self.total("slamon_events_total", result=r) for r in HANDLED)

    def buckets(self, name: str, **labels: str) -> dict[float, float]:
        """Cumulative histogram buckets ``{le: count}`` summed over matching series."""
        out: dict[float, float] = {}
        for s in self:
            if s.name == f"{name}_bucket" and all(s.labels.get(k) == v for k, v in labels.items()):
                le = float(s.labels["le"])
                out[le] = out.get(le, 0.0) + s.value
        return out


class WorkerProc:
    """`slamon worker` in a subprocess with its own app id, topics, data dir and port."""

    def __init__(self, app_id: str, data_dir: Path, log: Path, *extra: str) -> None:
        self.app_id, self.data_dir, self.log_path = app_id, data_dir, log
        self.port = free_port()
        self.args = [
            sys.executable, "-m", "slamon.cli", "worker",
            "--broker", f"kafka://{BROKER}", "--app-id", app_id,
            "--events-topic", f"{app_id}.events", "--alerts-topic", f"{app_id}.alerts",
            "--outcomes-topic", f"{app_id}.outcomes", "--dead-letter-topic", f"{app_id}.dlq",
            "--web-port", str(self.port), "--data-dir", str(data_dir), *extra,
        ]  # fmt: skip
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0  # time.monotonic() at spawn
        self.started_wall = 0.0  # time.time() at spawn
        self.longest_silence_s = 0.0  # see wait_ready

    def start(self) -> WorkerProc:
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.started_at, self.started_wall = time.monotonic(), time.time()
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=log, env=env)
        return self

    def get(self, path: str) -> tuple[int, bytes] | None:
        """(status, body) of a GET on the worker's web port; None if nobody answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return int(r.status), bytes(r.read())
        except urllib.error.HTTPError as exc:
            return int(exc.code), bytes(exc.read())
        except OSError:
            return None

    def wait_ready(self, timeout_s: float) -> tuple[float, float]:
        """Seconds from spawn until the web server first answers and until /readyz is 200.

        Also sets ``longest_silence_s``: the longest time between two answers once the
        web server is up (the event loop busy with something else, e.g. a rebuild).
        """
        deadline = self.started_at + timeout_s
        up: float | None = None
        last = 0.0
        self.longest_silence_s = 0.0
        while time.monotonic() < deadline:
            self.check_alive()
            answer = self.get("/readyz")
            now = time.monotonic()
            if answer is not None:
                if up is None:
                    up = now - self.started_at
                else:
                    self.longest_silence_s = max(self.longest_silence_s, now - last)
                last = now
                if answer[0] == 200:
                    return up, now - self.started_at
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.app_id} not ready in {timeout_s:.0f} s; {self.log_path}")

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(
                f"worker {self.app_id} exited with {self.proc.returncode}; log: {self.log_path}"
            )

    def metrics(self) -> Metrics:
        answer = self.get("/metrics")
        if answer is None or answer[0] != 200:
            self.check_alive()
            raise RuntimeError(f"worker {self.app_id}: /metrics answered {answer!r}")
        out = Metrics()
        for family in text_string_to_metric_families(answer[1].decode()):
            out.extend(Sample(s.name, dict(s.labels), s.value) for s in family.samples)
        return out

    def wait_handled(self, count: int, timeout_s: float, poll_s: float = 1.0) -> float:
        """Poll until the worker has handled ``count`` input records; seconds waited."""
        start = time.monotonic()
        while time.monotonic() < start + timeout_s:
            if self.metrics().handled() >= count:
                return time.monotonic() - start
            time.sleep(poll_s)
        raise RuntimeError(f"worker {self.app_id} did not handle {count} records in time")

    def rss_mib(self) -> float:
        if self.proc is None:
            return 0.0
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> float:
        """SIGTERM, wait (bounded), SIGKILL if needed; seconds until the process ended."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        start = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        return time.monotonic() - start

    def log_records(self, text: str) -> list[dict[str, Any]]:
        """This run's JSON log records whose ``event`` contains ``text``, with ``since_s``
        (seconds from the spawn to the record's timestamp) added."""
        out = []
        for line in self.log_path.read_bytes().splitlines():
            if text.encode() not in line:
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(record, dict) or text not in str(record.get("event")):
                continue
            stamp = datetime.fromisoformat(str(record.get("timestamp"))).timestamp()
            if stamp >= self.started_wall:
                out.append({**record, "since_s": stamp - self.started_wall})
        return out


def policy_file(path: Path, priorities: dict[str, str], warn_at: float = 0.5) -> Path:
    """A policy on the 24x7 calendar with the given per-priority target mappings."""
    lines = [
        "apiVersion: slamon/v1",
        "kind: SlaPolicy",
        "metadata: {name: bench}",
        "spec:",
        f"  warn_at: {warn_at}",
        "  priorities:",
        *(f"    {p}: {{{targets}}}" for p, targets in priorities.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def event(
    event_id: str, kind: str, ticket: str, at_ns: int, data: dict[str, str] | None = None
) -> bytes:
    """One CloudEvent (structured JSON) of a ticket."""
    return orjson.dumps({
        "specversion": "1.0", "id": event_id, "source": "/platform/bench", "type": kind,
        "subject": ticket, "time": format_rfc3339(at_ns), "data": data or {},
    })  # fmt: skip


async def read_with_timestamps(topic: str) -> list[tuple[bytes, int]]:
    """Every record's (value, broker timestamp in ms) of ``topic``, up to its current end."""
    consumer = AIOKafkaConsumer(bootstrap_servers=BROKER, enable_auto_commit=False)
    await consumer.start()
    out: list[tuple[bytes, int]] = []
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:  # not in the metadata fetched at start
            await refresh_metadata(consumer)
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        while any([await consumer.position(tp) < ends[tp] for tp in tps]):
            batch = await consumer.getmany(*tps, timeout_ms=1000, max_records=20_000)
            for records in batch.values():
                out.extend((r.value or b"", int(r.timestamp)) for r in records)
    finally:
        await consumer.stop()
    return out


def cleanup_topics(app_id: str) -> None:
    try:
        asyncio.run(delete_topics(BROKER, app_id))
    except Exception as exc:  # never hide the run's own outcome behind the clean-up
        print(f"(topics of {app_id} not deleted: {type(exc).__name__}: {exc})")


# -- statistics --------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(p * len(ordered)) - 1))]


def bucket_quantile(start: dict[float, float], end: dict[float, float], q: float) -> float:
    """The upper bound of the bucket holding quantile ``q`` of the observations between
    two scrapes of a cumulative histogram (``inf`` if it is in the last bucket)."""
    edges = sorted(end)
    deltas = [end[le] - start.get(le, 0.0) for le in edges]
    total = deltas[-1] if deltas else 0.0
    if total <= 0:
        return math.nan
    for le, count in zip(edges, deltas, strict=True):
        if count >= q * total:
            return le
    return math.inf


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of ``(seconds, value)`` points, per hour."""
    n = len(points)
    if n < 2:
        return math.nan
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 3600 if var else math.nan
