"""What integration tests drive: a real worker process, a deployment's topics, waits.

Imported by the tests themselves; conftest.py only holds the fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client.parser import text_string_to_metric_families

from slamon.adapters.kafka import Message, publish_lines, read_topic
from slamon.adapters.kafka_topics import delete_topics
from slamon.core.decisions import AlertType, alert_id
from slamon.core.replay import ReplayResult
from slamon.core.timefmt import format_rfc3339


# -- a real worker process ---------------------------------------------------------------
class Worker:
    """`slamon worker` in a subprocess, with its own topics and consumer group."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.args, self.env, self.port, self.log_path = args, env, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start_process(self) -> Worker:
        """Launch the worker; return at once (``start`` waits for its web server)."""
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        return self

    def start(self, ready_timeout_s: float = 60.0) -> Worker:
        self.start_process()
        assert self.proc is not None
        deadline = time.monotonic() + ready_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"worker exited with {self.proc.returncode}; log: {self.log_path}")
            if self.get("/readyz", quiet=True) is not None:
                return self
            time.sleep(0.2)
        pytest.fail(f"worker not ready within {ready_timeout_s}s; log: {self.log_path}")

    def run_to_exit(self, timeout_s: float) -> int:
        """Run until the worker exits by itself (a start-up error); its exit code."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.args, env=self.env, stdout=log, stderr=log)
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker still running after {timeout_s}s; log: {self.log_path}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, *, quiet: bool = False) -> str | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return str(r.read().decode())
        except (urllib.error.URLError, OSError):
            if quiet:
                return None
            raise

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples whose labels include ``labels``."""
        text = self.get("/metrics") or ""
        total = 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                wanted = all(sample.labels.get(k) == v for k, v in labels.items())
                if sample.name == name and wanted:
                    total += sample.value
        return total

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Deployment:
    """One test's worker settings: unique app id (consumer group) and topic names."""

    bootstrap: str
    tmp: Path
    policy: Path | None = None
    partitions: int = 4
    app_id: str = field(default_factory=lambda: f"t{uuid.uuid4().hex[:10]}")
    workers: list[Worker] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)  # more `slamon worker` options
    restarts: int = 0  # workers a test's supervisor started again after they gave up

    def topic(self, name: str) -> str:
        return f"{self.app_id}.{name}"

    def worker(self, index: int = 0) -> Worker:
        port = free_port()
        args = [
            sys.executable, "-m", "slamon.cli", "worker",
            "--broker", f"kafka://{self.bootstrap}", "--app-id", self.app_id,
            "--web-port", str(port), "--data-dir", str(self.tmp / f"data-{index}"),
            "--store", "memory://", "--partitions", str(self.partitions),
            "--events-topic", self.topic("events"), "--alerts-topic", self.topic("alerts"),
            "--outcomes-topic", self.topic("outcomes"),
            "--dead-letter-topic", self.topic("dead-letter"),
            "--session-timeout", "6s", "--log-level", "info",
        ]  # fmt: skip
        if self.policy is not None:
            args += ["--policy", str(self.policy)]
        args += self.extra_args
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        worker = Worker(args, env, port, self.tmp / f"worker-{index}.log")
        self.workers.append(worker)
        return worker

    def publish(self, lines: list[bytes]) -> None:
        asyncio.run(publish_lines(self.bootstrap, self.topic("events"), lines))

    def read(self, name: str) -> list[Message]:
        return asyncio.run(read_topic(self.bootstrap, self.topic(name), idle_s=0.5))

    def delete_topics(self) -> None:
        """Delete this app id's topics (its own and Faust's): left behind, every test's
        topics pile up on the shared broker, which then takes minutes to load them at start."""
        asyncio.run(delete_topics(self.bootstrap, self.app_id))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``check`` until true; fail with ``what`` after ``timeout_s`` (bounded tests)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout_s}s waiting for {what}")


SHORT_POLICY = """\
apiVersion: slamon/v1
kind: SlaPolicy
metadata: {name: short}
spec:
  warn_at: 0.5
  priorities:
    P1: {first_response: 4s, onsite_arrival: 6s, resolution: 8s}
    P2: {first_response: 6s, onsite_arrival: 8s, resolution: 10s}
    P3: {first_response: 8s, onsite_arrival: 10s, resolution: 12s}
    P4: {first_response: 10s, onsite_arrival: 12s, resolution: 14s}
"""


def short_policy(tmp: Path) -> Path:
    """Targets of seconds on the 24x7 calendar: deadlines pass while a test watches."""
    path = tmp / "short-policy.yaml"
    path.write_text(SHORT_POLICY)
    return path


