"""`make stack` (deploy/stack/stack.sh) for real: Kafka, a worker, the simulator, Prometheus
and Alertmanager on free ports; Prometheus scrapes the worker, and everything the script
started is gone when it ends: by STACK_DURATION, by Ctrl-C, or by a failure."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from slamon.adapters.kafka_topics import delete_topics
from tests.deploy.tools import need
from tests.integration.harness import free_port

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "stack" / "stack.sh"


@dataclass
class Stack:
    """One run of stack.sh in a session of its own, its output in a file."""

    env: dict[str, str]
    run_id: str
    log: Path
    process: subprocess.Popen[bytes] | None = None
    ports: dict[str, int] = field(default_factory=dict)

    def start(self) -> None:
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                ["bash", str(SCRIPT)], cwd=ROOT, env=self.env, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_output(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            assert self.process is not None
            assert self.process.poll() is None, f"stack.sh ended:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} after {timeout_s}s:\n{self.output()}"
            time.sleep(0.2)

    def wait(self, timeout_s: float) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout_s)

    def query(self, promql: str) -> list[dict[str, object]]:
        url = f"http://127.0.0.1:{self.ports['prometheus']}/api/v1/query?" + (
            urllib.parse.urlencode({"query": promql})
        )
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        result: list[dict[str, object]] = body["data"]["result"]
        return result

    def leftovers(self) -> list[tuple[int, str]]:
        """Live processes of this run (their command lines name its run id)."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                raw = (proc / "cmdline").read_bytes()
                state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z" and self.run_id.encode() in raw:
                found.append((int(proc.name), raw.replace(b"\0", b" ").decode(errors="replace")))
        return found


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Stack]:
    """A stack on free ports against the test broker (left running: it was running before);
    whatever is left of it is killed afterwards, also when the test fails."""
    need("prometheus", package="prometheus")
    need("alertmanager", "prometheus-alertmanager", package="prometheus-alertmanager")
    run_id = f"slamon-stack-test-{uuid.uuid4().hex[:8]}"
    ports = {"worker": free_port(), "prometheus": free_port(), "alertmanager": free_port()}
    env = {
        **os.environ,
        "SLAMON_KAFKA_PORT": kafka_bootstrap.rsplit(":", 1)[1],
        "STACK_WORKER_PORT": str(ports["worker"]),
        "STACK_PROMETHEUS_PORT": str(ports["prometheus"]),
        "STACK_ALERTMANAGER_PORT": str(ports["alertmanager"]),
        "STACK_SCRAPE_INTERVAL": "1s",
        "STACK_RATE": "5",
        "STACK_DIR": str(tmp_path / "stack"),
        "STACK_RUN_ID": run_id,
        "STACK_READY_TIMEOUT": "90",
    }
    run = Stack(env, run_id, tmp_path / "stack.out", ports=ports)
    yield run
    if run.process is not None and run.process.poll() is None:
        os.killpg(run.process.pid, signal.SIGKILL)
        run.process.wait()
    for pid, _command in run.leftovers():  # the script's children, had it been killed
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    asyncio.run(delete_topics(kafka_bootstrap, run_id))


def test_prometheus_scrapes_the_worker_and_the_stack_stops_when_the_duration_is_up(
    stack: Stack,
) -> None:
    """STACK_DURATION=40s: Prometheus (with the rules) reports up{job="slamon"} = 1 and the
    simulator's events counted by the worker; the script prints the URLs, ends by itself
    with 0, and no process of the run is left."""
    stack.env["STACK_DURATION"] = "40s"
    stack.start()
    stack.wait_for_output("stack: running for 40s", timeout_s=150)
    out = stack.output()
    assert f"Prometheus     http://127.0.0.1:{stack.ports['prometheus']}" in out
    assert f"Alertmanager   http://127.0.0.1:{stack.ports['alertmanager']}" in out
    assert f"worker         http://127.0.0.1:{stack.ports['worker']}/metrics" in out

    deadline = time.monotonic() + 30
    while True:
        up = stack.query('up{job="slamon"}')
        processed = stack.query('sum(slamon_events_total{result="processed"}) > 0')
        if up and up[0]["value"][1] == "1" and processed:  # type: ignore[index]
            break
        assert time.monotonic() < deadline, f"up={up} processed={processed}\n{stack.output()}"
        time.sleep(0.5)
    (target,) = up
    assert target["metric"]["instance"] == f"127.0.0.1:{stack.ports['worker']}"  # type: ignore[index]
    groups = stack.query("count(ALERTS) or vector(0)")  # the rules are loaded and evaluated
    assert groups

    assert stack.wait(timeout_s=120) == 0, stack.output()
    assert "stack: 40s elapsed" in stack.output()
    assert "Kafka already running" in stack.output()  # and so left running
    assert stack.leftovers() == []


def test_ctrl_c_stops_everything_the_stack_started(stack: Stack) -> None:
    """SIGINT (Ctrl-C) while it runs: exit 130, the worker, simulator, Prometheus and
    Alertmanager stopped."""
    stack.start()
    stack.wait_for_output("stack: running until Ctrl-C", timeout_s=150)
    deadline = time.monotonic() + 10  # the simulator was forked last: let it exec
    while len(stack.leftovers()) < 4:
        assert time.monotonic() < deadline, stack.leftovers()
        time.sleep(0.1)
    assert stack.process is not None
    os.killpg(stack.process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    assert stack.wait(timeout_s=60) == 130, stack.output()
    assert "stack: interrupted" in stack.output()
    assert "stack: stopping alertmanager worker prometheus simulator" in stack.output()
    assert stack.leftovers() == []


def test_a_process_that_fails_to_start_stops_the_others(stack: Stack) -> None:
    """Prometheus exits at once: the script says so, exits 1 and stops what it had started
    (Alertmanager and the worker)."""
    stack.env["PROMETHEUS"] = "false"
    stack.start()
    assert stack.wait(timeout_s=150) == 1, stack.output()
    out = stack.output()
    assert "stack: Prometheus stopped" in out
    assert "stack: worker ready" in out
    assert "stack: stopping alertmanager worker prometheus" in out
    assert stack.leftovers() == []