def created_now(count: int, prefix: str, start_ns: int) -> list[bytes]:
    """``ticket.created`` events stamped ``start_ns``, P1..P4 in turn, every other on site."""
    lines = []
    for i in range(count):
        data = {"priority": f"P{i % 4 + 1}", "service": "onsite" if i % 2 else "remote"}
        lines.append(orjson.dumps({
            "specversion": "1.0", "id": f"{prefix}-c{i}", "source": "/test",
            "type": "ticket.created", "subject": f"{prefix}-{i}",
            "time": format_rfc3339(start_ns), "data": data,
        }))  # fmt: skip
    return lines


def answered_tickets(prefix: str, count: int) -> list[bytes]:
    """P1 tickets created 40 s ago, answered 10 s ago: a first-response outcome (and a
    live-board sample) each."""
    now, lines = time.time_ns(), []
    for i in range(count):
        ticket = f"{prefix}-{i}"
        for kind, ago in (("ticket.created", 40), ("ticket.responded", 10)):
            lines.append(orjson.dumps({
                "specversion": "1.0", "id": f"{ticket}-{kind}", "source": "/t", "type": kind,
                "subject": ticket, "time": format_rfc3339(now - ago * 1_000_000_000),
                "data": {"priority": "P1"} if kind == "ticket.created" else None,
            }))  # fmt: skip
    return lines


def expected_breach_ids(lines: list[bytes]) -> set[str]:
    """Ids of the first breach alert of every applicable SLA of never-answered tickets."""
    ids: set[str] = set()
    for line in lines:
        event = orjson.loads(line)
        slas = ["first_response", "resolution"]
        if event["data"]["service"] == "onsite":
            slas.append("onsite_arrival")
        ids.update(alert_id(event["subject"], sla, AlertType.BREACHED, 1) for sla in slas)
    return ids


def alert_ids(messages: list[Message], kind: str = AlertType.BREACHED) -> list[str]:
    out = []
    for message in messages:
        alert = orjson.loads(message.value or b"")
        if alert["type"] == kind:
            out.append(alert["id"])
    return out


# -- a broker of one's own ------------------------------------------------------------------
KAFKA_SH = Path(__file__).parents[2] / "deploy" / "kafka" / "kafka.sh"
SHARED_JARS = Path.home() / ".cache" / "slamon" / "kafka" / "jars"  # `make kafka-up` fetched them


class FreshBroker(str):
    """A broker of one's own: its bootstrap address (a ``str``, as fresh_broker always
    yielded) and its controls, for fault injection. Every control waits bounded."""

    home: Path
    env: dict[str, str]
    paused: bool

    def __new__(cls, home: Path, env: dict[str, str]) -> FreshBroker:
        broker = super().__new__(cls, f"127.0.0.1:{env['SLAMON_KAFKA_PORT']}")
        broker.home, broker.env, broker.paused = home, env, False
        return broker

    @property
    def bootstrap(self) -> str:
        return str(self)

    def _kafka_sh(self, command: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(KAFKA_SH), command], env=self.env, capture_output=True, text=True,
            timeout=timeout_s, check=False,
        )  # fmt: skip

    def pid(self) -> int | None:
        """The broker's pid from ``<home>/kafka.pid``, if that process is this broker."""
        try:
            pid = int((self.home / "kafka.pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        config = str(self.home / "server.properties").encode()
        return pid if b"kafka.Kafka" in cmdline and config in cmdline else None

    def start(self) -> None:
        """``kafka.sh up`` with this broker's home, ports and heap: same data dir, same id."""
        up = self._kafka_sh("up", 120)
        if up.returncode != 0:
            pytest.fail(f"broker {self} did not start:\n{up.stdout}\n{up.stderr}")

    def stop(self) -> None:
        """``kafka.sh down``: a controlled shutdown (SIGTERM, SIGKILL after 30 s)."""
        self.resume()  # a stopped JVM would only act on SIGTERM once continued
        self._kafka_sh("down", 60)

    def pause(self) -> None:
        """SIGSTOP the broker: connections stay open, nothing answers (a hung broker)."""
        pid = self.pid()
        assert pid is not None, f"broker {self} is not running"
        os.kill(pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        """SIGCONT after :meth:`pause` (a no-op otherwise)."""
        pid = self.pid()
        if self.paused and pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        self.paused = False

    def kill(self) -> None:
        """SIGKILL the broker: a crash, no controlled shutdown (:meth:`start` recovers it)."""
        pid = self.pid()
        assert pid is not None, f"broker {self} is not running"
        os.kill(pid, signal.SIGKILL)
        self.paused = False
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.05)  # gone, or a zombie: its cmdline reads empty


@contextlib.contextmanager
def fresh_broker(home: Path) -> Iterator[FreshBroker]:
    """A brand-new single-node Kafka (new data dir, free ports); stopped afterwards.

    It yields the bootstrap address, a :class:`FreshBroker` (``str``) that can also be
    stopped, killed, started again on the same data dir, paused and resumed.
    """
    env = {**os.environ, "SLAMON_KAFKA_HOME": str(home), "SLAMON_KAFKA_JARS": str(SHARED_JARS),
           "SLAMON_KAFKA_PORT": str(free_port()), "SLAMON_KAFKA_CONTROLLER_PORT": str(free_port()),
           "SLAMON_KAFKA_HEAP": "-Xms128m -Xmx384m"}  # fmt: skip
    broker = FreshBroker(home, env)
    try:
        broker.start()
        yield broker
    finally:
        broker.stop()


def assert_matches_replay(
    deployment: Deployment, expected: ReplayResult, *, exactly_once: bool = True
) -> None:
    """The deployment's outputs agree with replay's result on the same log: the last
    outcome record of each pair replay sees settled, standing breaches, dead letters
    (``exactly_once=False``: a crash between a batch's outputs and its commit may have
    written some twice)."""
    # outcomes: the last record of each pair
    last: dict[tuple[str, str], dict[str, object]] = {}
    for message in deployment.read("outcomes"):
        record = orjson.loads(message.value or b"")
        last[(record["ticket_id"], record["sla"])] = record
    settled = {
        (o.ticket_id, o.sla): o
        for o in expected.outcomes
        if o.stopped or o.status in ("cancelled", "not_applicable")
    }
    assert settled, "the log must settle some SLAs"
    for pair, outcome in settled.items():
        record = last.get(pair)
        assert record is not None, f"no outcome record for {pair}"
        assert record["status"] == outcome.status, pair
        assert round(float(str(record["elapsed_seconds"])), 3) == round(
            outcome.elapsed_ns / 1e9, 3
        ), pair
    for pair, record in last.items():
        if pair not in settled:  # reopened after a resolution: reported as open again
            assert record["status"] == "open", (pair, record)

    assert_breaches_match(deployment, expected)

    # dead letters: one per invalid line (at least one after a crash), the reason in a header
    dead = deployment.read("dead-letter")
    sources = {(dict(m.headers)["slamon_source_partition"], dict(m.headers)["slamon_source_offset"])
               for m in dead}  # fmt: skip
    assert len(sources) == len(expected.invalid)
    assert len(dead) == len(expected.invalid) or not exactly_once
    assert all(any(k == "slamon_error" for k, _ in m.headers) for m in dead)


async def committed_records(bootstrap: str, group: str, topic: str, partitions: int) -> int:
    """The sum of ``group``'s committed offsets on ``topic`` (the records it has done).

    Retried on the broker's retriable answers (the group's coordinator not found or
    still loading right after the group's first commit)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for attempt in range(20):
            try:
                offsets = await admin.list_consumer_group_offsets(group)
                break
            except KafkaError as exc:
                if not exc.retriable or attempt == 19:
                    raise
                await asyncio.sleep(0.25)
    finally:
        await admin.close()
    return sum(max(0, meta.offset) for tp, meta in offsets.items()
               if tp.topic == topic and tp.partition < partitions)  # fmt: skip


def assert_breaches_match(deployment: Deployment, expected: ReplayResult) -> None:
    """Every breach replay finds stands on the alerts topic (its last breach or retraction
    per pair); any other standing breach is a clock replay sees still running."""
    standing: dict[tuple[str, str], str] = {}
    for message in deployment.read("alerts"):
        alert = orjson.loads(message.value or b"")
        if alert["type"] in (AlertType.BREACHED, AlertType.RETRACTED):
            standing[(alert["subject"], alert["data"]["sla"])] = alert["type"]
    worker_breaches = {pair for pair, kind in standing.items() if kind == AlertType.BREACHED}
    replay_breaches = {(o.ticket_id, o.sla) for o in expected.outcomes if o.status == "breached"}
    assert replay_breaches <= worker_breaches
    running = {(o.ticket_id, o.sla) for o in expected.outcomes if o.status in ("open", "breached")
               and not o.stopped}  # fmt: skip
    assert worker_breaches - replay_breaches <= running
